"""The report's config shows resolved values (model shape from the preset or the trainer's record, vocabulary,
R from the mixture) and a parameter count; the affinity part names ExT5's Table 2 as the paper's; the mixture
figure spans the page."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest
import yaml

from mixlab.report import SECTION_TITLES, SECTIONS, render_report, resolved
from tests.report.fakerun import AFFINITY_CSV, make_run
from tests.report.test_report import table_rows as escaped_rows

TABLE2 = Path(__file__).resolve().parents[2] / "examples" / "data" / "table2_cotraining.csv"
TINY = {"d_model": 64, "d_ff": 128, "num_heads": 4, "d_kv": 16, "num_layers": 2, "num_decoder_layers": 2}


def trainer_like_run(tmp_path, *, env_model=None, num_parameters=None, R=None):
    """A run whose config.yaml looks like PretrainConfig.to_dict() (nulls left in) and whose mixture is an rmix."""
    run = make_run(tmp_path, config=False, metrics=False, checkpoints=())
    config = {"name": "r", "model": {"preset": "tiny", "vocab_size": None, "dropout_rate": 0.0,
                                     **dict.fromkeys(TINY)},
              "mixture": "toy-ext5", "data": "mixture", "R": R, "tokenizer": None, "steps": 10}
    (run / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    manifest = {"name": "toy-ext5", "tasks": [
        {"name": "toy/text", "family": "Self-supervised", "rate": 2 / 3, "num_examples": 10_000, "cap": None},
        {"name": "toy/nli", "family": "NLI", "rate": 1 / 3, "num_examples": 400, "cap": 300},
    ], "spec": {"name": "toy-ext5", "rmix": {"self_supervised": "toy/text", "supervised": "toy/nli", "R": 2.0}}}
    (run / "mixture_manifest.json").write_text(json.dumps(manifest))
    env = {"python": "3.11", "device": "cpu"}
    if env_model is not None:
        env.update(model=env_model, num_parameters=num_parameters)
    (run / "env.json").write_text(json.dumps(env))
    return run


def table_rows(page, table_id):
    return [[html.unescape(cell) for cell in row] for row in escaped_rows(page, table_id)]


def cards(page):
    return dict(re.findall(r'<div class="k">(.*?)</div><div class="v">(.*?)</div>', page))


def test_parameter_count_formula_matches_the_model_the_trainer_builds():
    torch_model = pytest.importorskip("mixlab.train.model")
    for preset, vocab in (("tiny", 64), ("tiny", 32128)):
        built = torch_model.build_model(torch_model.PRESETS[preset], vocab, seed=0)
        assert resolved.t5_parameter_count(torch_model.PRESETS[preset], vocab) == torch_model.count_parameters(built)
    assert resolved.t5_parameter_count(TINY, 32128) == 4_310_016
    assert resolved.fmt_count(4_310_016) == "4.31M" and resolved.fmt_count(247_577_856) == "248M"
    assert resolved.fmt_count(950) == "950"


def test_null_settings_are_shown_resolved_from_the_preset_and_the_mixture(tmp_path):
    pytest.importorskip("torch")  # the preset table lives in mixlab.train.model
    page = render_report(trainer_like_run(tmp_path))
    rows = dict(map(tuple, table_rows(page, "config")))
    assert rows["model.d_model"] == "64 (preset 'tiny')" and rows["model.num_decoder_layers"] == "2 (preset 'tiny')"
    assert rows["model.vocab_size"] == "32,128 (T5's vocabulary: no tokenizer given)"
    assert rows["R"] == "2 (mixture toy-ext5's own)"
    assert rows["self-supervised share"] == "66.7% of examples (sum of the self-supervised tasks' rates)"
    assert rows["tokenizer"] == "null" and rows["model.dropout_rate"] == "0.0"  # given values stay as given
    assert "null" not in {rows[k] for k in rows if k.startswith("model.") or k == "R"}
    model = dict(map(tuple, table_rows(page, "model")))
    assert model["d_model"] == "64 (preset 'tiny')"
    assert model["parameters"] == "4,310,016 (4.31M; T5.1.1 formula from the resolved shape and vocabulary)"
    assert cards(page)["parameters"] == "4.31M"


def test_values_the_trainer_recorded_win(tmp_path):
    recorded = {"preset": "tiny", **TINY, "d_model": 96, "vocab_size": 500}
    page = render_report(trainer_like_run(tmp_path, env_model=recorded, num_parameters=123_456, R=3.0))
    rows = dict(map(tuple, table_rows(page, "config")))
    assert rows["model.d_model"] == "96 (recorded by the trainer)"
    assert rows["model.vocab_size"] == "500 (recorded by the trainer)"
    assert rows["R"] == "3.0"  # set in the config: shown as given
    model = dict(map(tuple, table_rows(page, "model")))
    assert model["parameters"] == "123,456 (123k; counted by the trainer)"
    assert cards(page)["parameters"] == "123k"
    env = dict(map(tuple, table_rows(page, "env")))
    assert "model.d_model" not in env and "num_parameters" not in env  # shown in the model table instead


def test_a_real_run_records_its_model_and_the_report_shows_it(tmp_path):
    pytest.importorskip("torch")
    from mixlab.train import PretrainConfig, train
    from mixlab.train.model import PRESETS, build_model, count_parameters

    out = tmp_path / "run"
    config = PretrainConfig(data="synthetic", model={"preset": "tiny", "vocab_size": 64}, batch_size=2,
                            input_length=16, target_length=8, steps=1, warmup_steps=1, log_interval=1,
                            out_dir=str(out), backend={"precision": "fp32", "device": "cpu"})
    train(config, progress=False)
    env = json.loads((out / "env.json").read_text())
    expected = count_parameters(build_model(PRESETS["tiny"], 64, seed=0))
    assert env["model"] == {"preset": "tiny", **PRESETS["tiny"], "vocab_size": 64}
    assert env["num_parameters"] == expected == resolved.t5_parameter_count(PRESETS["tiny"], 64)
    page = render_report(out)
    rows = dict(map(tuple, table_rows(page, "config")))
    assert rows["model.d_model"] == "64 (recorded by the trainer)" and rows["R"] == "not used (synthetic data)"
    assert cards(page)["parameters"] == resolved.fmt_count(expected)


def test_affinity_part_names_the_papers_table_2(tmp_path):
    run = make_run(tmp_path, metrics=False, checkpoints=())
    page = render_report(run, affinity=TABLE2)
    source = html.unescape(re.search(r'<p class="info" id="affinity-source">(.*?)</p>', page, re.S).group(1))
    assert "ExT5 Table 2 (the paper's results)" in source and "given with --affinity" in source
    assert "not results measured by this run" in source
    (run / "affinity.csv").write_text(AFFINITY_CSV)
    page = render_report(run)
    source = html.unescape(re.search(r'<p class="info" id="affinity-source">(.*?)</p>', page, re.S).group(1))
    assert "Table 2" not in source and "the run folder's affinity.csv" in source
    assert "it does not check which run produced it" in source


def test_table_2_is_recognised_by_its_baselines_only(tmp_path):
    from mixlab import affinity
    from mixlab.report import transfer

    assert transfer.is_ext5_table2(affinity.transfer_graph(str(TABLE2)))
    changed = TABLE2.read_text().replace("SUM,SUM,27.89,data-100k", "SUM,SUM,27.99,data-100k")
    (tmp_path / "t.csv").write_text(changed)
    assert not transfer.is_ext5_table2(affinity.transfer_graph(str(tmp_path / "t.csv")))
    assert not transfer.is_ext5_table2(affinity.transfer_graph(affinity_csv_rows()))


def affinity_csv_rows():
    """The fixture's rows as dicts."""
    header, *lines = AFFINITY_CSV.strip().splitlines()
    keys = header.split(",")
    return [dict(zip(keys, line.split(","), strict=True)) for line in lines]


def test_mixture_figure_spans_the_page_and_parts_are_one_line_each(tmp_path):
    page = render_report(trainer_like_run(tmp_path))
    mixture = re.search(r'<section id="mixture">(.*?)</section>', page, re.S).group(1)
    assert mixture.lstrip().split("\n")[1].startswith('<figure class="full"><img src="data:image/png;base64,')
    assert "figure.full img { width: 100%; }" in page
    assert [a for a, *_ in SECTIONS] == [a for a, _ in SECTION_TITLES] == ["mixture", "training", "affinity", "config"]
    assert [t for _, t in SECTION_TITLES][-1] == "4. Configuration, model, environment and checkpoints"
    assert all(":" in target for *_, target in SECTIONS)
