"""mixlab's tensor-only Adafactor against HF's, and the T5 factoring rule."""

from __future__ import annotations

import copy

import pytest
import torch
from transformers.optimization import Adafactor as HFAdafactor

from mixlab.train.adafactor import Adafactor

SHAPES = [(8, 16), (130, 140), (5,), (3, 4, 6)]


def _run(make_opt, steps=8, seed=0):
    gen = torch.Generator().manual_seed(seed)
    params = [torch.nn.Parameter(torch.randn(s, generator=gen)) for s in SHAPES]
    opt = make_opt(params)
    for _ in range(steps):
        for p in params:
            p.grad = torch.randn(p.shape, generator=gen)
        opt.step()
    return params, opt


@pytest.mark.parametrize("lr", [0.01, 0.3])
def test_matches_hf_adafactor(lr):
    ours, _ = _run(lambda ps: Adafactor(ps, lr=lr, factored_min_dim=1))  # HF factors every matrix
    theirs, _ = _run(lambda ps: HFAdafactor(ps, lr=lr, scale_parameter=True, relative_step=False, warmup_init=False))
    start, _ = _run(lambda ps: Adafactor(ps, lr=lr), steps=0)
    for a, b, s in zip(ours, theirs, start, strict=True):
        assert (a - b).abs().max().item() < 1e-6
        assert (a - s).abs().max().item() > 1e-3  # the parameters did move


def test_tensor_lr_equals_float_lr():
    floats, _ = _run(lambda ps: Adafactor(ps, lr=0.05))
    tensors, _ = _run(lambda ps: Adafactor(ps, lr=torch.tensor(0.05)))
    assert all(torch.equal(a, b) for a, b in zip(floats, tensors, strict=True))


def test_t5_factoring_rule_and_state():
    _, opt = _run(lambda ps: Adafactor(ps, lr=0.01), steps=3)
    kinds = [sorted(state) for state in opt.state.values()]
    assert kinds[0] == ["exp_avg_sq", "step"]  # 8x16: below 128, kept whole
    assert kinds[1] == ["exp_avg_sq_col", "exp_avg_sq_row", "step"]  # 130x140: factored
    assert kinds[2] == ["exp_avg_sq", "step"]
    assert opt.state[next(iter(opt.state))]["step"].item() == 3.0
    assert Adafactor.is_factored(torch.Size([128, 128]), 128) and not Adafactor.is_factored(torch.Size([127, 512]), 128)


def test_step_makes_no_host_sync(monkeypatch):
    def refuse(*_):
        raise AssertionError("host sync inside Adafactor.step")

    params = [torch.nn.Parameter(torch.randn(s)) for s in SHAPES]
    opt = Adafactor(params, lr=torch.tensor(0.01))
    for p in params:
        p.grad = torch.randn(p.shape)
    for name in ("item", "__bool__", "__float__", "__int__", "tolist"):
        monkeypatch.setattr(torch.Tensor, name, refuse)
    opt.step()
    opt.step()


def test_state_round_trip_continues_identically():
    a, opt_a = _run(lambda ps: Adafactor(ps, lr=0.01), steps=4)
    b = [torch.nn.Parameter(p.detach().clone()) for p in a]
    opt_b = Adafactor(b, lr=0.01)
    opt_b.load_state_dict(copy.deepcopy(opt_a.state_dict()))  # as through torch.save / torch.load
    gen = torch.Generator().manual_seed(7)
    for _ in range(3):
        grads = [torch.randn(p.shape, generator=gen) for p in a]
        for p, q, g in zip(a, b, grads, strict=True):
            p.grad, q.grad = g.clone(), g.clone()
        opt_a.step()
        opt_b.step()
    assert all(torch.equal(p, q) for p, q in zip(a, b, strict=True))


def test_bad_options_name_the_setting():
    with pytest.raises(ValueError, match="decay_rate must be > 0"):
        Adafactor([torch.nn.Parameter(torch.ones(2))], decay_rate=-0.8)


def test_load_state_dict_keeps_the_live_learning_rate_tensor():
    param = torch.nn.Parameter(torch.ones(4, 4))
    first = Adafactor([param], lr=torch.tensor(0.01))
    param.grad = torch.full((4, 4), 0.5)
    first.step()
    live = torch.tensor(0.02)
    second = Adafactor([param], lr=live)
    second.load_state_dict(first.state_dict())
    assert second.param_groups[0]["lr"] is live  # the loop's schedule keeps driving it after a resume
    assert second.state[param]["step"].item() == 1.0 and second.state[param]["step"].device == param.device


@pytest.mark.parametrize("weight_decay", [0.0, 0.1])
@pytest.mark.parametrize("scale_parameter", [True, False])
def test_same_shape_parameters_updated_together_match_one_by_one(monkeypatch, weight_decay, scale_parameter):
    """On CPU/CUDA parameters of one shape are stacked (a few kernels per shape, not ~20 per parameter);
    the result is the one-by-one update's, up to float summation order."""
    from mixlab.train import adafactor

    shapes = [(130, 140)] * 3 + [(8, 16)] * 4 + [(5,)] * 2 + [(3, 4, 6)] * 2 + [()]

    def run():
        gen = torch.Generator().manual_seed(3)
        params = [torch.nn.Parameter(torch.randn(s, generator=gen)) for s in shapes]
        opt = Adafactor(params, lr=torch.tensor(0.05), weight_decay=weight_decay, scale_parameter=scale_parameter)
        for _ in range(5):
            for p in params:
                p.grad = torch.randn(p.shape, generator=gen)
            opt.step()
        return params, opt

    stacked, opt = run()
    monkeypatch.setattr(adafactor, "_STACK_ELEMENTS", 130 * 140 * 2)  # stacks of at most 2 of the largest
    chunked, _ = run()
    monkeypatch.setattr(adafactor, "_STACKED", ())
    single, _ = run()
    for a, b, c in zip(stacked, chunked, single, strict=True):
        torch.testing.assert_close(a, c, rtol=1e-6, atol=1e-7)
        torch.testing.assert_close(b, c, rtol=1e-6, atol=1e-7)
    assert all(opt.state[p]["step"].item() == 5.0 for p in stacked)
    assert opt.state[stacked[0]]["exp_avg_sq_row"].shape == (130,)  # the state stays per parameter
