"""PretrainConfig validation and file loading; the rsqrt schedule."""

from __future__ import annotations

import math

import pytest
import torch

from mixlab.errors import ConfigError
from mixlab.train.config import PretrainConfig
from mixlab.train.schedule import RsqrtSchedule


def test_schedule_exact_values():
    ext5 = RsqrtSchedule(base_lr=0.01, warmup_steps=10_000)
    assert [ext5(s) for s in (0, 1, 9_999, 10_000)] == [0.01] * 4
    assert ext5(40_000) == 0.005
    assert ext5(1_000_000) == pytest.approx(1 / math.sqrt(1_000_000))
    small = RsqrtSchedule(base_lr=0.02, warmup_steps=100)
    assert small(400) == 0.01
    steps = torch.tensor([0.0, 100.0, 400.0, 2500.0])
    assert small.tensor(steps).tolist() == pytest.approx([0.02, 0.02, 0.01, 0.004])


def test_schedule_rejects_bad_values():
    with pytest.raises(ValueError, match="warmup_steps >= 1"):
        RsqrtSchedule(base_lr=0.01, warmup_steps=0)


def test_defaults_are_ext5():
    cfg = PretrainConfig(mixture="ext5", steps=1000)
    assert (cfg.learning_rate, cfg.warmup_steps, cfg.input_length, cfg.target_length) == (0.01, 10_000, 512, 114)
    assert cfg.pack and cfg.z_loss == 0.0 and cfg.model.dropout_rate == 0.0
    xxl = PretrainConfig(mixture="ext5", steps=1, model="xxl").model.shape
    assert xxl == dict(d_model=4096, d_ff=10240, num_heads=64, d_kv=64, num_layers=24, num_decoder_layers=24)


@pytest.mark.parametrize(("fields", "message"), [
    ({"model": "huge"}, r"model\.preset: unknown preset 'huge'; choose one of \['tiny'"),
    ({"steps": 0}, r"steps: Input should be greater than 0"),
    ({"loss_scaling": "muppet"}, r"needs output_space_sizes"),
    ({"output_space_sizes": {"a/b": 3}}, r"output_space_sizes is set but loss_scaling is 'none'"),
    ({"output_space_sizes": {"a/b": 1}, "loss_scaling": "muppet"}, r"must be >= 2"),
    ({"mixture": None}, r"no mixture given"),
    ({"backend": {"precision": "fp16"}}, r"backend\.precision: Input should be 'auto', 'bf16' or 'fp32'"),
    ({"warmup_steps": 0}, r"warmup_steps.*fix: use >= 1"),
    ({"batch_sise": 8}, r"batch_sise: Extra inputs are not permitted"),
])
def test_config_errors_name_the_field(fields, message):
    with pytest.raises(ConfigError, match=message):
        PretrainConfig(**{"mixture": "ext5", "steps": 10, **fields})


def test_from_yaml_and_toml(tmp_path):
    (tmp_path / "mix.yaml").write_text("name: m\ntasks: [a/b]\n")
    (tmp_path / "run.yaml").write_text("model: tiny\nmixture: mix.yaml\nsteps: 5\nbackend: {precision: fp32}\n")
    cfg = PretrainConfig.from_file(tmp_path / "run.yaml", steps=7)
    assert cfg.mixture == str(tmp_path / "mix.yaml") and cfg.steps == 7 and cfg.backend.precision == "fp32"
    (tmp_path / "run.toml").write_text('mixture = "ext5"\nsteps = 3\n[model]\npreset = "small"\nd_model = 256\n')
    assert PretrainConfig.from_file(tmp_path / "run.toml").model.shape["d_model"] == 256


def test_from_file_reads_a_relative_doremi_reference_from_the_config_folder(tmp_path, monkeypatch):
    (tmp_path / "runs" / "ref").mkdir(parents=True)
    (tmp_path / "proxy.yaml").write_text("model: tiny\nmixture: ext5\nsteps: 5\n"
                                         "policy: {kind: doremi, reference: runs/ref}\n")
    monkeypatch.chdir(tmp_path.parent)  # the reference is next to the config, not in the current directory
    cfg = PretrainConfig.from_file(tmp_path / "proxy.yaml")
    assert cfg.policy is not None and cfg.policy.reference == str(tmp_path / "runs" / "ref")
    (tmp_path / "elsewhere.yaml").write_text("model: tiny\nmixture: ext5\nsteps: 5\n"
                                             "policy: {kind: doremi, reference: /abs/ref}\n")
    assert PretrainConfig.from_file(tmp_path / "elsewhere.yaml").policy.reference == "/abs/ref"


def test_from_file_reads_an_inline_mixtures_spec_files_from_the_config_folder(tmp_path, monkeypatch):
    import mixlab
    from tests.samplers.helpers import make_task

    registry = mixlab.Registry.from_tasks([make_task("t/a", 10), make_task("t/b", 30),
                                           make_task("t/text", 50, self_supervised=True)])
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "inner.yaml").write_text("name: inner\ntasks: [t/a, t/b]\nstrategy: {kind: proportional}\n")
    (tmp_path / "run.yaml").write_text(
        "model: tiny\nsteps: 5\nmixture:\n  name: outer\n  rmix:\n    self_supervised: t/text\n    R: 1\n"
        "    supervised: {name: sup, components: [{mixture: sub/inner.yaml, weight: 1}]}\n")
    monkeypatch.chdir(tmp_path.parent)  # sub/inner.yaml is next to the config, not in the current directory
    cfg = PretrainConfig.from_file(tmp_path / "run.yaml")
    inner = cfg.mixture["rmix"]["supervised"]["components"][0]["mixture"]
    assert inner == str(tmp_path / "sub" / "inner.yaml")
    mix = mixlab.resolve_mixture(cfg.mixture, registry=registry)
    assert mix.probabilities == pytest.approx({"t/a": 0.125, "t/b": 0.375, "t/text": 0.5})


def test_from_file_errors(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        PretrainConfig.from_file(tmp_path / "nope.yaml")
    (tmp_path / "bad.yaml").write_text("steps: [1\n")
    with pytest.raises(ConfigError, match="cannot parse config file"):
        PretrainConfig.from_file(tmp_path / "bad.yaml")
    (tmp_path / "bad2.yaml").write_text("mixture: ext5\nsteps: -1\n")
    with pytest.raises(ConfigError, match=r"bad2.yaml: invalid pretrain config:\n  steps"):
        PretrainConfig.from_file(tmp_path / "bad2.yaml")
