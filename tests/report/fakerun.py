"""A synthetic run folder laid out as ``mixlab.run_folder`` names it: 3 tasks in 2 families, a manifest,
a config, metrics and checkpoints."""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path

import yaml

#: a 3-node transfer table (source, target, score, budget) for the affinity section
AFFINITY_CSV = """source,target,score,budget
A,A,50,base
B,B,40,base
C,C,30,base
A,B,44,co
A,C,27,co
B,A,45,co
B,C,33,co
C,A,51,co
C,B,38,co
"""


def png_size(data: bytes) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR chunk; asserts the PNG signature."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])

#: task -> (family, rate, num_examples)
TASKS = {
    "toy/nli_a": ("NLI", 0.5, 400_000),
    "toy/nli_b": ("NLI", 0.2, 120_000),
    "toy/sum": ("SUM", 0.3, 180_000),
}
NUM_STEPS = 40
LOG_EVERY = 2
EVAL_EVERY = 10


def eval_loss(step: int) -> float:
    return 3.0 + 4.0 * math.exp(-step / 15)


def task_loss(task: str, step: int) -> float:
    """A decaying loss per task; distinct offsets so tables can be checked."""
    offset = {"toy/nli_a": 1.0, "toy/nli_b": 1.5, "toy/sum": 2.0}[task]
    return round(offset + 4.0 * math.exp(-step / 15), 6)


def manifest() -> dict:
    return {
        "format": "mixlab.mixture/1", "name": "toy-mix", "mixlab_version": "0.1.0", "plugin": None,
        "tasks": [{"name": t, "rate": r, "family": f, "num_examples": n, "version": "1.0.0",
                   "fingerprint": f"{t}@1.0.0", "plugin": {"distribution": "mixlab-toy", "version": "0.3",
                                                            "entry_point": "toy", "value": "toy:tasks"}}
                  for t, (f, r, n) in TASKS.items()],
        "families": {"NLI": 0.7, "SUM": 0.3},
        "spec": {"name": "toy-mix", "tasks": ["toy/*"], "strategy": {"kind": "proportional", "cap": 300000}},
    }


def metrics_lines() -> list[str]:
    lines = []
    for step in range(LOG_EVERY, NUM_STEPS + 1, LOG_EVERY):
        losses = {t: task_loss(t, step) for t in TASKS}
        tokens = {"toy/nli_a": 50, "toy/nli_b": 20, "toy/sum": 30}
        loss = sum(losses[t] * tokens[t] for t in TASKS) / 100
        lr = 0.01 * min(1.0, step / 10) / math.sqrt(max(step, 10) / 10)
        lines.append(json.dumps({"step": step, "loss": loss, "lr": lr,
                                 "tokens_per_s": 1000.0 + step, "task_loss": losses, "task_tokens": tokens}))
        if step % EVAL_EVERY == 0:  # the loop writes eval records as separate lines at the same step
            lines.append(json.dumps({"step": step, "eval_loss": eval_loss(step),
                                     "eval_task_loss": {t: v + 0.5 for t, v in losses.items()}}))
    return lines


def make_run(root: Path, *, bad_lines: int = 2, config: bool = True, manifest_file: bool = True,
             env: bool = True, checkpoints: tuple[int, ...] = (20, 40), metrics: bool = True) -> Path:
    run = root / "run"
    run.mkdir(parents=True)
    if config:
        config = {"name": "toy-run", "mixture": "toy-mix", "steps": NUM_STEPS, "batch_size": 4,
                  "optimizer": {"name": "adafactor", "lr": 0.01}, "seed": 0}
        (run / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    if manifest_file:
        (run / "mixture_manifest.json").write_text(json.dumps(manifest()))
    if env:
        (run / "env.json").write_text(json.dumps({"python": "3.11.2", "torch": "2.13.0", "transformers": "5.23.0",
                                                  "platform": "Linux-x86_64", "device": "cpu",
                                                  "git_commit": "0123abcd"}))
    if metrics:
        lines = metrics_lines()
        junk = ["{not json", '{"loss": 3.0}', "[1, 2]", '{"step": "seven"}'][:bad_lines]
        for i, line in enumerate(junk):
            lines.insert(3 + 2 * i, line)
        (run / "metrics.jsonl").write_text("\n".join(lines) + "\n")
    for step in checkpoints:
        write_checkpoint(run, step)
    return run


def write_checkpoint(run: Path, step: int, *, truncate: bool = False) -> Path:
    """A checkpoint folder laid out like ``mixlab.train.checkpoint`` writes it (fake contents)."""
    folder = run / "checkpoints" / f"step_{step:07d}"
    folder.mkdir(parents=True)
    files = {"model.pt": 3072, "optimizer.pt": 1024, "trainer.pt": 100}
    for name, size in files.items():
        (folder / name).write_bytes(b"\0" * (size // 2 if truncate and name == "model.pt" else size))
    manifest = {"format": 1, "step": step, "files": {n: {"sha256": "0" * 64, "bytes": b} for n, b in files.items()}}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder
