"""``mixlab train`` on the real ``ext5`` mixture (C4 + 107 ExMix tasks), with offline copies of the data.

Every task's source is read through its real loading code (``datasets`` on a data mirror and on
user-provided files; see ``tests/exmix/offline.py``); the rows are the fixture rows in each
source's schema, so each task repeats its one row (with a warning per task).
"""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import mixlab_wordnet

from tests.exmix.offline import write_offline_copies


def offline_env(tmp_path: Path) -> dict[str, str]:
    mirror, user = tmp_path / "mirror", tmp_path / "exmix-files"
    counts = write_offline_copies(mirror, user)
    assert counts == {"mirror": 87, "user": 21}
    return dict(os.environ, MIXLAB_DATA_MIRROR=str(mirror), MIXLAB_EXMIX_DATA=str(user),
                HF_DATASETS_CACHE=str(tmp_path / "hf-cache"), HF_DATASETS_OFFLINE="1", HF_HUB_OFFLINE="1",
                OMP_NUM_THREADS="1", PYTHONWARNINGS="ignore")


def ext5_config(tmp_path: Path, backend: str) -> Path:
    path = tmp_path / "ext5.yaml"
    path.write_text(
        "name: ext5-offline\nmixture: ext5\n"
        f"tokenizer: {mixlab_wordnet.tokenizer_path()}\n"
        "model: tiny\nbatch_size: 8\ninput_length: 64\ntarget_length: 16\nsteps: 4\nwarmup_steps: 2\n"
        f"log_interval: 1\ncheckpoint_interval: 0\nbackend: {{name: {backend}}}\n")
    return path


def check_run(run: Path) -> list[dict]:
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    steps = [r for r in records if "loss" in r]
    assert [r["step"] for r in steps] == [1, 2, 3, 4]
    assert all(math.isfinite(r["loss"]) for r in steps)
    seen = set().union(*(r["task_loss"] for r in steps))
    assert "c4/span_corruption" in seen and any(name.startswith("exmix/") for name in seen)
    manifest = json.loads((run / "mixture_manifest.json").read_text())
    assert manifest["name"] == "ext5" and len(manifest["tasks"]) == 108
    env = json.loads((run / "env.json").read_text())
    assert env["backend"] in ("torch", "xla") and env["world_size"] == 1 and env["mixlab"]
    return steps


def test_mixlab_train_runs_the_ext5_mixture_on_the_torch_backend(tmp_path):
    env = offline_env(tmp_path)
    run = tmp_path / "run"
    result = subprocess.run([sys.executable, "-m", "mixlab", "train", str(ext5_config(tmp_path, "torch")),
                             "--out", str(run), "--no-progress"], env=env, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    check_run(run)
