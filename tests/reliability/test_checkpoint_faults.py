"""Corrupted and truncated checkpoints: detected, reported (file and fault), skipped for the previous
good one; when none is good, resume and ``resolve_checkpoint`` raise ``CheckpointError``."""

from __future__ import annotations

import json
import logging
import re

import pytest
import torch

from mixlab.errors import CheckpointError
from mixlab.train import PretrainConfig, read_metrics, resolve_checkpoint, train
from mixlab.train.checkpoint import CheckpointManager, step_dir_name


def _flip(path, at=None):
    data = bytearray(path.read_bytes())
    at = len(data) // 2 if at is None else at
    data[at] ^= 0xFF
    path.write_bytes(bytes(data))


def _truncate(path, keep=0.5):
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


FAULTS = [  # (id, how to damage a checkpoint folder, what the warning says)
    ("flipped-byte-model", lambda f: _flip(f / "model.pt"), r"model\.pt does not match its checksum: SHA-256 differs"),
    ("flipped-first-byte-trainer", lambda f: _flip(f / "trainer.pt", 0), r"trainer\.pt .*SHA-256 differs"),
    ("truncated-optimizer", lambda f: _truncate(f / "optimizer.pt"),
     r"optimizer\.pt does not match its checksum: it has \d+ bytes, the manifest says \d+ \(truncated"),
    ("emptied-model", lambda f: _truncate(f / "model.pt", 0), r"model\.pt .*it has 0 bytes"),
    ("appended-bytes", lambda f: (f / "model.pt").write_bytes((f / "model.pt").read_bytes() + b"x"),
     r"model\.pt .*bytes, the manifest says"),
    ("missing-trainer", lambda f: (f / "trainer.pt").unlink(), r"trainer\.pt is missing"),
    ("missing-manifest", lambda f: (f / "manifest.json").unlink(), r"no readable manifest\.json \(FileNotFoundError\)"),
    ("truncated-manifest", lambda f: _truncate(f / "manifest.json", 0.5),
     r"no readable manifest\.json \(JSONDecodeError\)"),
    ("manifest-invalid-utf8", lambda f: (f / "manifest.json").write_bytes(b'{"format": 1, "\xff"}'),
     r"no readable manifest\.json \(UnicodeDecodeError\)"),
    ("manifest-wrong-format", lambda f: (f / "manifest.json").write_text('{"format": 7, "files": {}}'),
     r"manifest\.json has format 7, expected 1"),
    ("manifest-not-object", lambda f: (f / "manifest.json").write_text("[1, 2]"), r"has format 'list'"),
    ("manifest-no-files", lambda f: (f / "manifest.json").write_text('{"format": 1}'),
     r"lists no files with sizes and checksums"),
    ("manifest-checksum-flipped", lambda f: (f / "manifest.json").write_text(
        (f / "manifest.json").read_text().replace('"sha256": "', '"sha256": "0', 1)), r"SHA-256 differs"),
]


def _manager(root):
    return CheckpointManager(root, keep=5, save_fn=torch.save, load_fn=lambda p: torch.load(p, weights_only=False))


def _save_two(root):
    manager = _manager(root)
    for step in (1, 2):
        manager.save(step, {"model": {"w": torch.full((64,), float(step))}, "optimizer": {"s": torch.ones(8) * step},
                            "trainer": {"step": step}})
    return manager


@pytest.mark.parametrize("fault, damage, message", FAULTS, ids=[f[0] for f in FAULTS])
def test_damaged_newest_checkpoint_is_reported_and_the_previous_one_used(tmp_path, caplog, fault, damage, message):
    manager = _save_two(tmp_path)
    damage(tmp_path / "step_0000002")
    with caplog.at_level(logging.WARNING, logger="mixlab.train.checkpoint"):
        found = manager.latest()
    assert found == tmp_path / "step_0000001"
    assert manager.load(found, ("trainer",))["trainer"] == {"step": 1}
    (record,) = caplog.records
    assert str(tmp_path / "step_0000002") in record.getMessage()
    assert "falling back to an earlier one" in record.getMessage()
    assert re.search(message, record.getMessage()), record.getMessage()
    assert list(manager.problems()) == [tmp_path / "step_0000002"]


def test_no_good_checkpoint_is_a_clear_error(tmp_path):
    manager = _save_two(tmp_path)
    _flip(tmp_path / "step_0000002" / "model.pt")
    (tmp_path / "step_0000001" / "manifest.json").unlink()
    assert manager.latest() is None
    with pytest.raises(CheckpointError, match=r"no checkpoint under .* verifies against its manifest"):
        resolve_checkpoint(tmp_path)
    with pytest.raises(CheckpointError, match=r"is not a checkpoint \(no manifest.json\)"):
        resolve_checkpoint(tmp_path / "nowhere")


def _config(tmp_path, **fields):
    base = dict(data="synthetic", model={"preset": "tiny", "vocab_size": 64}, batch_size=4, input_length=32,
                target_length=16, steps=8, warmup_steps=4, log_interval=1, checkpoint_interval=2, keep_checkpoints=3,
                out_dir=str(tmp_path / "run"), backend={"precision": "fp32"}, log_batch_digest=True)
    return PretrainConfig(**{**base, **fields})


def test_resume_falls_back_past_two_damaged_checkpoints_then_refuses_when_none_is_good(tmp_path, caplog):
    straight = train(_config(tmp_path / "a"), progress=False)
    cfg = _config(tmp_path / "b")
    train(cfg, steps=6, progress=False)  # checkpoints 2, 4, 6
    folder = tmp_path / "b" / "run" / "checkpoints"
    _flip(folder / "step_0000006" / "optimizer.pt")
    _truncate(folder / "step_0000004" / "model.pt")
    resumed = train(cfg, resume=True, progress=False)  # from step 2
    assert "step_0000006: optimizer.pt does not match its checksum: SHA-256 differs" in caplog.text
    assert "step_0000004: model.pt does not match its checksum" in caplog.text
    keys = [(m["step"], m["loss"], m["batch_digests"]) for m in read_metrics(resumed.out_dir)]
    assert keys == [(m["step"], m["loss"], m["batch_digests"]) for m in read_metrics(straight.out_dir)]
    assert CheckpointManager(folder, keep=3, save_fn=None, load_fn=None).problems() == {}  # bad ones replaced

    for step in (4, 6, 8):
        _flip(folder / step_dir_name(step) / "trainer.pt")
    with pytest.raises(CheckpointError, match=r"cannot resume: no checkpoint under .*checkpoints verifies "
                                              r"\(step_0000004: trainer\.pt does not match its checksum.*"
                                              r"fix: restore a good copy"):
        train(cfg, steps=10, resume=True, progress=False)
    manifest = json.loads((folder / "step_0000008" / "manifest.json").read_text())
    assert manifest["step"] == 8  # refusing did not touch the folders
