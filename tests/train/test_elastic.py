"""Elastic resume: a run saved on 2 processes resumes on 1 and one saved on 1 resumes on 2 (gloo, CPU), with
the global batch of every step the same set of examples: checked by the logged order-independent digests and
an example ledger (task, index, epoch) that shows no example lost or repeated."""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from mixlab import ResumeError
from mixlab.train import read_metrics
from mixlab.train.digest import example_digest, global_digests
from mixlab.train.elastic import ShardedBatches, ShardView, concat_batches
from tests.train import elastic_worker as worker

pytestmark = pytest.mark.skipif(importlib.util.find_spec("mixlab_wordnet") is None,
                                reason="needs the mixlab-wordnet plugin")
WORKER = str(Path(worker.__file__).resolve())
ROOT = Path(__file__).resolve().parents[2]


def _run(out, steps, shards, processes, resume=False, extra=None):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    args = [str(out), str(steps), str(shards), json.dumps(extra or {}), *(["--resume"] if resume else [])]
    if processes == 1:
        cmd = [sys.executable, WORKER, *args]
    else:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(processes), "--master_addr",
               "127.0.0.1", "--master_port", str(port), WORKER, *args]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]


def _digests(out):
    return [m["example_digests"][0] for m in read_metrics(out) if "loss" in m]


def ledger(steps):
    """Replays the data alone (one process owning both virtual shards): per step, the examples of the global
    batch as (task, index, epoch), and the step's digest."""
    import mixlab_wordnet

    from mixlab.text import load_tokenizer
    from mixlab.train.data_factory import build_data

    tokenizer = load_tokenizer(mixlab_wordnet.tokenizer_path())
    config = worker.config("unused", steps, 2)
    sources = {v: build_data(config, ShardView(None, v, 2), tokenizer.vocab_size, tokenizer=tokenizer,
                             registry=worker.registry()) for v in (0, 1)}
    seen: Counter = Counter()
    per_step, digests = [], []
    for _, batch in zip(range(steps), ShardedBatches(sources, 2), strict=False):
        digests.append(global_digests([[example_digest(batch)]])[0])
        step = []
        for row, segments in enumerate(batch["encoder_segment_ids"]):
            for seg in sorted(set(segments.tolist()) - {0}):
                ids = batch["input_ids"][row][segments == seg].tolist()
                _, letter, index = tokenizer.decode([i for i in ids if i != tokenizer.eos_id]).split()
                key = (f"ledger/{letter}", int(index))
                step.append((*key, seen[key]))  # the epoch: how often this example came before
                seen[key] += 1
        per_step.append(step)
    return per_step, digests


@pytest.mark.slow  # four processes started, about a minute on a shared CPU
@pytest.mark.parametrize(("first", "then"), [(2, 1), (1, 2)])
def test_elastic_resume_keeps_every_steps_global_batch(tmp_path, first, then):
    straight, elastic = tmp_path / "straight", tmp_path / "elastic"
    _run(straight, 8, 2, 1)
    _run(elastic, 4, 2, first)  # checkpoint at step 4 on `first` processes ...
    _run(elastic, 8, 2, then, resume=True)  # ... resumed on `then`
    assert [m["step"] for m in read_metrics(elastic) if "loss" in m] == list(range(1, 9))
    import torch

    trainers = {step: torch.load(elastic / "checkpoints" / f"step_{step:07d}" / "trainer.pt", weights_only=False)
                for step in (4, 8)}
    assert {step: (t["world_size"], t["data_shards"]) for step, t in trainers.items()} == {4: (first, 2), 8: (then, 2)}
    per_step, replayed = ledger(8)
    assert _digests(elastic) == _digests(straight) == replayed  # the same examples at every step
    flat = [entry for step in per_step for entry in step]
    assert len(flat) == len(set(flat))  # no (task, index, epoch) twice: nothing repeated
    by_epoch = Counter((task, epoch) for task, _, epoch in flat)
    for (task, epoch), count in by_epoch.items():  # nothing lost: every finished epoch holds every example once
        if by_epoch.get((task, epoch + 1)):
            assert count == worker.LEDGER_SIZES[task], (task, epoch)
    assert by_epoch[("ledger/a", 1)] > 0  # ledger/a really went through an epoch boundary


@pytest.mark.slow  # four processes started, about a minute on a shared CPU
def test_elastic_resume_with_a_policy_changing_the_weights(tmp_path):
    """ODM changes the weights every second step; saved on 2 processes, resumed on 1: every step's global batch
    is the uninterrupted 1-process run's (the change positions were agreed over the processes), and the weights
    are, to the rounding of the losses they are computed from."""
    policy = {"policy": {"kind": "odm", "every": 2}}
    straight, elastic = tmp_path / "straight", tmp_path / "elastic"
    _run(straight, 8, 2, 1, extra=policy)
    _run(elastic, 4, 2, 2, extra=policy)
    _run(elastic, 8, 2, 1, resume=True, extra=policy)
    weights = [m["task_weights"] for m in read_metrics(straight) if "loss" in m]
    assert len({tuple(w.values()) for w in weights}) > 2  # the policy moved them
    assert _digests(elastic) == _digests(straight)
    # the weights come from losses, which 2 processes sum in another order than 1: equal to float rounding
    got = [m["task_weights"] for m in read_metrics(elastic) if "loss" in m]
    assert [list(w.values()) for w in got] == [pytest.approx(list(w.values()), rel=1e-5) for w in weights]


def test_sharded_batches_put_shards_side_by_side_and_refuse_what_cannot_resume(tmp_path):
    import mixlab_wordnet

    from mixlab.text import load_tokenizer
    from mixlab.train.data_factory import build_data
    from mixlab.train.elastic import DataShards

    tokenizer = load_tokenizer(mixlab_wordnet.tokenizer_path())
    config = worker.config(str(tmp_path / "x"), 4, 2)
    make = [build_data(config, ShardView(None, v, 2), tokenizer.vocab_size, tokenizer=tokenizer,
                       registry=worker.registry()) for v in (0, 1)]
    alone = [next(iter(source)) for source in make]
    both = next(iter(ShardedBatches(dict(enumerate(
        build_data(config, ShardView(None, v, 2), tokenizer.vocab_size, tokenizer=tokenizer,
                   registry=worker.registry()) for v in (0, 1))), 2)))
    joined = concat_batches(alone)
    assert all(np.array_equal(both[k], joined[k]) for k in joined if k != "task_names")
    assert both["input_ids"].shape == (4, 24) and alone[0]["input_ids"].shape == (2, 24)

    class Backend:  # three processes
        world_size, rank = 3, 0

    shards = DataShards(build_data, config, Backend(), tokenizer.vocab_size, tokenizer, worker.registry())
    with pytest.raises(ResumeError, match=r"2 virtual data shard\(s\), which 3 processes cannot share evenly; fix: "
                                          r"run on a number of processes that divides 2"):
        shards.build(2)
    shards.num_shards = 2
    trainer = {"world_size": 2, "data_shards": 2, "config": {"batch_size": 8}, "data": []}
    with pytest.raises(ResumeError, match=r"global batch size 8, this config has 4; .* fix: resume with batch_size: 8"):
        shards.restore(trainer, tmp_path, None)
