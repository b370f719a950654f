"""The torch backend on CUDA: bf16 training, resume and device errors.

Runs only where CUDA is visible (``MIXLAB_TEST_CUDA=1`` on a GPU machine: the rest of the suite
hides CUDA to keep CPU semantics); the device checks that need no GPU run everywhere.
"""

from __future__ import annotations

import json

import pytest
import torch

from mixlab.backends import get_backend
from mixlab.errors import ConfigError
from mixlab.train import PretrainConfig, read_metrics, train

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA (MIXLAB_TEST_CUDA=1 on a GPU machine)")


def _config(tmp_path, **fields):
    base = dict(data="synthetic", model={"preset": "tiny", "vocab_size": 64}, batch_size=8, input_length=32,
                target_length=16, steps=40, warmup_steps=10, learning_rate=0.02, log_interval=10,
                checkpoint_interval=20, out_dir=str(tmp_path / "run"), backend={"device": "cuda"})
    return PretrainConfig(**{**base, **fields})


@cuda
def test_bf16_training_and_resume_on_cuda(tmp_path):
    straight = train(_config(tmp_path / "a"), progress=False)
    records = read_metrics(straight.out_dir)
    assert records[-1]["loss"] < records[0]["loss"] - 0.4  # it learns the copy task
    env = json.loads((straight.out_dir / "env.json").read_text())
    assert env["device"].startswith("cuda") and env["precision"] == "bf16"
    cfg = _config(tmp_path / "b")
    train(cfg, steps=20, progress=False)
    resumed = train(cfg, resume=True, progress=False)
    assert resumed.step == 40
    ours = {r["step"]: r["loss"] for r in read_metrics(resumed.out_dir)}
    theirs = {r["step"]: r["loss"] for r in records}
    assert ours.keys() == theirs.keys()
    for step in ours:  # CUDA kernels (atomic adds in backward) are not bit-reproducible: close, not equal
        assert ours[step] == pytest.approx(theirs[step], rel=2e-2), step


@cuda
def test_more_processes_than_gpus_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("LOCAL_RANK", str(torch.cuda.device_count()))
    with pytest.raises(ConfigError, match=r"LOCAL_RANK \d+, but this host has \d+ CUDA device.*nproc_per_node"):
        get_backend("torch").setup()


@cuda
def test_device_cpu_on_a_gpu_machine():
    backend = get_backend("torch", device="cpu").setup()
    assert backend.device.type == "cpu" and backend.precision == "fp32"


def test_device_option_is_checked():
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match=r"backend device 'cuda', but torch sees no CUDA device"):
            get_backend("torch", device="cuda").setup()
    with pytest.raises(ConfigError, match=r"backend\.device.*auto\|cpu\|cuda"):
        PretrainConfig(steps=1, data="synthetic", backend={"device": "gpu"})
    with pytest.raises(ConfigError, match=r"for the torch backend.*PJRT_DEVICE"):
        PretrainConfig(steps=1, data="synthetic", backend={"name": "xla", "device": "cpu"})
    assert PretrainConfig(steps=1, data="synthetic", backend={"device": "cpu"}).backend.options()["device"] == "cpu"
    assert "device" not in PretrainConfig(steps=1, data="synthetic", backend={"name": "xla"}).backend.options()
