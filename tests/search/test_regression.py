"""MixtureRegression on sweeps whose true law is known (tests/search/conftest.py): recovery, ranking, errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mixlab.affinity.compare import spearman
from mixlab.errors import ConfigError, DataError
from mixlab.search import MixtureRegression, fit_mixing_law
from tests.search.conftest import C_TRUE, K_TRUE, NAMES, T_TRUE, TARGETS, make_sweep

#: held-out Spearman each kind must reach on 200 unseen mixtures of the 64-run sweep (measured: law 1.000,
#: linear 0.992-0.997, lightgbm 0.954-0.969)
THRESHOLDS = {"mixing_law": 0.99, "linear": 0.97, "lightgbm": 0.9}


@pytest.mark.parametrize("kind", sorted(THRESHOLDS))
def test_every_kind_ranks_unseen_mixtures(kind, sweep):
    weights, losses = sweep
    unseen_w, unseen_loss = make_sweep(200, seed=1, noise=0.0)
    model = MixtureRegression(kind, seed=0).fit(weights, losses)
    predicted = model.predict(unseen_w)
    assert predicted.shape == (200, 3)
    rho = {t: spearman(predicted[:, k], unseen_loss[t].to_numpy()) for k, t in enumerate(TARGETS)}
    print(kind, {t: round(v, 3) for t, v in rho.items()})
    assert min(rho.values()) > THRESHOLDS[kind]


def test_mixing_law_recovers_its_parameters_and_the_signs_of_t(sweep):
    weights, losses = sweep
    laws = MixtureRegression("mixing_law", seed=0).fit(weights, losses).mixing_laws()
    assert list(laws) == list(TARGETS)
    for k, target in enumerate(TARGETS):
        law = laws[target]
        np.testing.assert_allclose(law.t, T_TRUE[k], atol=0.1)
        assert (np.sign(law.t) == np.sign(T_TRUE[k])).all()
        assert law.c == pytest.approx(C_TRUE[k], abs=0.05) and law.k == pytest.approx(K_TRUE[k], rel=0.1)
        assert law.rmse == pytest.approx(0.01, rel=0.3)  # the noise level


def test_mixing_law_signs_survive_more_noise_and_fewer_runs():
    weights, losses = make_sweep(32, noise=0.03, seed=3)
    laws = MixtureRegression("mixing_law", seed=0).fit(weights, losses).mixing_laws()
    for k, target in enumerate(TARGETS):
        assert spearman(laws[target].t, T_TRUE[k]) >= 0.9  # the order of the sources' effects
        strong = np.abs(T_TRUE[k]) > 0.4
        assert (np.sign(laws[target].t[strong]) == np.sign(T_TRUE[k][strong])).all()


def test_fit_mixing_law_is_exact_on_noise_free_data():
    rng = np.random.default_rng(0)
    w = rng.dirichlet(np.ones(4), size=12)
    t = np.array([-0.9, 0.1, 0.3, 0.5])
    law = fit_mixing_law(w, 3.0 + 0.5 * np.exp(w @ t), seed=0)
    assert law.c == pytest.approx(3.0, abs=1e-6) and law.k == pytest.approx(0.5, rel=1e-5)
    np.testing.assert_allclose(law.t, t, atol=1e-5)


def test_dataframe_and_array_inputs_agree_and_columns_match_by_name(sweep):
    weights, losses = sweep
    from_frame = MixtureRegression("linear").fit(weights, losses["loss:cls"])
    from_array = MixtureRegression("linear").fit(weights.to_numpy(), losses["loss:cls"].to_numpy(), names=list(NAMES))
    shuffled = weights[list(reversed(NAMES))]
    assert from_frame.targets == ("loss:cls",) and from_array.targets == ("loss",)
    np.testing.assert_allclose(from_frame.predict(shuffled), from_array.predict(weights.to_numpy()))
    assert from_frame.predict(weights.iloc[:3]).shape == (3,)


def test_lightgbm_is_deterministic_from_its_seed(sweep):
    weights, losses = sweep
    a = MixtureRegression("lightgbm", seed=5).fit(weights, losses["loss:nli"]).predict(weights)
    b = MixtureRegression("lightgbm", seed=5).fit(weights, losses["loss:nli"]).predict(weights)
    np.testing.assert_array_equal(a, b)


def test_holdout_and_cross_validation_report_spearman(sweep):
    weights, losses = sweep
    model = MixtureRegression("linear", seed=0).fit(weights, losses)
    split = model.holdout(fraction=0.25)
    assert len(split.rows) == 16 and split.predicted.shape == (16, 3)
    cv = model.cross_validate(folds=4)
    assert len(cv.rows) == 64 and all(len(v) == 4 for v in cv.fold_spearman.values())
    print(split, cv, sep="\n")
    assert min(cv.spearman.values()) > 0.97 and min(split.spearman.values()) > 0.95
    assert model.cross_validate(folds=4).spearman == cv.spearman  # seeded folds
    assert "Spearman" in str(cv) and cv.summary()["num_runs"] == 64


def test_rows_that_do_not_sum_to_one_are_named():
    frame = pd.DataFrame({"a": [0.5, 0.3, 0.2], "b": [0.5, 0.6, 0.8]}, index=["r1", "r2", "r3"])
    with pytest.raises(DataError, match=r"weights row 1 \(index 'r2'\) sums to 0\.9, not 1.*normalise each row"):
        MixtureRegression("linear").fit(frame, [1.0, 2.0, 3.0])
    with pytest.raises(DataError, match=r"row 0, column 'b': -0\.1 is not a finite number >= 0"):
        MixtureRegression("linear").fit(np.array([[1.1, -0.1]]), [1.0], names=["a", "b"])


def test_unknown_and_missing_columns_at_predict(sweep):
    weights, losses = sweep
    model = MixtureRegression("linear").fit(weights, losses["loss:cls"])
    with pytest.raises(DataError, match=r"unknown column\(s\) \['extra'\]; the model was fitted on"):
        model.predict(weights.assign(extra=0.0))
    with pytest.raises(DataError, match=r"missing column\(s\) \['sum'\]; give a weight \(0 is fine\)"):
        model.predict(weights.drop(columns="sum"))
    with pytest.raises(DataError, match="does not match the 5 fitted columns"):
        model.predict(np.ones((2, 3)) / 3)


@pytest.mark.parametrize(("kind", "need"), [("linear", 6), ("mixing_law", 7), ("lightgbm", 10)])
def test_too_few_rows_for_the_model(kind, need, sweep):
    weights, losses = sweep
    with pytest.raises(DataError, match=rf"a {kind} regression over 5 weight columns needs at least {need} runs, "
                                        rf"got {need - 1}; add runs"):
        MixtureRegression(kind).fit(weights.iloc[:need - 1], losses.iloc[:need - 1])
    MixtureRegression(kind).fit(weights.iloc[:need], losses.iloc[:need])


def test_bad_settings_are_refused_early():
    with pytest.raises(ConfigError, match=r"unknown regression kind 'gp'; choose one of \['lightgbm', 'linear', "):
        MixtureRegression("gp")
    with pytest.raises(ConfigError, match="takes no params"):
        MixtureRegression("linear", params={"alpha": 1.0})
    with pytest.raises(ConfigError, match="call fit"):
        MixtureRegression("linear").predict([[1.0]])
    with pytest.raises(DataError, match="3 rows but the weights have 2"):
        MixtureRegression("linear").fit([[1.0, 0.0], [0.0, 1.0]], [1.0, 2.0, 3.0])


def test_missing_lightgbm_is_one_line_naming_the_extra(monkeypatch, sweep):
    import sys

    monkeypatch.setitem(sys.modules, "lightgbm", None)  # makes `import lightgbm` raise ImportError
    weights, losses = sweep
    with pytest.raises(ImportError) as info:
        MixtureRegression("lightgbm").fit(weights, losses)
    assert str(info.value) == ("MixtureRegression(kind='lightgbm') needs lightgbm, which is not installed: "
                               "pip install 'mixlab[search]'")
