"""The training loop on the torch CPU backend: learning, exact resume, checkpoints, init_from."""

from __future__ import annotations

import importlib.util
import json

import pytest

from mixlab.errors import ConfigError, ResumeError
from mixlab.train import PretrainConfig, read_metrics, train
from mixlab.train.checkpoint import CheckpointManager


def _config(tmp_path, **fields):
    base = dict(data="synthetic", model={"preset": "tiny", "vocab_size": 64}, batch_size=4, input_length=32,
                target_length=16, steps=8, warmup_steps=4, log_interval=1, checkpoint_interval=2, keep_checkpoints=2,
                out_dir=str(tmp_path / "run"), backend={"precision": "fp32"})
    return PretrainConfig(**{**base, **fields})


def _losses(run_dir):
    return [(m["step"], m["loss"], m["task_loss"]) for m in read_metrics(run_dir) if "loss" in m]


def test_loss_falls_on_synthetic_copy_task(tmp_path):
    cfg = _config(tmp_path, steps=40, log_interval=10, checkpoint_interval=0, learning_rate=0.02, warmup_steps=10)
    result = train(cfg, progress=False)
    records = read_metrics(result.out_dir)
    assert [r["step"] for r in records] == [10, 20, 30, 40]
    assert records[-1]["loss"] < records[0]["loss"] - 0.4
    assert set(records[0]["task_loss"]) == {"synthetic/copy_long", "synthetic/copy_short"}
    assert 0 <= records[-1]["data_share"] < 1 and records[-1]["tokens_per_s"] > 0
    assert records[0]["lr"] == 0.02 and records[-1]["lr"] == pytest.approx(0.02 * (10 / 39) ** 0.5)
    assert result.checkpoint is not None and result.checkpoint.name == "step_0000040"
    assert (result.out_dir / "config.yaml").is_file()


def test_kill_and_resume_gives_identical_losses(tmp_path):
    straight = train(_config(tmp_path / "a"), progress=False)
    cfg = _config(tmp_path / "b")
    train(cfg, steps=4, progress=False)  # "killed" after step 4 (last checkpoint: step 4) ...
    run = tmp_path / "b" / "run"
    with open(run / "metrics.jsonl", "a") as handle:  # ... while logging step 5 and saving step 6
        handle.write(json.dumps({"step": 5, "loss": 0.0, "task_loss": {}}) + "\n")
    (run / "checkpoints" / ".step_0000006.tmp-999").mkdir()
    resumed = train(cfg, resume=True, progress=False)
    assert not list((run / "checkpoints").glob(".step_*"))
    assert resumed.step == 8
    assert _losses(resumed.out_dir) == _losses(straight.out_dir)  # exact, not approximate
    assert [m["step"] for m in read_metrics(resumed.out_dir)] == list(range(1, 9))
    assert CheckpointManager(resumed.out_dir / "checkpoints", keep=2, save_fn=None, load_fn=None).steps() == [6, 8]


def test_resume_skips_a_corrupted_checkpoint(tmp_path, caplog):
    straight = train(_config(tmp_path / "a"), progress=False)
    cfg = _config(tmp_path / "b", keep_checkpoints=3)
    train(cfg, steps=6, progress=False)
    model = tmp_path / "b" / "run" / "checkpoints" / "step_0000006" / "model.pt"
    model.write_bytes(model.read_bytes()[:100])  # truncated: the manifest no longer matches
    resumed = train(cfg, resume=True, progress=False)
    assert "skipping checkpoint" in caplog.text and "does not match its checksum" in caplog.text
    assert _losses(resumed.out_dir) == _losses(straight.out_dir)


def test_refuses_to_overwrite_and_resume_checks_world(tmp_path):
    cfg = _config(tmp_path, steps=2)
    train(cfg, progress=False)
    with pytest.raises(ConfigError, match=r"already holds checkpoints.*--resume"):
        train(cfg, progress=False)
    folder = tmp_path / "run" / "checkpoints"
    assert json.loads((folder / "step_0000002" / "manifest.json").read_text())["step"] == 2


def test_resume_refuses_other_data_source(tmp_path):
    cfg = _config(tmp_path, steps=2)
    train(cfg, progress=False)
    from mixlab.train.data import SyntheticBatches

    def other(config, backend, vocab_size, **_):
        source = SyntheticBatches(["x/y"], batch_size=4, input_length=32, target_length=16, vocab_size=64)
        source.kind = "other"
        return source

    with pytest.raises(ResumeError, match="state of a 'synthetic' cannot resume a other; fix: load it into the stage"):
        train(cfg, steps=3, resume=True, data=other, progress=False)


def test_init_from_loads_weights_with_fresh_optimizer(tmp_path):
    first = train(_config(tmp_path / "pre", steps=6, learning_rate=0.05), progress=False)
    tuned = _config(tmp_path / "ft", steps=1, init_from=str(first.out_dir), seed=3)
    scratch = _config(tmp_path / "scratch", steps=1, seed=3)
    from_pre = read_metrics(train(tuned, progress=False).out_dir)[0]["loss"]
    from_scratch = read_metrics(train(scratch, progress=False).out_dir)[0]["loss"]
    last_pre = read_metrics(first.out_dir)[-1]["loss"]
    assert from_pre < from_scratch - 0.1 and abs(from_pre - last_pre) < 0.5
    with pytest.raises(ConfigError, match="does not fit model 'tiny'"):
        train(_config(tmp_path / "bad", steps=1, init_from=str(first.out_dir), model={"preset": "tiny",
                                                                                     "vocab_size": 80}))


def test_eval_with_teacher_forcing(tmp_path):
    result = train(_config(tmp_path, steps=4, eval_interval=2, eval_batches=2), progress=False)
    evals = [m for m in read_metrics(result.out_dir) if "eval_loss" in m]
    assert [m["step"] for m in evals] == [2, 4]
    assert evals[1]["eval_loss"] < evals[0]["eval_loss"]
    assert set(evals[0]["eval_task_loss"]) <= {"synthetic/copy_long", "synthetic/copy_short"}


@pytest.mark.skipif(importlib.util.find_spec("mixlab_wordnet") is None, reason="mixlab-wordnet plugin not installed")
def test_tiny_t5_learns_wordnet_ext5(tmp_path):
    import mixlab_wordnet

    cfg = PretrainConfig(mixture="wordnet-ext5", tokenizer=str(mixlab_wordnet.tokenizer_path()), model="tiny",
                         batch_size=8, input_length=64, target_length=16, steps=30, warmup_steps=10,
                         learning_rate=0.02, log_interval=10, checkpoint_interval=0, out_dir=str(tmp_path / "run"),
                         backend={"precision": "fp32"})
    result = train(cfg, progress=False)
    records = read_metrics(result.out_dir)
    assert records[-1]["loss"] < records[0]["loss"]
    assert "wordnet/text" in records[-1]["task_loss"]
    assert (result.out_dir / "mixture_manifest.json").is_file()


def test_muppet_scaling_weights_tasks(tmp_path):
    sizes = {"synthetic/copy_long": 2}
    plain = train(_config(tmp_path / "a", steps=1), progress=False)
    with pytest.warns(UserWarning, match=r"1 task\(s\) have no output_space_sizes entry.*synthetic/copy_short"):
        scaled = train(_config(tmp_path / "b", steps=1, loss_scaling="muppet", output_space_sizes=sizes),
                       progress=False)
    first, second = read_metrics(plain.out_dir)[0], read_metrics(scaled.out_dir)[0]
    assert first["ce"] == second["ce"] and second["loss"] > first["loss"]  # copy_long weighted 1/log 2 > 1
    with pytest.raises(ConfigError, match=r"not in the mixture: \['x/y'\]"):
        train(_config(tmp_path / "c", steps=1, loss_scaling="muppet", output_space_sizes={"x/y": 3}))


@pytest.mark.skipif(importlib.util.find_spec("mixlab_wordnet") is None, reason="mixlab-wordnet plugin not installed")
def test_r_override_of_an_rmix_mixture():
    from mixlab.train import resolve_mixture

    assert resolve_mixture("wordnet-ext5", R=4.0).probabilities["wordnet/text"] == pytest.approx(0.8)
    assert resolve_mixture("wordnet-ext5").probabilities["wordnet/text"] == pytest.approx(2 / 3)
    with pytest.raises(ConfigError, match="'wordnet' is not an rmix mixture"):
        resolve_mixture("wordnet", R=2.0)


def test_bf16_autocast_and_z_loss_run(tmp_path):
    plain = read_metrics(train(_config(tmp_path / "a", steps=2), progress=False).out_dir)
    mixed = read_metrics(train(_config(tmp_path / "b", steps=2, z_loss=1e-2, backend={"precision": "bf16"}),
                               progress=False).out_dir)
    assert abs(mixed[0]["ce"] - plain[0]["ce"]) < 0.05  # same weights and batch, bf16 matmuls
    assert json.loads((tmp_path / "b" / "run" / "env.json").read_text())["precision"] == "bf16"
    assert mixed[0]["loss"] - mixed[0]["ce"] > 0.05  # z-loss adds 1e-2 * logsumexp**2 (about 0.17 here)
    assert plain[0]["loss"] - plain[0]["ce"] < 1e-4  # and nothing without it


@pytest.mark.skipif(importlib.util.find_spec("mixlab_wordnet") is None, reason="mixlab-wordnet plugin not installed")
def test_mixture_batches_are_sharded_by_rank():
    import itertools

    import mixlab_wordnet

    import mixlab
    from mixlab.train import build_data

    class Rank:  # what build_data reads from a backend
        def __init__(self, rank):
            self.rank, self.world_size, self.shard = rank, 2, (rank, 2)

    tokenizer = mixlab.load_tokenizer(mixlab_wordnet.tokenizer_path())
    cfg = PretrainConfig(mixture="wordnet-ext5", tokenizer=mixlab_wordnet.tokenizer_path(), batch_size=8,
                         input_length=64, target_length=16, steps=1)
    sources = [build_data(cfg, Rank(r), tokenizer.vocab_size, tokenizer=tokenizer) for r in (0, 1)]
    assert [s.shard for s in sources] == [(0, 2), (1, 2)] and sources[0].batch_config.batch_size == 4
    seen = [{(x["task"], x["index"]) for x in itertools.islice(s.mixture.stream(s.seed, shard=s.shard), 200)}
            for s in sources]
    assert len(seen[0]) == len(seen[1]) == 200 and not seen[0] & seen[1]
    first = [next(iter(s))["input_ids"] for s in sources]
    assert first[0].shape == (4, 64) and not (first[0] == first[1]).all()


def test_sigkill_then_resume_matches_an_uninterrupted_run(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    import yaml

    fields = dict(_config(tmp_path, steps=30).to_dict(), out_dir=str(tmp_path / "killed"))
    (tmp_path / "cfg.yaml").write_text(yaml.safe_dump(fields))
    cmd = [sys.executable, "-m", "mixlab", "train", str(tmp_path / "cfg.yaml"), "--no-progress"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not (tmp_path / "killed" / "checkpoints" / "step_0000004").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = CheckpointManager(tmp_path / "killed" / "checkpoints", keep=2, save_fn=None, load_fn=None).steps()
    assert 4 <= done[-1] < 30  # killed part-way
    with open(tmp_path / "killed" / "metrics.jsonl", "a") as handle:
        handle.write('{"step": 99, "lo')  # as if killed half-way through a line
    assert subprocess.run(cmd + ["--resume"], env=env, capture_output=True).returncode == 0
    straight = train(_config(tmp_path, steps=30), progress=False)
    assert _losses(tmp_path / "killed") == _losses(straight.out_dir)
