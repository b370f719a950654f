"""Experiment specs: files, validation messages, and the protocol registry."""

from __future__ import annotations

from typing import ClassVar

import pytest

from mixlab.errors import ConfigError
from mixlab.experiments import ExperimentSpec, Protocol, get_protocol, protocol_names, register_protocol
from mixlab.experiments.protocols.base import Params, Summary
from mixlab.experiments.runs import RunSpec
from tests.experiments.helpers import EVAL, TRAIN, tiny_cotrain, write_spec


def test_yaml_and_toml_give_the_same_spec_and_the_name_defaults_to_the_file_stem(tmp_path):
    spec = tiny_cotrain()
    del spec["name"]
    from_yaml = ExperimentSpec.from_file(write_spec(tmp_path, spec, "my-study.yaml"))
    toml = tmp_path / "my-study.toml"
    toml.write_text(
        'protocol = "cotrain"\n[train]\nmodel = "tiny"\ntokenizer = "mixlab_wordnet:tokenizer_path"\nbatch_size = 4\n'
        'input_length = 32\ntarget_length = 12\nlearning_rate = 0.01\nwarmup_steps = 2\nlog_interval = 2\n'
        '[train.backend]\nprecision = "fp32"\ndevice = "cpu"\n'
        '[eval]\nmax_examples = 8\nscorer = "teacher_forced"\nmetric = "eval_accuracy"\n'
        '[params]\nsteps = 4\n[params.groups]\nCLS = ["wordnet/pos"]\nSEM = ["wordnet/antonym"]\n')
    from_toml = ExperimentSpec.from_file(toml)
    assert from_yaml.name == from_toml.name == "my-study"
    assert from_yaml.to_dict() == from_toml.to_dict()
    assert from_yaml.path == (tmp_path / "my-study.yaml").resolve() and from_yaml.base == tmp_path.resolve()


def test_eval_defaults_follow_the_scorer():
    spec = ExperimentSpec(**{**tiny_cotrain(), "eval": {}})
    assert (spec.eval.scorer, spec.eval.metric, spec.eval.higher_is_better) == ("task_metrics", "score", True)
    forced = ExperimentSpec(**{**tiny_cotrain(), "eval": {"scorer": "teacher_forced"}})
    assert forced.eval.metric == "eval_accuracy"


@pytest.mark.parametrize(("change", "message"), [
    ({"protocol": "cotrian"}, r"unknown protocol 'cotrian'; choose one of \['cotrain', "),
    ({"params": {"groups": {"A": ["wordnet/pos"], "B": ["wordnet/antonym"]}}}, r"params\.steps: Field required"),
    ({"params": {"groups": {"A": ["wordnet/pos"]}, "steps": 4}}, r"at least 2 groups"),
    ({"params": {"families": ["NLI", "CLS"], "groups": {"A": []}, "steps": 4}}, r"exactly one of groups"),
    ({"params": {"groups": {"A": ["wordnet/pos"], "B": ["wordnet/antonym"]}, "steps": 4, "data_steps": 4}},
     r"data_steps 4 must be below steps 4"),
    ({"train": {**TRAIN, "mixture": "wordnet"}}, r"\['mixture'\] are set by the protocol for each run"),
    ({"eval": {**EVAL, "metric": "score"}}, r"metric 'score' is not written by scorer 'teacher_forced'"),
    ({"eval": {**EVAL, "metric": "eval_loss"}}, r"cotrain .* needs a higher-is-better score; eval\.metric 'eval_loss'"),
    ({"seeds": [0, 1, 0]}, r"seeds repeat: \[0, 1, 0\]"),
    ({"name": "has space"}, r"name: String should match pattern"),
])
def test_invalid_specs_say_what_and_how_to_fix(change, message):
    with pytest.raises(ConfigError, match=message):
        ExperimentSpec(**{**tiny_cotrain(), **change})


def test_a_spec_file_error_names_the_file(tmp_path):
    path = write_spec(tmp_path, {**tiny_cotrain(), "protocol": "nope"})
    with pytest.raises(ConfigError, match=rf"^{tmp_path}.*spec\.yaml: invalid experiment spec 'tiny-cotrain'"):
        ExperimentSpec.from_file(path)
    with pytest.raises(ConfigError, match=r"does not exist; fix: give a \.yaml/\.toml/\.json file"):
        ExperimentSpec.from_file(tmp_path / "missing.yaml")


class _EchoParams(Params):
    steps: int


class _Echo(Protocol):
    """A protocol defined outside mixlab: one pre-training run and its eval."""

    name = "test-echo"
    title = "echo"
    params_model: ClassVar[type[Params]] = _EchoParams

    def expand(self, spec, registry):
        config = {**spec.train, "steps": spec.params["steps"], "mixture": "wordnet", "seed": 0}
        return [RunSpec(key="only", kind="pretrain", config=config)]

    def summarize(self, spec, results, out):
        return Summary(title="echo", tables={"echo": [{"tokens": results.tokens("only")}]})


def test_register_a_protocol_and_use_it_in_a_spec():
    register_protocol(_Echo)
    assert "test-echo" in protocol_names() and get_protocol("test-echo") is _Echo
    spec = ExperimentSpec(name="e", protocol="test-echo", train=TRAIN, params={"steps": 3})
    assert spec.params == {"steps": 3}
    with pytest.raises(ConfigError, match=r"params\.steps: Input should be a valid integer"):
        ExperimentSpec(name="e", protocol="test-echo", train=TRAIN, params={"steps": "many"})

    class Other(_Echo):
        pass

    with pytest.raises(ValueError, match=r"protocol 'test-echo' is already registered by .*_Echo"):
        register_protocol(Other)


def test_builtin_protocols_are_listed_with_their_paper_section():
    titles = {name: get_protocol(name).title for name in ("cotrain", "r_sweep", "task_scaling",
                                                           "pretrain_vs_prefinetune", "sample_efficiency")}
    assert titles["cotrain"].endswith("(ExT5 §2.1, Table 2)")
    assert titles["r_sweep"].endswith("(ExT5 §2.4, Figure 3)")
    assert titles["task_scaling"].endswith("(ExT5 §2.5, Figure 4)")
    assert titles["pretrain_vs_prefinetune"].endswith("(ExT5 §2.3, Table 4)")
    assert titles["sample_efficiency"].endswith("(ExT5 §2.6, Figure 5)")
