"""get_backend and the torch backend on one CPU process."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import torch

import mixlab
from mixlab.backends import Backend, get_backend
from mixlab.errors import ConfigError


def test_get_backend_names_and_errors():
    assert isinstance(mixlab.get_backend("torch"), Backend)
    with pytest.raises(ConfigError, match=r"unknown backend 'tpu'; choose one of \['torch', 'xla'\]"):
        get_backend("tpu")
    with pytest.raises(ConfigError, match="precision 'fp16' is not one of"):
        get_backend("torch", precision="fp16")


@pytest.mark.skipif(importlib.util.find_spec("torch_xla") is not None, reason="torch-xla is installed")
def test_xla_without_torch_xla_says_how_to_install():
    with pytest.raises(ConfigError, match=r"needs torch-xla, which is not installed.*mixlab\[xla\]"):
        get_backend("xla")


def test_torch_backend_single_cpu_process(tmp_path):
    backend = get_backend("torch").setup()
    assert (backend.device.type, backend.shard, backend.is_main) == ("cpu", (0, 1), True)
    assert (backend.precision, backend.parallel) == ("fp32", "none")  # auto on CPU, one process
    batch = backend.to_device({"input_ids": np.ones((2, 3), np.int32), "task_names": ["a"]})
    assert set(batch) == {"input_ids"} and batch["input_ids"].dtype == torch.int32
    assert backend.all_reduce_mean(torch.tensor([2.0, 4.0])).tolist() == [2.0, 4.0]
    assert backend.all_gather_object({"x": 1}) == [{"x": 1}]
    model = backend.prepare_model(torch.nn.Linear(2, 2))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    state = backend.state_dict(model, opt)
    backend.save(state, str(tmp_path / "s.pt"))
    loaded = backend.load(str(tmp_path / "s.pt"))
    assert torch.equal(loaded["model"]["weight"], model.weight.detach())
    saved = model.weight.detach().clone()
    with torch.no_grad():
        model.weight.zero_()  # so that a load that does nothing fails
    backend.load_state_dict(model, opt, loaded)
    assert torch.equal(model.weight.detach(), saved)
    with backend.autocast():
        assert model(torch.ones(1, 2)).dtype == torch.float32
    backend.close()


def test_bf16_autocast_on_cpu():
    backend = get_backend("torch", precision="bf16").setup()
    with backend.autocast():
        out = torch.nn.Linear(2, 2)(torch.ones(1, 2))
    assert out.dtype == torch.bfloat16


def test_parallel_settings_that_do_nothing_or_harm(monkeypatch):
    with pytest.warns(UserWarning, match="parallel 'ddp' with one process does nothing"):
        assert get_backend("torch", parallel="ddp").setup().parallel == "none"
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setattr(torch.distributed, "is_initialized", lambda: True)  # as if torchrun had set it up
    with pytest.raises(ConfigError, match="would train 2 separate models"):
        get_backend("torch", parallel="none").setup()
