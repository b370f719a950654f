"""``mixlab search fit`` on tables made elsewhere: CSV (prefix, explicit and automatic weight columns), SQLite."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing

import numpy as np
import pandas as pd
import pytest

from mixlab.cli import main
from tests.search.conftest import make_sweep

WORDNET = ["wordnet/antonym", "wordnet/define", "wordnet/hypernym", "wordnet/pos", "wordnet/supersense"]


def outside_csv(path, *, prefix: str = "", failed_rows: int = 0):
    """A sweep as a published CSV would have it: a run id, domain shares, a target loss, a note column."""
    weights, losses = make_sweep(48, seed=2)
    table = weights.set_axis([prefix + n for n in WORDNET], axis=1)
    table.insert(0, "run_id", [f"proxy-{i:03d}" for i in range(len(table))])
    table["target_loss"] = losses["loss:cls"]  # helped most by the first column (wordnet/antonym)
    table["note"] = "tiny"
    if failed_rows:
        table.loc[: failed_rows - 1, "target_loss"] = np.nan
    table.to_csv(path, index=False)
    return path


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main(["search", "fit", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def test_fit_an_outside_csv_with_automatic_weight_columns(tmp_path, capsys):
    path = outside_csv(tmp_path / "sweep.csv", failed_rows=2)
    code, out, _ = run(capsys, path, "--target", "target_loss", "--kind", "mixing_law", "--json", "--candidates",
                       2000, "--top-k", 20, "--folds", 4)
    assert code == 0
    summary = json.loads(out)
    assert summary["num_runs"] == 46 and summary["num_dropped"] == 2
    assert summary["weights"] == {"how": "the numeric columns that sum to 1", "columns": WORDNET}
    assert summary["heldout"]["method"] == "4-fold cross-validation, seed 0"
    assert summary["heldout"]["spearman"]["target_loss"] > 0.99
    proposal = summary["proposal"]
    assert max(proposal["weights"], key=proposal["weights"].get) == "wordnet/antonym"
    assert sum(proposal["weights"].values()) == pytest.approx(1.0, abs=1e-5)


def test_text_output_spec_file_and_plot_read_by_mixlab_rates(tmp_path, capsys):
    path = outside_csv(tmp_path / "sweep.csv", prefix="weight:")
    spec, figure = tmp_path / "proposal.yaml", tmp_path / "heldout.png"
    code, out, _ = run(capsys, path, "--target", "target_loss", "--kind", "lightgbm", "--out", spec, "--plot",
                       figure, "--cap", "wordnet/antonym=0.4", "--candidates", 2000, "--top-k", 20)
    assert code == 0, out
    assert "columns starting with 'weight:' (5)" in out and "5-fold cross-validation" in out
    assert f"wrote {spec} (read it with `mixlab rates {spec}`)" in out and figure.stat().st_size > 10_000
    assert main(["rates", str(spec), "--json"]) == 0
    rates = json.loads(capsys.readouterr().out)
    assert rates["mixture"] == "proposal" and set(rates["rates"]) <= set(WORDNET)
    assert 0.3 < rates["rates"]["wordnet/antonym"] <= 0.4 + 1e-6  # the most helpful column, capped


def test_explicit_weights_and_epoch_limits_from_the_registry(tmp_path, capsys):
    path = outside_csv(tmp_path / "sweep.csv")
    code, out, _ = run(capsys, path, "--target", "target_loss", "--kind", "linear", "--weights", ",".join(WORDNET),
                       "--max-epochs", 2, "--budget", 10_000, "--json", "--candidates", 1000, "--top-k", 10)
    assert code == 0
    weights = json.loads(out)["proposal"]["weights"]
    # antonym (the most helpful column) has 1,000 train examples: 2 epochs of 10,000 examples is at most 0.2
    assert 0.15 < weights["wordnet/antonym"] <= 0.2 + 1e-6
    assert json.loads(out)["weights"]["how"] == "--weights"


def test_sqlite_table(tmp_path, capsys):
    weights, losses = make_sweep(32, seed=4)
    frame = weights.add_prefix("weight:").assign(eval_loss=losses["loss:dlg"])
    db = tmp_path / "results.sqlite"
    with closing(sqlite3.connect(db)) as connection:
        frame.to_sql("runs", connection, index=False)
        pd.DataFrame({"key": ["protocol"], "value": ["regmix"]}).to_sql("meta", connection, index=False)
    code, _, err = run(capsys, db, "--target", "eval_loss")
    assert code == 1 and "holds tables ['runs', 'meta']; choose one with --table" in err
    code, out, _ = run(capsys, db, "--target", "eval_loss", "--table", "runs", "--kind", "linear", "--json",
                       "--candidates", 500, "--top-k", 10)
    assert code == 0 and json.loads(out)["weights"]["columns"] == ["cls", "dlg", "nli", "qa", "sum"]


def test_errors_are_one_line(tmp_path, capsys):
    path = outside_csv(tmp_path / "sweep.csv")
    code, _, err = run(capsys, path, "--target", "val_loss")
    assert code == 1 and err.count("\n") == 1
    assert "target column(s) ['val_loss'] not in the table; its columns are ['run_id'" in err
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"a": [0.2, 0.5], "b": [0.3, 0.5], "loss": [1.0, 2.0]}).to_csv(bad, index=False)
    code, _, err = run(capsys, bad, "--target", "loss")
    assert code == 1 and "cannot tell the weight columns" in err and "--weights a,b,c" in err
    code, _, err = run(capsys, path, "--target", "target_loss", "--cap", "antonym")
    assert code == 1 and "--cap 'antonym': write NAME=PROBABILITY" in err


def test_flag_errors_come_before_the_fit(tmp_path, capsys, monkeypatch):
    from mixlab.search import MixtureRegression

    def no_fit(*_args, **_kwargs):
        raise AssertionError("fitted before checking the flags")

    monkeypatch.setattr(MixtureRegression, "fit", no_fit)
    path = outside_csv(tmp_path / "sweep.csv")
    code, _, err = run(capsys, path, "--target", "target_loss", "--cap", "antonym")
    assert code == 1 and "--cap 'antonym': write NAME=PROBABILITY" in err
    code, _, err = run(capsys, path, "--target", "target_loss", "--max-epochs", 2)
    assert code == 1 and "--max-epochs and --budget go together" in err


def test_a_missing_extra_is_one_line(tmp_path, capsys, monkeypatch):
    import sys

    path = outside_csv(tmp_path / "sweep.csv")
    monkeypatch.setitem(sys.modules, "pandas", None)  # makes `import pandas` fail as if it were not installed
    code, _, err = run(capsys, path, "--target", "target_loss")
    assert code == 1
    assert err == ("mixlab search: error: reading a results table needs pandas, which is not installed: "
                   "pip install 'mixlab[search]'\n")
