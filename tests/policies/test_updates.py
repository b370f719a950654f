"""Each policy's update against its published formula, on fixed numbers worked out by hand."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from mixlab import ResumeError
from mixlab.policies import ODM, DoReMi, FixedSchedule, PolicySpec, StepStats, make_policy
from mixlab.policies.odm import exploration

NAMES = ["t/a", "t/b", "t/c"]


def stats(step, losses, tokens, excess=None):
    return StepStats(step=step, loss_sums=np.array(losses, float), token_counts=np.array(tokens, float),
                     excess_sums=None if excess is None else np.array(excess, float))


def test_doremi_update_matches_the_formula():
    """alpha' = softmax(log alpha + ηλ); alpha = (1 - ε)alpha' + ε/k; output: the mean of the alphas."""
    policy = DoReMi(NAMES, {"t/a": 0.5, "t/b": 0.3, "t/c": 0.2}, eta=1.0, smoothing=0.1)
    # λ = excess sums / tokens = [0.2, 0.0, 1.0]
    first = policy.observe(stats(1, [9, 9, 9], [10, 4, 5], excess=[2.0, 0.0, 5.0]))
    assert list(first.values()) == pytest.approx([0.41125358242464777, 0.21898229141850353, 0.3697641261568488],
                                                 abs=1e-15)
    by_hand = [0.5 * math.exp(0.2), 0.3, 0.2 * math.exp(1.0)]
    assert first["t/a"] == pytest.approx(0.9 * by_hand[0] / sum(by_hand) + 0.1 / 3, abs=1e-15)
    second = policy.observe(stats(2, [1, 1, 1], [1, 2, 0], excess=[0.0, 1.0, 7.0]))  # t/c has no tokens: λ = 0
    assert list(second.values()) == pytest.approx([0.3574220151228083, 0.3178517656443967, 0.324726219232795],
                                                  abs=1e-15)
    assert list(policy.average().values()) == pytest.approx([0.38433779877372803, 0.2684170285314501,
                                                             0.3472451726948219], abs=1e-15)
    assert policy.summary()["signal"] == {"t/a": 0.0, "t/b": 0.5, "t/c": 0.0}


def test_doremi_paper_defaults_and_a_zero_weight():
    policy = make_policy({"kind": "doremi", "reference": "runs/ref"}, NAMES, {"t/a": 1, "t/b": 1, "t/c": 0})
    assert (policy.eta, policy.smoothing) == (1.0, 1e-3)
    after = policy.observe(stats(1, [1, 1, 1], [1, 1, 1], excess=[0.0, 0.0, 3.0]))
    assert after["t/c"] == pytest.approx(1e-3 / 3)  # log 0 = -inf: only the smoothing brings it back
    assert sum(after.values()) == pytest.approx(1.0)


def test_odm_exploration_rate():
    assert exploration(0, 3) == 1 / 3
    assert [exploration(t, 3) for t in (1, 3, 4)] == [1 / 3, 1 / 3, pytest.approx(0.30257399765293086)]
    assert exploration(2, 2) == pytest.approx(math.sqrt(math.log(2) / 4))


def test_odm_update_matches_the_formula():
    """R̂_i += r_i/π_i for drawn tasks; π_t = (1 - Kε_t) softmax(ε_{t-1} R̂) + ε_t; π_1 is uniform."""
    policy = ODM(["t/a", "t/b"], {"t/a": 0.9, "t/b": 0.1}, reward_scale=2.0)
    assert policy.as_dict(policy.weights) == {"t/a": 0.5, "t/b": 0.5}
    # mean losses 1.0 and 0.5, rewards 2.0 and 1.0: R̂ = [4, 2]; ε_2 = sqrt(ln 2 / 4), ε_1 = 1/2
    second = policy.observe(stats(1, [3.0, 1.0], [3, 2]))
    assert policy.cumulative.tolist() == [4.0, 2.0]
    eps2 = math.sqrt(math.log(2) / 4)
    assert second["t/a"] == pytest.approx((1 - 2 * eps2) * math.exp(2.0) / (math.exp(2.0) + math.exp(1.0)) + eps2)
    assert list(second.values()) == pytest.approx([0.5386896935440508, 0.46131030645594917], abs=1e-15)
    # only t/b drawn (t/a has no tokens): reward 2 x 2.0 = 4.0 over π_2 of t/b
    third = policy.observe(stats(2, [0.0, 6.0], [0, 3]))
    assert policy.cumulative.tolist() == pytest.approx([4.0, 10.67095303100921], abs=1e-12)
    assert list(third.values()) == pytest.approx([0.35864812599506735, 0.6413518740049327], abs=1e-15)
    assert policy.t == 3


def test_fixed_schedule_reports_only_changes():
    class Ramp:  # a MixtureSchedule stand-in: t/a's share falls by 0.1 every 10 steps until step 30
        def probabilities_at(self, step):
            a = 0.7 - 0.1 * min(step // 10, 3)
            return {"t/a": a, "t/b": 1 - a, "t/c": 0.0}

    policy = FixedSchedule(NAMES, Ramp())
    assert policy.as_dict(policy.weights) == {"t/a": 0.7, "t/b": pytest.approx(0.3), "t/c": 0.0}
    changes = {s: policy.observe(stats(s, [0] * 3, [0] * 3)) for s in range(1, 45)}
    assert [s for s, w in changes.items() if w is not None] == [10, 20, 30]
    assert changes[20]["t/a"] == pytest.approx(0.5)


@pytest.mark.parametrize("spec", [{"kind": "doremi", "reference": "r", "eta": 0.5},
                                  {"kind": "odm", "reward_scale": 0.1}])
def test_state_round_trip_continues_identically(spec):
    rng = np.random.default_rng(0)
    steps = [stats(s, rng.random(3) * 5, rng.integers(0, 4, 3), excess=rng.random(3)) for s in range(1, 13)]
    straight = make_policy(spec, NAMES, {"t/a": 0.2, "t/b": 0.3, "t/c": 0.5})
    expected = [straight.observe(s) for s in steps]
    first = make_policy(spec, NAMES, {"t/a": 0.2, "t/b": 0.3, "t/c": 0.5})
    got = [first.observe(s) for s in steps[:5]]
    state = json.loads(json.dumps(first.state_dict()))
    resumed = make_policy(spec, NAMES, {"t/a": 0.2, "t/b": 0.3, "t/c": 0.5})
    resumed.load_state_dict(state)
    assert got + [resumed.observe(s) for s in steps[5:]] == expected  # exact
    with pytest.raises(ResumeError, match=r"state of a 'mixlab.policy.odm' cannot resume a mixlab.policy.doremi|"
                                          r"state of a 'mixlab.policy.doremi' cannot resume a mixlab.policy.odm"):
        other = make_policy({"kind": "odm"} if spec["kind"] == "doremi" else {"kind": "doremi", "reference": "r"},
                            NAMES, {"t/a": 1, "t/b": 1, "t/c": 1})
        other.load_state_dict(state)


def test_policy_spec_errors():
    with pytest.raises(ValueError, match=r"doremi needs reference: a finished mixlab run"):
        PolicySpec(kind="doremi")
    with pytest.raises(ValueError, match=r"reward_scale is a setting of kind 'odm' and does nothing with kind "
                                         r"'doremi'"):
        PolicySpec(kind="doremi", reference="r", reward_scale=2)
    with pytest.raises(ValueError, match=r"every does nothing with kind 'schedule'"):
        PolicySpec(kind="schedule", every=5)
    with pytest.raises(ValueError, match=r"the mixture has none"):
        make_policy({"kind": "schedule"}, NAMES, {"t/a": 1, "t/b": 1, "t/c": 1})
