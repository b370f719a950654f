"""XLA backend on CPU through PJRT (run in the torch-xla environment; skipped elsewhere).

    PJRT_DEVICE=CPU .venv-xla/bin/python -m pytest -q -m xla -p no:cacheprovider tests/backends/test_xla.py

The runtime initialises once per process, so SPMD runs (4 virtual CPU devices) go in a
subprocess; everything else shares this process on one device.
"""

from __future__ import annotations

import importlib
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

ROOT = Path(__file__).resolve().parents[2]


class TinyRun:
    """The tiny T5.1.1 on synthetic packed batches: compiled step = forward, loss, backward, Adafactor."""

    def __init__(self, backend: XlaBackend, *, batch_size: int, seed: int = 0) -> None:
        from mixlab.train.adafactor import Adafactor
        from mixlab.train.data import SyntheticBatches
        from mixlab.train.model import PRESETS, PackedT5, build_model

        self.backend, self.position = backend, 0
        self.data = SyntheticBatches(["a", "b"], batch_size=batch_size, input_length=32, target_length=16,
                                     vocab_size=128, seed=0)
        self.model = backend.prepare_model(PackedT5(build_model(PRESETS["tiny"], 128, seed=seed)))
        self.lr = torch.tensor(0.01, device=backend.device)
        self.optimizer = Adafactor(self.model.parameters(), lr=self.lr)
        self.step = backend.compile(self._step)

    def _step(self, batch):
        from mixlab.train.loss import compute_loss

        with self.backend.autocast():
            logits = self.model(batch["input_ids"], batch["encoder_segment_ids"], batch["decoder_input_ids"],
                                batch["decoder_segment_ids"])
        out = compute_loss(logits, batch["labels"], batch["decoder_task_ids"], 2)
        self.backend.backward(out.loss)
        self.backend.optimizer_step(self.optimizer)
        return out.loss.detach()

    def train(self, steps: int) -> tuple[list[float], list[int]]:
        """Losses of ``steps`` steps (read once at the end) and the compile count before each step and after."""
        losses, counts = [], [compile_count()]
        for _ in range(steps):
            losses.append(self.step(self.backend.to_device(self.data.batch(self.position))))
            self.position += 1
            counts.append(compile_count())
        return [float(x) for x in self.backend.to_host(torch.stack(losses))], counts


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
    """Adafactor (factored and unfactored params) with a changing lr tensor: one steady-state graph."""
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
        compiled(torch.tensor(1.0 + i, device=backend.device))
        counts.append(compile_count())
    print("COUNTS", counts)
    assert counts[2] == counts[5]  # no graph after the second step (the first one creates the state)
    assert "exp_avg_sq_row" in opt.state[weights[0]] and "exp_avg_sq" in opt.state[weights[1]]
    assert all(torch.isfinite(w.cpu()).all() for w in weights)


def test_tiny_run_learns_with_flat_compile_count(backend):
    run = TinyRun(backend, batch_size=8)
    losses, counts = run.train(25)
    assert losses[-1] < 0.75 * losses[0], losses
    assert counts[5] == counts[25], counts  # compiled once per graph, then cached
    assert counts[25] - counts[0] <= 3, counts


def test_checkpoint_round_trip(backend, tmp_path):
    run = TinyRun(backend, batch_size=4)
    run.train(3)
    state = backend.state_dict(run.model, run.optimizer)
    assert all(t.device.type == "cpu" for t in state["model"].values())
    backend.save(state, str(tmp_path / "ckpt.pt"))
    expected, _ = run.train(2)

    other = TinyRun(backend, batch_size=4, seed=1)  # different initial weights
    other.train(1)  # create the optimizer state, so loading replaces it
    backend.load_state_dict(other.model, other.optimizer, backend.load(str(tmp_path / "ckpt.pt")))
    assert all(v.device.type == "xla" for s in other.optimizer.state.values() for v in s.values())
    other.position = 3
    resumed, _ = other.train(2)
    assert resumed == pytest.approx(expected, rel=1e-5)


def test_batch_size_must_split_over_devices(monkeypatch):
    import torch_xla.runtime as xr

    sharded = XlaBackend(parallel="none").setup()
    sharded.mesh = object()  # pretend SPMD over 4 local devices
    monkeypatch.setattr(xr, "addressable_runtime_device_count", lambda: 4)
    with pytest.raises(ConfigError, match="batch has 6 rows; set batch_size to a multiple of 4"):
        sharded.to_device({"input_ids": np.zeros((6, 8), np.int32)})


SPMD_SCRIPT = textwrap.dedent("""
    import json, sys
    from mixlab.backends.xla_backend import XlaBackend, compile_count
    from tests.backends.test_xla import TinyRun, shardings
    parallel = sys.argv[1]
    backend = XlaBackend(parallel=parallel).setup()
    run = TinyRun(backend, batch_size=8)
    losses, counts = run.train(12)
    state = backend.state_dict(run.model, run.optimizer)
    before = shardings(run.model)
    backend.load_state_dict(run.model, run.optimizer, state)
    print("RESULT " + json.dumps({"losses": losses, "counts": counts, "describe": backend.describe(),
                                  "keys": sorted(state["model"])[:3], "sharded_before": before,
                                  "sharded_after": shardings(run.model)}))
""")


@pytest.fixture(scope="module")
def single_device_losses(backend):
    return TinyRun(backend, batch_size=8).train(12)[0]


@pytest.mark.parametrize("parallel", ["ddp", "fsdp"])
def test_spmd_on_four_virtual_devices(parallel, single_device_losses):
    env = {**os.environ, "PJRT_DEVICE": "CPU", "CPU_NUM_DEVICES": "4", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", SPMD_SCRIPT, parallel], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, proc.stderr[-3000:]
    result = json.loads(lines[-1][len("RESULT "):])
    assert result["describe"]["num_devices"] == 4 and result["describe"]["spmd"]
    counts = result["counts"]
    assert counts[4] == counts[12], counts
    # the same global batch sharded four ways gives the single-device losses
    assert result["losses"] == pytest.approx(single_device_losses, rel=2e-3)
    assert result["keys"][0].startswith("decoder.block.0.layer.0")  # no FSDP wrapper names in checkpoints
    if parallel == "fsdp":
        assert result["sharded_before"] == result["sharded_after"] > 0
    else:
        assert result["sharded_before"] == 0  # ddp keeps parameters replicated
