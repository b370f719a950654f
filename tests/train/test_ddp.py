"""Two processes under torchrun (gloo, localhost): DDP over disjoint data shards."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest
import torch

from mixlab.train import read_metrics
from mixlab.train.data import SyntheticBatches
from mixlab.train.loss import compute_loss
from mixlab.train.model import PRESETS, PackedT5, build_model

CONFIG = """\
data: synthetic
model: {preset: tiny, vocab_size: 64}
batch_size: 4
input_length: 32
target_length: 16
steps: 3
warmup_steps: 2
log_interval: 1
checkpoint_interval: 3
backend: {precision: fp32, parallel: ddp}
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _first_step_loss_by_hand() -> float:
    """Mean over the two shards' first batches (2 rows each) of the single-process loss."""
    model = PackedT5(build_model(PRESETS["tiny"], 64, seed=0))
    losses = []
    for rank in (0, 1):
        source = SyntheticBatches(["synthetic/copy_long", "synthetic/copy_short"], batch_size=2, input_length=32,
                                  target_length=16, vocab_size=64, seed=0, shard=(rank, 2))
        batch = {k: torch.as_tensor(v) for k, v in source.batch(0).items() if k != "task_names"}
        with torch.no_grad():
            logits = model(batch["input_ids"], batch["encoder_segment_ids"], batch["decoder_input_ids"],
                           batch["decoder_segment_ids"])
        losses.append(compute_loss(logits, batch["labels"], batch["decoder_task_ids"], 2).loss.item())
    return sum(losses) / 2


def _launch(tmp_path, name: str, config: str):
    (tmp_path / f"{name}.yaml").write_text(config)
    out = tmp_path / name
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr", "127.0.0.1",
           "--master_port", str(_free_port()), "-m", "mixlab", "train", str(tmp_path / f"{name}.yaml"),
           "--out", str(out), "--no-progress"]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    return out


def test_ddp_two_processes_disjoint_shards(tmp_path):
    out = _launch(tmp_path, "ddp", CONFIG)
    records = read_metrics(out)
    assert [r["step"] for r in records] == [1, 2, 3]  # rank 0 writes, once per step
    assert abs(records[0]["loss"] - _first_step_loss_by_hand()) < 1e-5
    assert records[-1]["loss"] < records[0]["loss"]
    trainer = torch.load(out / "checkpoints" / "step_0000003" / "trainer.pt", weights_only=False)
    assert trainer["world_size"] == 2
    assert [(s["shard"], s["position"]) for s in trainer["data"]] == [([0, 2], 3), ([1, 2], 3)]


@pytest.mark.slow  # two torchrun launches, about a minute on a shared CPU
def test_fsdp_matches_ddp(tmp_path):
    ddp = read_metrics(_launch(tmp_path, "ddp", CONFIG))
    fsdp = read_metrics(_launch(tmp_path, "fsdp", CONFIG.replace("parallel: ddp", "parallel: fsdp")))
    assert [r["step"] for r in fsdp] == [1, 2, 3]
    assert max(abs(a["loss"] - b["loss"]) for a, b in zip(ddp, fsdp, strict=True)) < 1e-5
    assert (tmp_path / "fsdp" / "checkpoints" / "step_0000003" / "manifest.json").is_file()
