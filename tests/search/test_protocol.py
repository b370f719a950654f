"""The ``regmix`` experiment protocol: its plan (proxies, baselines, a proposed mixture on a rerun), its checks,
and (slow) a tiny sweep run end to end, read back by ``mixlab search fit``."""

from __future__ import annotations

import json
import warnings

import pytest
import yaml

from mixlab.errors import ConfigError
from mixlab.experiments import plan_experiment, run_experiment
from mixlab.experiments.protocols import get_protocol, protocol_names
from mixlab.search.protocol import RegMix
from tests.experiments.helpers import EVAL, TRAIN, write_spec

GROUPS = {"CLS": ["wordnet/pos"], "SEM": ["wordnet/antonym"], "GEN": ["wordnet/define"]}


def tiny_regmix(**params):
    settings = {"groups": GROUPS, "num_mixtures": 8, "steps": 2, "kind": "linear", "folds": 2,
                "candidates": 200, "top_k": 10, **params}
    return {"name": "tiny-regmix", "protocol": "regmix", "train": dict(TRAIN),
            "eval": {**EVAL, "metric": "eval_loss"}, "params": settings}


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the dev environment's deliberately broken test plugins
        yield


def test_regmix_is_a_registered_protocol():
    assert "regmix" in protocol_names() and get_protocol("regmix") is RegMix


def test_plan_has_proxies_baselines_and_their_evals(tmp_path):
    plan = plan_experiment(write_spec(tmp_path, tiny_regmix(compare_seeds=[0, 1])))
    keys = list(plan.specs)
    proxies = [k for k in keys if k.startswith("proxy/")]
    assert len(proxies) == 8 and all(k.endswith("/s0") for k in proxies)
    assert sorted(k for k in keys if k.startswith("baseline/")) == [
        "baseline/family_uniform/s0", "baseline/family_uniform/s1", "baseline/proportional/s0",
        "baseline/proportional/s1"]
    assert all(f"eval/{k}" in plan.specs for k in proxies)
    first = plan.specs["proxy/000/s0"]
    shares = first.labels["weights"]
    assert set(shares) == set(GROUPS) and sum(shares.values()) == pytest.approx(1.0, abs=1e-6)
    parts = {c["mixture"]["name"]: c["weight"] for c in first.config["mixture"]["components"]}
    assert parts == {f"regmix-000-{g}": w for g, w in shares.items() if w > 0}
    sizes = {"CLS": 4000, "SEM": 1000, "GEN": 6000}
    proportional = plan.specs["baseline/proportional/s0"].labels["weights"]
    assert proportional == pytest.approx({g: n / 11000 for g, n in sizes.items()})
    assert plan.specs["eval/proxy/000/s0"].eval["tasks"] == ["wordnet/antonym", "wordnet/define", "wordnet/pos"]
    again = plan_experiment(write_spec(tmp_path, tiny_regmix(compare_seeds=[0, 1]), "again.yaml"))
    assert again.hash_of == plan.hash_of  # the sampled mixtures are a function of sample_seed


def test_a_proposed_mixture_adds_only_its_runs(tmp_path):
    before = plan_experiment(write_spec(tmp_path, tiny_regmix()))
    (tmp_path / "proposal.yaml").write_text(yaml.safe_dump({"name": "p", "components": [
        {"task": "wordnet/pos", "weight": 0.7}, {"task": "wordnet/define", "weight": 0.3}]}))
    after = plan_experiment(write_spec(tmp_path, tiny_regmix(proposed="proposal.yaml"), "round2.yaml"))
    added = set(after.specs) - set(before.specs)
    assert added == {"proposed/s0", "eval/proposed/s0"}
    assert all(after.hash_of[k] == before.hash_of[k] for k in before.specs)


def test_too_few_mixtures_for_the_held_out_check(tmp_path):
    with pytest.raises(ConfigError, match=r"num_mixtures=4: 2-fold cross-validation fits on 2 runs, but a linear "
                                          r"regression over 3 groups needs 4; fix: raise num_mixtures"):
        plan_experiment(write_spec(tmp_path, tiny_regmix(num_mixtures=4)))


@pytest.mark.slow
def test_tiny_sweep_end_to_end(tmp_path, capsys):
    out = tmp_path / "out"
    result = run_experiment(write_spec(tmp_path, tiny_regmix()), out, progress=False)
    assert result.ok, result.failed
    summary = result.summary
    fit = summary.tables["regmix_fit"][0]
    assert fit["kind"] == "linear" and fit["runs"] == 8 and -1 <= fit["spearman"] <= 1
    assert len(summary.tables["regmix_runs"]) == 8
    names = [row["mixture"] for row in summary.tables["regmix_comparison"]]
    assert names[:3] == ["proposal (this round)", "proportional", "family_uniform"]
    assert (out / "regmix.png").stat().st_size > 20_000 and "held-out Spearman" in summary.notes[0]
    spec = yaml.safe_load((out / "proposed_mixture.yaml").read_text())
    assert spec["name"] == "regmix-proposal"
    from mixlab.cli import main

    capsys.readouterr()
    assert main(["search", "fit", str(out / "results.sqlite"), "--target", "mean eval_loss", "--kind", "linear",
                 "--folds", "2", "--json", "--candidates", "200", "--top-k", "10"]) == 0
    refit = json.loads(capsys.readouterr().out)
    assert refit["num_runs"] == 8 and refit["weights"]["columns"] == ["CLS", "GEN", "SEM"]
    assert main(["rates", str(out / "proposed_mixture.yaml"), "--json"]) == 0
    rates = json.loads(capsys.readouterr().out)["rates"]
    assert set(rates) <= {"wordnet/pos", "wordnet/antonym", "wordnet/define"}
