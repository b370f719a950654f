"""propose(): RegMix's Dirichlet candidates within caps and epoch limits, seeded, averaged over the top k;
the proposal as a Mixture and as a spec file over the embedded WordNet tasks."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import mixlab
from mixlab.errors import ConfigError, TaskNotFoundError
from mixlab.search import Constraints, MixtureRegression, sample_mixtures
from mixlab.search.sampling import cap_rows
from tests.search.conftest import NAMES, true_loss


@pytest.fixture(scope="module")
def registry():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the dev environment's deliberately broken test plugins
        return mixlab.load_registry()


def test_proposal_is_the_top_k_mean_and_beats_the_sweep(sweep):
    weights, losses = sweep
    model = MixtureRegression("mixing_law", seed=0).fit(weights, losses)
    proposal = model.propose(4000, top_k=40, target="loss:nli")
    assert proposal.target == "loss:nli" and proposal.top_k == 40 and proposal.num_candidates == 4000
    assert sum(proposal.weights.values()) == pytest.approx(1.0)
    assert max(proposal.weights, key=proposal.weights.get) == "nli"  # t is most negative for nli -> nli
    mix = np.array([list(proposal.weights.values())])
    truth = float(true_loss(mix)[0, 2])
    assert truth < losses["loss:nli"].min()  # better than every run of the sweep
    assert proposal.predicted == pytest.approx(truth, abs=0.02)
    assert proposal.best <= proposal.top_k_mean and proposal.spread >= 0
    assert set(proposal.weight_spread) == set(NAMES)


def test_objective_defaults_to_the_mean_of_targets_and_can_be_maximised(sweep):
    weights, losses = sweep
    model = MixtureRegression("linear", seed=0).fit(weights, losses)
    assert model.propose(500, top_k=10).target == "mean of loss:cls, loss:dlg, loss:nli"
    with pytest.raises(ConfigError, match=r"unknown target 'acc'; this regression predicts \['loss:cls'"):
        model.propose(500, top_k=10, target="acc")
    accuracy = MixtureRegression("linear", seed=0, higher_is_better=True).fit(weights, -losses["loss:cls"])
    best = accuracy.propose(2000, top_k=20)
    assert max(best.weights, key=best.weights.get) == "cls" and best.predicted > (-losses["loss:cls"]).max()


def test_propose_is_seeded(sweep):
    weights, losses = sweep
    model = MixtureRegression("lightgbm", seed=0).fit(weights, losses["loss:cls"])
    a, b = model.propose(2000, top_k=20, seed=3), model.propose(2000, top_k=20, seed=3)
    c = model.propose(2000, top_k=20, seed=4)
    assert a == b and a.weights != c.weights


def test_caps_and_epochs_bound_every_candidate_and_the_proposal(sweep):
    weights, losses = sweep
    sizes = {"cls": 1000, "dlg": 5000, "nli": 8000, "qa": 2000, "sum": 4000}
    limits = Constraints(caps={"nli": 0.25}, max_epochs=2, budget=10_000, sizes=sizes)
    bounds = limits.upper_bounds(NAMES)  # cls: 2 * 1000 / 10000 = 0.2; nli: cap 0.25; qa: 0.4
    np.testing.assert_allclose(bounds, [0.2, 1.0, 0.25, 0.4, 0.8])
    candidates = sample_mixtures(NAMES, 5000, constraints=limits, seed=0)
    assert (candidates <= bounds + 1e-9).all() and np.allclose(candidates.sum(axis=1), 1.0)
    model = MixtureRegression("mixing_law", seed=0).fit(weights, losses)
    proposal = model.propose(5000, top_k=50, constraints=limits, target="loss:nli")
    assert proposal.weights["nli"] == pytest.approx(0.25, abs=1e-6)  # wants all nli, gets its cap
    assert all(proposal.weights[n] <= b + 1e-9 for n, b in zip(NAMES, bounds, strict=True))
    assert proposal.constraints["caps"] == {"nli": 0.25} and proposal.constraints["max_epochs"] == 2


def test_the_prior_is_the_token_share_by_default_when_sizes_are_given():
    sizes = {"a": 8000.0, "b": 1000.0, "c": 1000.0}
    draws = sample_mixtures(list(sizes), 20_000, constraints=Constraints(sizes=sizes), seed=0,
                            strengths=(50.0, 50.0), num_strengths=1)
    np.testing.assert_allclose(draws.mean(axis=0), [0.8, 0.1, 0.1], atol=0.01)
    near_one_hot = sample_mixtures(list(sizes), 5000, prior="uniform", seed=0, strengths=(0.1, 0.1),
                                   num_strengths=1)
    assert np.median(near_one_hot.max(axis=1)) > 0.9  # low strength: RegMix's diverse, peaked mixtures


def test_capping_shares_the_excess_by_weight_then_by_headroom():
    capped = cap_rows(np.array([[0.7, 0.2, 0.1], [1.0, 0.0, 0.0]]), np.array([0.5, 1.0, 1.0]))
    np.testing.assert_allclose(capped[0], [0.5, 0.2 + 0.2 * 2 / 3, 0.1 + 0.2 / 3])
    np.testing.assert_allclose(capped[1], [0.5, 0.25, 0.25])


def test_constraint_errors_name_the_fix():
    with pytest.raises(ConfigError, match=r"sum to 0\.5 < 1, so no mixture fits"):
        Constraints(caps={"a": 0.25, "b": 0.25}).upper_bounds(["a", "b"])
    with pytest.raises(ConfigError, match=r"constraints\.caps names \['z'\], which are not weight columns"):
        Constraints(caps={"z": 0.5}).upper_bounds(["a", "b"])
    with pytest.raises(ConfigError, match="max_epochs needs budget and sizes"):
        Constraints(max_epochs=2)
    with pytest.raises(ConfigError, match=r"caps \{'a': 1\.5\} must lie in \(0, 1\]"):
        Constraints(caps={"a": 1.5})
    with pytest.raises(ConfigError, match=r"prior='sizes' needs constraints\.sizes"):
        sample_mixtures(["a", "b"], 3, prior="sizes")


def wordnet_sweep(registry, by: str, num_runs: int = 24):
    """A sweep over WordNet tasks or families whose loss falls with the share of 'define'-like data."""
    tasks = registry.select(collection="wordnet", tag="supervised")
    names = sorted({t.name if by == "task" else t.family for t in tasks})
    rng = np.random.default_rng(0)
    weights = pd.DataFrame(rng.dirichlet(np.ones(len(names)), size=num_runs), columns=names)
    helpful = "wordnet/define" if by == "task" else "Generation"
    return weights, 3.0 - weights[helpful] + 0.2 * weights.iloc[:, -1]


def test_proposal_as_a_mixture_and_a_spec_over_wordnet_tasks(registry, tmp_path):
    weights, loss = wordnet_sweep(registry, "task")
    proposal = MixtureRegression("linear", seed=0).fit(weights, loss).propose(2000, top_k=20, constraints={
        "caps": {"wordnet/define": 0.5}})
    mix = proposal.mixture(registry, name="regmix-wordnet")
    assert isinstance(mix, mixlab.Mixture) and mix.name == "regmix-wordnet"
    assert mix.probabilities["wordnet/define"] == pytest.approx(0.5, abs=1e-5)
    path = proposal.write_spec(tmp_path / "proposal.yaml", registry)
    again = mixlab.resolve_mixture(str(path), registry=registry)
    assert again.name == "proposal"
    for task, p in mix.probabilities.items():
        assert again.probabilities[task] == pytest.approx(p, abs=1e-5)


def test_family_columns_become_examples_proportional_sub_mixtures(registry, tmp_path):
    weights, loss = wordnet_sweep(registry, "family")
    caps = {family: 0.3 for family in weights.columns}  # spread the proposal over at least 4 families
    proposal = MixtureRegression("linear", seed=0).fit(weights, loss).propose(2000, top_k=20, constraints={
        "caps": caps})
    assert proposal.weights["Classification"] > 0.01
    mix = proposal.mixture(registry, collection="wordnet")
    for family, p in proposal.weights.items():
        assert mix.families.get(family, 0.0) == pytest.approx(p, abs=1e-5)
    # Classification holds pos (4000) and supersense (1500): split 8:3 inside the family
    pos, supersense = mix.probabilities["wordnet/pos"], mix.probabilities["wordnet/supersense"]
    assert pos / supersense == pytest.approx(4000 / 1500, rel=1e-4)
    spec = proposal.spec(registry, collection="wordnet")
    assert {c["mixture"]["name"] for c in spec["components"]} <= {f"family:{f}" for f in weights.columns}


def test_unknown_column_in_a_spec_is_named(registry):
    weights = pd.DataFrame({"Pile-CC": [0.5, 0.2, 0.9], "ArXiv": [0.5, 0.8, 0.1]})
    proposal = MixtureRegression("linear").fit(weights, [1.0, 2.0, 0.5]).propose(100, top_k=5)
    assert proposal.spec()["components"][0]["task"] in {"Pile-CC", "ArXiv"}  # no registry: names as tasks
    with pytest.raises(TaskNotFoundError, match=r"weight column\(s\) \['Pile-CC', 'ArXiv'\] are neither registered "
                                                r"tasks nor families"):
        proposal.spec(registry)
