"""XLA backend on CPU through PJRT (run in the torch-xla environment; skipped elsewhere).

    PJRT_DEVICE=CPU .venv-xla/bin/python -m pytest -q -m xla -p no:cacheprovider tests/backends/test_xla.py

The runtime initialises once per process, so SPMD runs (4 virtual CPU devices) go in a
subprocess; everything else shares this process on one device.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.xla

torch_xla = pytest.importorskip("torch_xla")

import torch  # noqa: E402

from mixlab.backends import get_backend  # noqa: E402
from mixlab.backends.xla_backend import XlaBackend, compile_count  # noqa: E402
from mixlab.errors import ConfigError  # noqa: E402
from mixlab.train import PretrainConfig, read_metrics, train  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


class CountingXla(XlaBackend):
    """Records the compile count before every step (the loop calls ``to_device`` once per step)."""

    def __init__(self, **options) -> None:
        super().__init__(**options)
        self.counts: list[int] = []

    def to_device(self, batch):
        self.counts.append(compile_count())
        return super().to_device(batch)


def tiny_config(out_dir, **fields) -> PretrainConfig:
    """The torch backend's tiny loop test, on xla (batch 8 so it splits over 4 devices)."""
    base = dict(data="synthetic", model={"preset": "tiny", "vocab_size": 64}, batch_size=8, input_length=32,
                target_length=16, steps=8, warmup_steps=4, log_interval=1, checkpoint_interval=2, keep_checkpoints=2,
                out_dir=str(out_dir), backend={"name": "xla", "precision": "fp32"})
    return PretrainConfig(**{**base, **fields})


def losses(run_dir) -> list[float]:
    return [m["loss"] for m in read_metrics(run_dir) if "loss" in m]


def shardings(model) -> int:
    """How many parameters carry an SPMD sharding annotation."""
    return sum(bool(torch_xla._XLAC._get_xla_sharding_spec(p)) for p in model.parameters())


@pytest.fixture(scope="module")
def backend() -> XlaBackend:
    return get_backend("xla", parallel="none").setup()


def test_import_error_names_the_extra(monkeypatch):
    monkeypatch.delitem(sys.modules, "mixlab.backends.xla_backend")
    monkeypatch.setitem(sys.modules, "torch_xla", None)  # makes `import torch_xla` fail
    with pytest.raises(ImportError, match=r"pip install 'mixlab\[xla\]'.*torch 2\.9\.0") as info:
        importlib.import_module("mixlab.backends.xla_backend")
    assert isinstance(info.value.__cause__, ImportError)


def test_setup_on_cpu(backend):
    assert backend.device.type == "xla"
    assert (backend.rank, backend.world_size, backend.shard) == (0, 1, (0, 1))
    assert backend.precision == "fp32"  # bf16 autocast only on TPU
    assert backend.describe()["device_type"] == "CPU"
    assert backend.num_devices == 1 and backend.mesh is None


def test_bad_option():
    with pytest.raises(ConfigError, match="max_graphs must be >= 1"):
        XlaBackend(max_graphs=0)


def test_hidden_host_sync_is_an_error(backend):
    """full_graph=True turns an `.item()` inside the step into an error, not a silent graph break."""
    def step(x):
        y = x * 2
        if y.sum().item() > 0:  # host sync
            y = y + 1
        return y

    with pytest.raises(RuntimeError, match="Unexpected execution"):
        backend.compile(step)(torch.ones(3, device=backend.device))
    torch_xla.sync()


def test_tensor_adafactor_compiles_full_graph(backend):
    """Adafactor (factored and unfactored params) with a changing lr tensor: one steady-state graph.

    (A scalar made with ``torch.tensor(x, device=xla)`` each step would recompile; batches arrive
    through ``to_device`` as device data.)
    """
    from mixlab.train.adafactor import Adafactor

    gen = torch.Generator().manual_seed(0)
    weights = [torch.nn.Parameter(torch.randn(shape, generator=gen).to(backend.device))
               for shape in ((128, 128), (16,), (3, 130))]
    lr = torch.tensor(0.01, device=backend.device)
    opt = Adafactor(weights, lr=lr, factored_min_dim=128)

    def step(scale):
        loss = sum((w * scale).square().sum() for w in weights)
        loss.backward()
        backend.optimizer_step(opt)
        return loss.detach()

    compiled = backend.compile(step)
    counts = []
    for i in range(6):
        lr.fill_(0.01 / (i + 1) ** 0.5)
        compiled(backend.to_device({"scale": np.full(1, 1.0 + i, np.float32)})["scale"])
        counts.append(compile_count())
    # the step compiles twice (the first call creates the optimizer state), the lr update once
    assert counts[1] == counts[5], counts
    assert "exp_avg_sq_row" in opt.state[weights[0]] and "exp_avg_sq" in opt.state[weights[1]]
    assert all(torch.isfinite(w.cpu()).all() for w in weights)


def test_batch_size_must_split_over_devices(monkeypatch):
    import torch_xla.runtime as xr

    sharded = XlaBackend(parallel="none").setup()
    sharded.mesh = object()  # pretend SPMD over 4 local devices
    monkeypatch.setattr(xr, "addressable_runtime_device_count", lambda: 4)
    with pytest.raises(ConfigError, match="batch has 6 rows; set batch_size to a multiple of 4"):
        sharded.to_device({"input_ids": np.zeros((6, 8), np.int32)})


def test_loader_moves_batches_ahead(backend):
    from mixlab.train import SyntheticBatches

    source = SyntheticBatches(["a", "b"], batch_size=4, input_length=8, target_length=4, vocab_size=32)
    loaded = list(backend.loader(source.batch(i) for i in range(3)))
    assert len(loaded) == 3 and loaded[0]["task_names"] == ["a", "b"]
    assert loaded[2]["labels"].device.type == "xla" and loaded[2]["labels"].dtype == torch.int32
    assert torch.equal(loaded[2]["input_ids"].cpu(), torch.from_numpy(source.batch(2)["input_ids"]))
    assert backend.to_device(loaded[1])["labels"] is loaded[1]["labels"]  # already on the device: kept


def test_loop_learns_with_flat_compile_count(tmp_path):
    counting = CountingXla(parallel="none").setup()
    cfg = tiny_config(tmp_path / "run", steps=25, log_interval=5, checkpoint_interval=0, learning_rate=0.02,
                      warmup_steps=10)
    result = train(cfg, backend=counting, progress=False)
    records = read_metrics(result.out_dir)
    assert [r["step"] for r in records] == [5, 10, 15, 20, 25]
    assert records[-1]["loss"] < records[0]["loss"] - 0.4, records  # seen: 4.43 -> 3.67
    counts = counting.counts  # counts[k]: compilations before step k + 1
    assert counts[5] == counts[24], counts  # log steps 10, 15, 20 included: nothing recompiles after warm-up
    assert counts[5] - counts[0] <= 6, counts  # step (first + steady), lr update, log window


@pytest.mark.skipif(importlib.util.find_spec("mixlab_wordnet") is None, reason="mixlab-wordnet plugin not installed")
def test_tiny_t5_learns_wordnet_ext5(tmp_path):
    """The torch backend's real-data run (mixture stream -> span corruption -> packing) on xla."""
    import mixlab_wordnet

    counting = CountingXla(parallel="none").setup()
    cfg = PretrainConfig(mixture="wordnet-ext5", tokenizer=str(mixlab_wordnet.tokenizer_path()), model="tiny",
                         batch_size=8, input_length=64, target_length=16, steps=30, warmup_steps=10,
                         learning_rate=0.02, log_interval=10, checkpoint_interval=0, out_dir=str(tmp_path / "run"),
                         backend={"name": "xla", "precision": "fp32"})
    records = read_metrics(train(cfg, backend=counting, progress=False).out_dir)
    assert records[-1]["loss"] < records[0]["loss"]
    assert "wordnet/text" in records[-1]["task_loss"]
    assert counting.counts[11] == counting.counts[29], counting.counts  # after the first log step (10)


@pytest.fixture(scope="module")
def straight_losses(backend, tmp_path_factory) -> list[float]:
    """Losses of an uninterrupted 8-step single-device run (the reference for resume and SPMD)."""
    result = train(tiny_config(tmp_path_factory.mktemp("straight") / "run"), backend=backend, progress=False)
    return losses(result.out_dir)


def test_kill_and_resume_gives_identical_losses(backend, tmp_path, straight_losses):
    cfg = tiny_config(tmp_path / "run")
    train(cfg, steps=4, backend=backend, progress=False)  # "killed" after the step-4 checkpoint
    resumed = train(cfg, resume=True, backend=backend, progress=False)
    assert resumed.step == 8
    assert losses(resumed.out_dir) == straight_losses  # exact: XLA on CPU is deterministic
    state = backend.load(str(resumed.checkpoint / "model.pt"))
    assert all(t.device.type == "cpu" for t in state.values())
    assert "t5.decoder.block.0.layer.0.SelfAttention.q.weight" in state


def test_max_graphs_guards_against_recompilation(tmp_path):
    cfg = tiny_config(tmp_path / "run", steps=4, checkpoint_interval=0)
    train(cfg, backend=XlaBackend(parallel="none", max_graphs=2), progress=False)  # first step + steady state
    with pytest.raises(RuntimeError, match=r"max_different_graphs|different graphs"):
        train(cfg, out_dir=tmp_path / "again", backend=XlaBackend(parallel="none", max_graphs=1), progress=False)
    torch_xla.sync()


def test_resume_across_backends(backend, tmp_path, straight_losses):
    """A checkpoint written by the torch backend resumes on xla (same file format, same names)."""
    cfg = tiny_config(tmp_path / "run")
    train(cfg.model_copy(update={"backend": cfg.backend.model_copy(update={"name": "torch"})}), steps=4,
          progress=False)
    resumed = train(cfg, resume=True, backend=backend, progress=False)
    assert losses(resumed.out_dir) == pytest.approx(straight_losses, rel=1e-5)


SPMD_SCRIPT = textwrap.dedent("""
    import json, sys
    from pathlib import Path
    from mixlab.backends.xla_backend import XlaBackend
    from mixlab.train import PRESETS, PackedT5, build_model, train
    from tests.backends.test_xla import losses, shardings, tiny_config
    out, result = Path(sys.argv[1]), {}
    ddp = XlaBackend(parallel="ddp").setup()
    result["describe"] = ddp.describe()
    result["ddp"] = losses(train(tiny_config(out / "ddp"), backend=ddp, progress=False).out_dir)
    fsdp = XlaBackend(parallel="fsdp").setup()
    cfg = tiny_config(out / "fsdp")
    train(cfg, steps=4, backend=fsdp, progress=False)
    result["fsdp_resumed"] = losses(train(cfg, resume=True, backend=fsdp, progress=False).out_dir)
    model = fsdp.prepare_model(PackedT5(build_model(PRESETS["tiny"], 64, seed=0)))
    state = fsdp.state_dict(model, None)
    result["keys"] = sorted(state["model"])
    before = shardings(model)
    fsdp.load_state_dict(model, None, state)
    result["sharded"] = [before, shardings(model), sum(1 for _ in model.parameters())]
    print("RESULT " + json.dumps(result))
""")


def test_spmd_ddp_and_fsdp_on_four_virtual_devices(tmp_path, straight_losses):
    """SPMD over 4 CPU devices (a fresh process: the runtime starts once per process)."""
    env = {**os.environ, "PJRT_DEVICE": "CPU", "CPU_NUM_DEVICES": "4", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", SPMD_SCRIPT, str(tmp_path)], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=400)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, proc.stderr[-3000:]
    result = json.loads(lines[-1][len("RESULT "):])
    assert result["describe"]["num_devices"] == 4 and result["describe"]["spmd"]
    # the same global batch split four ways: the single-device losses (up to reduction order)
    assert result["ddp"] == pytest.approx(straight_losses, rel=1e-4)
    assert result["fsdp_resumed"] == pytest.approx(straight_losses, rel=1e-4)
    assert "t5.encoder.block.0.layer.0.SelfAttention.q.weight" in result["keys"]
    assert not any("_orig_module" in k for k in result["keys"])  # FSDPv2 wrapper names stay out of checkpoints
    before, after, num_params = result["sharded"]
    assert before == after == num_params  # every parameter sharded, and still after loading a checkpoint


def test_mixlab_train_runs_the_ext5_mixture_on_the_xla_backend(tmp_path):
    """``mixlab train --backend xla`` on ``ext5`` (C4 + 107 ExMix tasks) from offline copies of the data."""
    from tests.train.test_ext5_offline import check_run, ext5_config, offline_env

    env = dict(offline_env(tmp_path), PJRT_DEVICE="CPU")
    run = tmp_path / "run"
    result = subprocess.run([sys.executable, "-m", "mixlab", "train", str(ext5_config(tmp_path, "xla")),
                             "--backend", "xla", "--out", str(run), "--no-progress"], env=env, capture_output=True,
                            text=True, timeout=600, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    check_run(run)


ELASTIC_SCRIPT = textwrap.dedent("""
    import json, sys
    from pathlib import Path
    from mixlab.backends.xla_backend import XlaBackend
    from mixlab.train import read_metrics, train
    from tests.backends.test_xla import tiny_config
    out, runs = Path(sys.argv[1]), json.loads(sys.argv[2])  # [[name, steps, resume], ...] on this device count
    backend = XlaBackend(parallel="ddp").setup()
    result = {"devices": backend.num_devices, "world_size": backend.world_size}
    for name, steps, resume in runs:
        cfg = tiny_config(out / name, steps=8, log_interval=1, checkpoint_interval=4, log_batch_digest=True)
        train(cfg, steps=steps, resume=resume, backend=backend, progress=False)
        result[name] = [m for m in read_metrics(out / name) if "loss" in m]
    print("RESULT " + json.dumps(result))
""")


def _spmd_runs(tmp_path: Path, devices: int, runs: list) -> dict:
    """``ELASTIC_SCRIPT`` in a fresh process whose PJRT CPU client has ``devices`` virtual devices."""
    env = {**os.environ, "PJRT_DEVICE": "CPU", "CPU_NUM_DEVICES": str(devices), "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", ELASTIC_SCRIPT, str(tmp_path), json.dumps(runs)], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=400)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, proc.stderr[-3000:]
    result = json.loads(lines[-1][len("RESULT "):])
    assert (result["devices"], result["world_size"]) == (devices, 1)
    return result


def test_spmd_resume_on_another_device_count_keeps_every_global_batch(tmp_path):
    """Saved at step 4 on 4 virtual devices and resumed on 2, saved on 1 and resumed on 4: one process feeds the
    whole global batch and XLA splits it over the devices, so every step's batch is the uninterrupted 4-device
    run's (the logged digests are equal) and the losses differ only by reduction order (seen: <= 1.2e-7 relative)."""
    first = _spmd_runs(tmp_path, 1, [["up", 4, False]])  # 1 -> 4
    four = _spmd_runs(tmp_path, 4, [["straight", 8, False], ["down", 4, False], ["up", 8, True]])  # 4 -> 2
    two = _spmd_runs(tmp_path, 2, [["down", 8, True]])
    straight = four["straight"]
    assert [m["step"] for m in straight] == list(range(1, 9))
    assert len({m["example_digests"][0] for m in straight}) == 8  # a different batch every step
    assert [m["loss"] for m in first["up"]] == pytest.approx([m["loss"] for m in straight[:4]], rel=1e-5)
    for name, resumed in (("4 -> 2", two["down"]), ("1 -> 4", four["up"])):
        assert [m["step"] for m in resumed] == list(range(1, 9)), name
        for key in ("example_digests", "batch_digests"):  # the same examples, in the same rows and order
            assert [m[key] for m in resumed] == [m[key] for m in straight], (name, key)
        # seen: at most 1.2e-7 relative (1 -> 4) and 6e-8 (4 -> 2), one float32 rounding; 1e-5 leaves room
        assert [m["loss"] for m in resumed] == pytest.approx([m["loss"] for m in straight], rel=1e-5), name
