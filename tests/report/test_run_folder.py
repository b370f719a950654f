"""mixlab.run_folder: the one place that names, reads and verifies a run folder, checked against a real
tiny training run (what mixlab.train writes is what the report reads) and against hand-made folders."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from mixlab import run_folder as rf
from mixlab.errors import NotARunError
from mixlab.report import render_report
from tests.report.fakerun import make_run, write_checkpoint

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def real_run(tmp_path_factory):
    """4 steps of the tiny model on synthetic data: eval at 2 and 4, checkpoints at 2 and 4, batch digests."""
    from mixlab.train import PretrainConfig, train

    out = tmp_path_factory.mktemp("real") / "run"
    config = PretrainConfig(data="synthetic", model={"preset": "tiny", "vocab_size": 64}, batch_size=4, input_length=32,
                            target_length=16, steps=4, warmup_steps=2, log_interval=1, checkpoint_interval=2,
                            keep_checkpoints=2, eval_interval=2, eval_batches=1, log_batch_digest=True,
                            out_dir=str(out), backend={"precision": "fp32"})
    train(config, progress=False)
    return out, config


def test_trainer_writes_only_documented_metric_keys(real_run):
    out, _ = real_run
    records = rf.read_metrics(out)
    train_records = [r for r in records if "loss" in r]
    eval_records = [r for r in records if "eval_loss" in r]
    assert [r["step"] for r in train_records] == [1, 2, 3, 4] and [r["step"] for r in eval_records] == [2, 4]
    assert all(tuple(sorted(r)) == tuple(sorted(rf.EVAL_KEYS)) for r in eval_records)
    undocumented = {key for r in records for key in r} - set(rf.METRIC_KEYS)
    assert undocumented == set()
    # no data counters, mixture weights or policy on synthetic data
    # nor the task-metric evaluation keys of fine-tuning (mixlab.finetune's hook)
    hooked = {"eval_score", "eval_metrics", "best_value"}
    expected = set(rf.METRIC_KEYS) - set(rf.EVAL_KEYS) - {"data", "task_weights", "policy"} - hooked | {"step"}
    assert [sorted(set(r) ^ expected) for r in train_records if set(r) - {"data"} != expected] == []
    assert all(len(r["batch_digests"]) == 1 for r in train_records)


def test_load_reads_what_the_trainer_wrote(real_run):
    out, config = real_run
    assert rf.is_run(out)
    run = rf.load(out, deep=True)
    assert run.config == config.to_dict() and run.config_file == "config.yaml"
    assert run.env is not None and run.env["device"] == "cpu" and run.env["backend"] == "torch"
    assert [(c.step, c.path.name, c.num_files, c.problem) for c in run.checkpoints] == [
        (2, "step_0000002", 4, None), (4, "step_0000004", 4, None)]
    assert run.num_bad_lines == 0 and not run.cut_last_line and len(run.metrics) == 6
    assert run.manifest is None and run.notes == {"manifest": "no mixture_manifest.json in the run folder"}
    assert (out / rf.TENSORBOARD).is_dir() or not _has_tensorboard()


def test_report_renders_the_real_run(real_run):
    out, _ = real_run
    page = render_report(out)
    cards = dict(re.findall(r'<div class="k">(.*?)</div><div class="v">(.*?)</div>', page))
    assert cards["steps"] == "4" and cards["checkpoints"] == "2" and cards["tasks"] == "2"
    assert "4 logged training steps and 2 evaluations, from step 1 to step 4" in page
    assert page.count("complete</td>") == 2 and "incomplete" not in page


def test_trainer_and_report_verify_alike(tmp_path):
    """CheckpointManager.verify is run_folder.verify(deep=True); the report's shallow check sees sizes only."""
    import torch

    from mixlab.train.checkpoint import CheckpointManager

    manager = CheckpointManager(tmp_path / "run" / rf.CHECKPOINTS, keep=3, save_fn=torch.save, load_fn=torch.load)
    for step in (1, 2, 3):
        manager.save(step, {"model": {"w": torch.full((64,), float(step))}, "trainer": {"step": step}})
    flipped = manager.root / "step_0000002" / "model.pt"
    data = bytearray(flipped.read_bytes())
    data[len(data) // 2] ^= 0xFF
    flipped.write_bytes(bytes(data))
    cut = manager.root / "step_0000003" / "trainer.pt"
    cut.write_bytes(cut.read_bytes()[:10])
    assert manager.steps() == rf.checkpoint_steps(manager.root) == [1, 2, 3]
    deep = {c.step: c.problem for c in rf.list_checkpoints(tmp_path / "run", deep=True)}
    shallow = {c.step: c.problem for c in rf.list_checkpoints(tmp_path / "run")}
    size_problem = (f"trainer.pt does not match its checksum: it has 10 bytes, the manifest says "
                    f"{json.loads((cut.parent / 'manifest.json').read_text())['files']['trainer.pt']['bytes']} "
                    "(truncated or partly written)")
    flipped_problem = "model.pt does not match its checksum: SHA-256 differs (corrupted: bytes changed on disk)"
    assert deep == {1: None, 2: flipped_problem, 3: size_problem}
    assert shallow == {1: None, 2: None, 3: size_problem}
    assert {step: manager.verify(manager.root / rf.step_dir_name(step)) for step in (1, 2, 3)} == deep


def test_one_step_pattern(tmp_path):
    assert (rf.step_dir_name(42), rf.step_of("step_0000042"), rf.step_of("step_12345678")) == (
        "step_0000042", 42, 12345678)
    assert [rf.step_of(name) for name in ("step_42", "step_000004x", ".step_0000001.tmp-9", "step_0000001/")] == [
        None, None, None, None]
    run = make_run(tmp_path, metrics=False, checkpoints=(3,))
    for name in ("step_42", ".step_0000005.tmp-1", ".trash-step_0000001-7"):
        (run / rf.CHECKPOINTS / name).mkdir()
    (run / rf.CHECKPOINTS / "step_0000009").write_text("a file, not a folder")
    assert [c.step for c in rf.load(run).checkpoints] == [3]


def test_metrics_reader_counts_bad_lines_and_tolerates_a_cut_last_line(tmp_path):
    good = [json.dumps({"step": s, "loss": 1.0 / s}) for s in (1, 2, 3)]
    path = tmp_path / rf.METRICS
    path.write_text("\n".join([good[0], "{", "", "[]", good[1], '{"step": true}', good[2], '{"step": 4, "lo']))
    scan = rf.scan_metrics(path)
    assert [r["step"] for r in scan.records] == [1, 2, 3]
    assert (scan.num_bad_lines, scan.bad_lines, scan.cut_last_line) == (3, ["line 2: {", "line 4: []",
                                                                            'line 6: {"step": true}'], True)
    path.write_text(path.read_text() + "\n")  # the same line with its newline: malformed, not cut
    scan = rf.scan_metrics(path)
    assert (scan.num_bad_lines, scan.cut_last_line) == (4, False)
    path.write_text("\n".join(["x"] * (rf.MAX_QUOTED_BAD_LINES + 3)) + "\n")
    scan = rf.scan_metrics(path)
    assert (scan.num_bad_lines, len(scan.bad_lines), scan.records) == (rf.MAX_QUOTED_BAD_LINES + 3,
                                                                       rf.MAX_QUOTED_BAD_LINES, [])


def test_report_notes_a_cut_last_line(tmp_path):
    run = make_run(tmp_path, bad_lines=0, checkpoints=())
    with open(run / rf.METRICS, "a") as handle:
        handle.write('{"step": 42, "loss"')
    page = render_report(run)
    assert "The last metric line was cut off (the run was stopped while writing it) and is left out." in page
    assert "malformed metric line" not in page


def test_train_and_report_share_the_reader():
    from mixlab import train

    assert train.read_metrics is rf.read_metrics


@pytest.mark.parametrize("make, why", [
    (lambda p: p / "nowhere", "it does not exist"),
    (lambda p: (p / "f.txt").write_text("x") and p / "f.txt", "it is a file"),
    (lambda p: p, "it holds none of config.yaml, metrics.jsonl, mixture_manifest.json, env.json, checkpoints/"),
    (lambda p: (p / "mixture.json").write_text("{}") and p, "it holds none of"),  # no longer a run file name
], ids=["missing", "file", "empty", "old-manifest-name-only"])
def test_not_a_run_folder(tmp_path, make, why):
    path = make(tmp_path)
    assert not rf.is_run(path)
    with pytest.raises(NotARunError, match=rf"^not a run folder '{re.escape(str(path))}': {re.escape(why)}.*; "
                                           r"fix: give the folder a training run wrote \(mixlab train CONFIG --out"):
        rf.load(path)


@pytest.mark.parametrize("marker", rf.RUN_MARKERS)
def test_any_run_file_makes_a_run(tmp_path, marker):
    (tmp_path / marker).mkdir() if marker == rf.CHECKPOINTS else (tmp_path / marker).write_text("")
    run = rf.load(tmp_path)
    assert rf.is_run(tmp_path) and run.path == tmp_path
    assert set(run.notes) == {"config", "metrics", "manifest", "env", "checkpoints"}  # empty files are notes too


def test_paths_of_a_run_folder(tmp_path):
    folder = rf.RunFolder(tmp_path)
    assert [p.relative_to(tmp_path).as_posix() for p in (
        folder.config, folder.mixture_manifest, folder.env, folder.metrics, folder.tensorboard, folder.checkpoints,
        folder.affinity, folder.checkpoint(7), folder.eval_file("validation", "glue/rte"))] == [
        "config.yaml", "mixture_manifest.json", "env.json", "metrics.jsonl", "tensorboard", "checkpoints",
        "affinity.csv", "checkpoints/step_0000007", "eval/validation/glue/rte.jsonl"]
    for split, task in (("", "t"), ("validation", "../t"), ("/abs", "t")):
        with pytest.raises(ValueError, match="must be a non-empty relative name"):
            folder.eval_file(split, task)


def test_deprecated_rundir_names_still_work(tmp_path):
    run = make_run(tmp_path, metrics=False, checkpoints=())
    with pytest.warns(DeprecationWarning, match=r"rundir\.load_run is deprecated; use mixlab\.run_folder\.load"):
        from mixlab.report.rundir import load_run
    assert load_run is rf.load and load_run(run).config["name"] == "toy-run"
    import mixlab.report.rundir as rundir

    with pytest.raises(AttributeError, match=r"no attribute 'MANIFEST_NAMES'; it moved to mixlab\.run_folder"):
        rundir.MANIFEST_NAMES  # noqa: B018


def test_no_module_doc_or_help_names_mixture_json():
    """Ratchet: nothing writes mixture.json, so nothing should name it (the manifest is mixture_manifest.json)."""
    files = [*(ROOT / "mixlab").rglob("*.py"), *(ROOT / "docs").glob("*.md"), ROOT / "README.md"]
    named = re.compile(r"(?<![\w.])mixture\.json")  # proposed_mixture.json is another file
    assert [str(f.relative_to(ROOT)) for f in files if named.search(f.read_text(encoding="utf-8"))] == []


def test_fake_checkpoints_verify_shallow(tmp_path):
    """The report's fake checkpoints (tests/report/fakerun.py) pass the shallow check only (zero checksums)."""
    folder = write_checkpoint(tmp_path, 5)
    assert rf.verify(folder, deep=False) is None
    assert rf.verify(folder, deep=True) == ("model.pt does not match its checksum: SHA-256 differs "
                                            "(corrupted: bytes changed on disk)")


def _has_tensorboard() -> bool:
    try:
        from torch.utils.tensorboard import SummaryWriter  # noqa: F401
    except ImportError:
        return False
    return True
