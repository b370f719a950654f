"""Planning: what each protocol expands into, and what a run's hash does and does not cover."""

from __future__ import annotations

from pathlib import Path

import mixlab_wordnet
import pytest

from mixlab.errors import ConfigError
from mixlab.experiments import ExperimentSpec, plan_experiment
from mixlab.experiments.runs import RunSpec, make_plan
from tests.experiments.helpers import EXAMPLES, TRAIN, examples, tiny_cotrain


def plan(spec: dict, **kw):
    return plan_experiment(ExperimentSpec(**spec), **kw)


def kinds(found) -> dict[str, int]:
    return {kind: sum(r.kind == kind for r in found.runs) for kind in ("pretrain", "finetune", "eval")}


def test_cotrain_trains_each_group_alone_and_each_pair_and_scores_both_budgets():
    groups = {"CLS": ["wordnet/pos", "wordnet/supersense"], "SEM": ["wordnet/antonym"], "RC": ["wordnet/cloze"]}
    found = plan(tiny_cotrain(groups=groups, steps=6))
    assert kinds(found) == {"pretrain": 3 + 3, "finetune": 0, "eval": 2 * 3 + 3}  # F + F(F-1)/2 trainings
    pair = found.run("pair/CLS+SEM/s0")
    spec = pair.config["mixture"]
    assert [c["weight"] for c in spec["components"]] == [1.0, 1.0]  # family-uniform between the groups
    assert spec["components"][0]["mixture"]["strategy"] == {"kind": "proportional"}  # proportional within
    alone = found.run("alone/CLS/s0")
    assert (alone.config["checkpoint_interval"], alone.config["keep_checkpoints"]) == (3, 2)
    assert alone.needed_steps == (3, 6)  # the data budget (steps // 2) and the compute budget
    data_eval = found.specs["eval/alone/CLS/s0/data"]
    assert (data_eval.parent, data_eval.parent_step, data_eval.eval["tasks"]) == (
        "alone/CLS/s0", 3, ["wordnet/pos", "wordnet/supersense"])
    assert found.specs["eval/pair/CLS+SEM/s0"].eval["tasks"] == ["wordnet/antonym", "wordnet/pos",
                                                                 "wordnet/supersense"]


def test_hashes_ignore_keys_names_and_folders_but_follow_what_is_computed():
    first, again = plan(tiny_cotrain()), plan(tiny_cotrain())
    assert first.hash_of == again.hash_of  # deterministic
    renamed = plan(tiny_cotrain(groups={"X": ["wordnet/pos"], "Y": ["wordnet/antonym"]}))
    assert renamed.hash_of["alone/X/s0"] == first.hash_of["alone/CLS/s0"]  # group names are labels only
    assert renamed.hash_of["eval/pair/X+Y/s0"] == first.hash_of["eval/pair/CLS+SEM/s0"]
    slower = plan({**tiny_cotrain(), "train": {**TRAIN, "learning_rate": 0.02}})
    assert slower.hash_of["alone/CLS/s0"] != first.hash_of["alone/CLS/s0"]
    assert slower.hash_of["eval/alone/CLS/s0"] != first.hash_of["eval/alone/CLS/s0"]  # through the parent hash
    more = plan({**tiny_cotrain(), "eval": {"max_examples": 9, "scorer": "teacher_forced"}})
    assert more.hash_of["alone/CLS/s0"] == first.hash_of["alone/CLS/s0"]  # eval settings: eval runs only
    assert more.hash_of["eval/alone/CLS/s0"] != first.hash_of["eval/alone/CLS/s0"]
    by_path = plan({**tiny_cotrain(), "train": {**TRAIN, "tokenizer": mixlab_wordnet.tokenizer_path()}})
    assert by_path.hash_of == first.hash_of  # the tokenizer counts by its content, not how it is named


def test_runs_with_equal_configs_are_one_run_with_several_keys():
    found = plan_experiment(EXAMPLES / "wordnet_task_scaling.yaml")
    no_tasks = {found.hash_of[f"b16/k0/subset{s}/s0"] for s in (0, 1, 2)}
    assert len(no_tasks) == 1  # the 0-task subsets are all "the corpus alone"
    shared = found.by_hash()[no_tasks.pop()]
    assert shared.keys == ("b16/k0/subset0/s0", "b16/k0/subset1/s0", "b16/k0/subset2/s0")


def test_task_scaling_subsets_are_nested_and_seeded():
    from mixlab.experiments import get_protocol
    from mixlab.registry import load_registry

    spec = ExperimentSpec.from_file(EXAMPLES / "wordnet_task_scaling.yaml")
    orders = get_protocol("task_scaling")().subsets(spec, load_registry())
    assert sorted(orders) == [0, 1, 2] and all(len(order) == 5 for order in orders.values())
    assert not {"wordnet/pos", "wordnet/supersense"} & set(orders[0])  # the targets are excluded
    found = plan_experiment(spec)
    for k_small, k_big in ((1, 3), (3, 5)):
        small = found.run(f"b16/k{k_small}/subset1/s0").config["mixture"]["rmix"]["supervised"]["tasks"]
        big = found.run(f"b16/k{k_big}/subset1/s0").config["mixture"]["rmix"]["supervised"]["tasks"]
        assert set(small) < set(big) and len(small) == k_small


def test_sample_efficiency_keeps_every_checkpoint_it_fine_tunes_from():
    found = plan_experiment(EXAMPLES / "wordnet_sample_efficiency.yaml")
    pretrain = found.run("ExT5/s0")
    assert (pretrain.config["steps"], pretrain.config["checkpoint_interval"], pretrain.config["keep_checkpoints"]) \
        == (120, 30, 4)
    assert pretrain.needed_steps == (30, 60, 120)
    finetune = found.run("ExT5/s0/step60/finetune")
    assert finetune.kind == "finetune" and finetune.spec.parent_step == 60
    assert finetune.config["lr_schedule"] == "constant" and finetune.config["model"]["dropout_rate"] == 0.1


def test_r_sweep_ratios_and_the_no_supervised_line():
    found = plan_experiment(EXAMPLES / "wordnet_r_sweep.yaml")
    assert found.run("R=0/s0").config["mixture"] == "wordnet"  # R = 0: the supervised mixture alone
    assert found.run("R=2/s0").config["mixture"]["rmix"]["R"] == 2
    assert found.run("R=inf/s0").config["mixture"]["tasks"] == ["wordnet/text"]  # the dashed line
    assert found.run("R=4/s0").mixture == "r-sweep-R4"
    assert sorted({r.spec.labels["R"] for r in found.runs}) == ["0", "1", "2", "4", "inf"]


@pytest.mark.parametrize("example", examples(), ids=lambda p: p.stem)
def test_every_example_spec_plans(example: Path):
    found = plan_experiment(example, check_files=example.stem.startswith("wordnet"))
    assert found.runs and all(r.kind in ("pretrain", "finetune", "eval") for r in found.runs)
    evals = [r for r in found.runs if r.kind == "eval"]
    assert evals and all(r.parent_hash in found.by_hash() for r in evals)


def test_plan_errors_name_the_run():
    with pytest.raises(ConfigError, match=r"two runs share the key 'a'"):
        make_plan([RunSpec(key="a", kind="pretrain", config={"steps": 1}),
                   RunSpec(key="a", kind="pretrain", config={"steps": 2})], lambda run: {"hashed": {}})
    with pytest.raises(ConfigError, match=r"run 'b' starts from run 'missing', which the experiment does not have"):
        make_plan([RunSpec(key="b", kind="finetune", config={"steps": 1}, parent="missing")],
                  lambda run: {"hashed": {}})
    bad = tiny_cotrain(groups={"CLS": ["wordnet/pos"], "NOPE": ["wordnet/nothing_like_this"]})
    with pytest.raises(ConfigError, match=r"params\.groups\.NOPE"):
        plan(bad)
    with pytest.raises(ConfigError, match=r"(?s)run 'alone/CLS/s0': invalid pretrain config.*batch_size"):
        plan({**tiny_cotrain(), "train": {**TRAIN, "batch_size": 0}})
