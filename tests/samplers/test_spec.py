"""Mixture specs: shapes, files (YAML, TOML, JSON), named mixtures through entry points, errors."""

from __future__ import annotations

import json

import pytest

import mixlab
from mixlab import MixtureSpec, MixtureSpecError, PluginError, Registry, TaskNotFoundError, get_mixture
from mixlab.samplers import list_mixtures, mixture_plugin
from tests.samplers.helpers import make_task, plugin_returning

TASKS = [make_task("ex/glue_mnli", 400, "NLI"), make_task("ex/anli", 100, "NLI"),
         make_task("ex/xsum", 500, "SUM"), make_task("c4/span_corruption", 10_000, "C4", self_supervised=True)]
for t in TASKS[:3]:
    object.__setattr__(t, "collection", "ex")


@pytest.fixture
def registry():
    return Registry.from_tasks(TASKS, distribution="mixlab-test-tasks")


def test_selector_strategy_spec(registry):
    spec = MixtureSpec(name="ex", tasks={"collection": "ex"}, strategy={"kind": "proportional", "cap": 400})
    mix = spec.build(registry)
    assert mix.probabilities == pytest.approx({"ex/anli": 1 / 9, "ex/glue_mnli": 4 / 9, "ex/xsum": 4 / 9})
    assert mix.manifest()["spec"] == {"name": "ex", "tasks": {"collection": "ex"},
                                      "strategy": {"kind": "proportional", "cap": 400}}
    assert mix.manifest()["tasks"][0]["plugin"]["distribution"] == "mixlab-test-tasks"
    family = MixtureSpec(name="fu", tasks={"collection": "ex"}, strategy={"kind": "family_uniform"}).build(registry)
    assert family.families == {"NLI": 0.5, "SUM": 0.5}
    listed = MixtureSpec(name="l", tasks=["ex/xsum", "ex/*nli"], strategy={"kind": "uniform"}).build(registry)
    assert list(listed.probabilities) == ["ex/anli", "ex/glue_mnli", "ex/xsum"]


def test_components_and_rmix_specs(registry):
    inner = {"name": "nli", "tasks": {"family": "nli"}, "strategy": {"kind": "proportional"}}
    spec = MixtureSpec(name="c", components=[{"task": "ex/xsum", "weight": 2.0}, {"mixture": inner, "weight": 2.0}])
    assert spec.build(registry).probabilities == pytest.approx({"ex/anli": 0.1, "ex/glue_mnli": 0.4, "ex/xsum": 0.5})
    rmix = MixtureSpec(name="r", rmix={"self_supervised": "c4/span_corruption", "supervised": inner, "R": 2})
    assert rmix.build(registry).probabilities == pytest.approx(
        {"c4/span_corruption": 2 / 3, "ex/anli": 0.2 / 3, "ex/glue_mnli": 0.8 / 3})


YAML = """
name: ext5-small
rmix: {self_supervised: c4/span_corruption, supervised: {name: sup, tasks: {collection: ex},
       strategy: {kind: proportional, cap: 400}}, R: 1, unit: examples}
"""
TOML = """
name = "fam"
[tasks]
family = "NLI"
[strategy]
kind = "temperature"
temperature = 2.0
"""


def test_spec_files(tmp_path, registry):
    (tmp_path / "a.yaml").write_text(YAML)
    (tmp_path / "b.toml").write_text(TOML)
    (tmp_path / "c.json").write_text(json.dumps({"components": [{"task": "ex/anli", "weight": 1}]}))
    assert get_mixture(tmp_path / "a.yaml", registry).probabilities["c4/span_corruption"] == 0.5
    assert get_mixture(str(tmp_path / "b.toml"), registry).probabilities == pytest.approx(
        {"ex/anli": 1 / 3, "ex/glue_mnli": 2 / 3})
    mix = get_mixture(tmp_path / "c.json", registry)
    assert mix.name == "c" and mix.probabilities == {"ex/anli": 1.0}
    (tmp_path / "bad.yaml").write_text("name: [unclosed\n")
    with pytest.raises(MixtureSpecError, match=r"bad.yaml: not valid YAML"):
        get_mixture(tmp_path / "bad.yaml", registry)
    with pytest.raises(MixtureSpecError, match=r"missing.toml: cannot read mixture spec"):
        get_mixture(tmp_path / "missing.toml", registry)
    (tmp_path / "list.json").write_text("[1, 2]")
    with pytest.raises(MixtureSpecError, match=r"must be a mapping, got list"):
        get_mixture(tmp_path / "list.json", registry)


@pytest.mark.parametrize(("data", "match"), [
    ({"name": "m"}, r"give exactly one of tasks \(\+ strategy\), components, rmix or schedule; got none"),
    ({"name": "m", "tasks": {"collection": "ex"}}, r"tasks need a strategy"),
    ({"name": "m", "tasks": {}, "strategy": {"kind": "uniform"}}, r"needs at least one of collection"),
    ({"name": "m", "tasks": ["ex/anli"], "strategy": {"kind": "proportional", "cap": 0}},
     r"strategy: .*cap must be finite and > 0.*fix: write e.g. strategy"),
    ({"name": "m", "components": [{"task": "ex/anli", "weight": -1}]}, r"components.0.weight: weight must be a finite"),
    ({"name": "m", "components": [{"task": "ex/anli", "mixture": "x"}]}, r"exactly one of task or mixture"),
    ({"name": "m", "components": []}, r"components is empty"),
    ({"name": "m", "rmix": {"self_supervised": "a/b", "supervised": "c/d", "R": -2}}, r"rmix.R: R must be a finite"),
    ({"name": "m", "rmix": {"self_supervised": "a/b", "supervised": "c/d", "R": 2, "unit": "bytes"}}, r"rmix.unit"),
    ({"name": "m", "components": [{"task": "ex/anli"}], "strategy": {"kind": "uniform"}}, r"strategy applies only"),
    ({"name": "m", "components": [{"task": "ex/anli"}], "weights": 3}, r"weights: Extra inputs"),
])
def test_bad_specs(data, match):
    with pytest.raises(MixtureSpecError, match=match):
        MixtureSpec(**data)


def test_unknown_names(registry):
    with pytest.raises(TaskNotFoundError, match=r"no task named 'ex/glue_mnlli'; did you mean 'ex/glue_mnli'"):
        MixtureSpec(name="m", components=[{"task": "ex/glue_mnlli"}]).build(registry)
    with pytest.raises(MixtureSpecError, match=r"tasks \{'family': 'QA'\} match no registered task"):
        MixtureSpec(name="m", tasks={"family": "QA"}, strategy={"kind": "uniform"}).build(registry)
    with pytest.raises(MixtureSpecError, match=r"pattern 'zz/\*' matches no registered task"):
        MixtureSpec(name="m", tasks=["zz/*"], strategy={"kind": "uniform"}).build(registry)


def test_named_mixture_through_entry_points(named, registry):
    register, loaded = named
    register("ex-prop", plugin_returning({"tasks": {"collection": "ex"}, "strategy": {"kind": "uniform"}}))
    register("ext5", plugin_returning({"rmix": {"self_supervised": "c4/span_corruption", "supervised": "ex-prop",
                                                "R": 2}}))
    register("broken", RuntimeError("boom"))
    assert list_mixtures() == ["broken", "ex-prop", "ext5"] and loaded == []
    mix = get_mixture("ext5", registry)
    assert loaded == ["ext5", "ex-prop"]  # only what was asked for (and what it references)
    assert mix.probabilities["c4/span_corruption"] == pytest.approx(2 / 3)
    assert mix.probabilities["ex/xsum"] == pytest.approx(1 / 9)
    manifest = mix.manifest()
    assert manifest["plugin"] == {"distribution": "mixlab-fake", "version": "9.1", "entry_point": "ext5",
                                  "value": "fake_mod:ext5"}
    with pytest.raises(PluginError,
                       match=r"mixture plugin 'broken' \(mixlab-fake 9.1, fake_mod:broken\): import failed"):
        get_mixture("broken", registry)
    with pytest.raises(TaskNotFoundError, match=r"no mixture named 'ex-prp'; did you mean 'ex-prop'"):
        get_mixture("ex-prp", registry)
    with pytest.raises(TaskNotFoundError, match=r"no task named 'nothing'"):
        MixtureSpec(name="r", rmix={"self_supervised": "nothing", "supervised": "ex-prop", "R": 1}).build(registry)


def test_named_mixture_errors(named, registry):
    register, _ = named
    register("a", plugin_returning({"components": [{"mixture": "b"}]}))
    register("b", plugin_returning({"components": [{"task": "ex/anli"}, {"mixture": "a"}]}))
    register("undecorated", lambda: {"components": [{"task": "ex/anli"}]})
    register("renamed", plugin_returning({"name": "other", "components": [{"task": "ex/anli"}]}))
    register("future", mixture_plugin(api=7)(lambda: {}))
    with pytest.raises(MixtureSpecError, match=r"mixture reference cycle: a -> b -> a"):
        get_mixture("a", registry)
    with pytest.raises(PluginError,
                       match=r"declares no plugin API version; decorate it with @mixlab.mixture_plugin\(api=1\)"):
        get_mixture("undecorated", registry)
    with pytest.raises(PluginError, match=r"returns a spec named 'other'"):
        get_mixture("renamed", registry)
    with pytest.raises(PluginError, match=r"targets plugin API 7"):
        get_mixture("future", registry)


def test_public_names():
    assert mixlab.mixture_plugin is mixture_plugin
    assert mixlab.strategies.Proportional(cap=1).cap == 1
    assert plugin_returning({})().__class__ is dict
    assert plugin_returning({}).__mixlab_plugin_api__ == 1


def test_nested_spec_paths_are_relative_to_the_file_naming_them(tmp_path, monkeypatch, registry, named):
    register, _ = named
    register("nli", plugin_returning({"tasks": {"family": "NLI"}, "strategy": {"kind": "uniform"}}))
    (tmp_path / "dir" / "sub").mkdir(parents=True)
    (tmp_path / "dir" / "b.yaml").write_text("components: [{task: ex/xsum}]\n")
    (tmp_path / "dir" / "sub" / "c.yaml").write_text(
        "rmix: {self_supervised: c4/span_corruption, supervised: ../b.yaml, R: 1}\n")
    absolute = tmp_path / "abs.json"
    absolute.write_text(json.dumps({"components": [{"task": "ex/anli"}]}))
    (tmp_path / "dir" / "a.yaml").write_text(
        f"components: [{{mixture: b.yaml}}, {{mixture: sub/c.yaml}}, {{mixture: {absolute}}}, {{mixture: nli}},\n"
        "             {mixture: {name: inline, components: [{mixture: b.yaml}]}}]\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # the current directory has none of these files
    mix = get_mixture(tmp_path / "dir" / "a.yaml", registry)
    assert mix.probabilities == pytest.approx({"c4/span_corruption": 0.1, "ex/anli": 0.3, "ex/glue_mnli": 0.1,
                                       "ex/xsum": 0.5})
    monkeypatch.chdir(tmp_path)
    assert get_mixture("dir/a.yaml", registry).probabilities == mix.probabilities
    (tmp_path / "b.yaml").write_text("components: [{task: ex/xsum}]\n")  # in the cwd, not next to the referrer
    (tmp_path / "dir" / "b.yaml").unlink()
    with pytest.raises(MixtureSpecError, match=r"dir/a.yaml references mixture spec file 'b.yaml', but "
                                               r".*dir/b.yaml does not exist \(relative to .*dir, the folder of "):
        get_mixture("dir/a.yaml", registry)
    (tmp_path / "dir" / "a.yaml").write_text("components: [{mixture: no-such-mix}]\n")
    with pytest.raises(TaskNotFoundError, match=r"dir/a.yaml references no mixture named 'no-such-mix'"):
        get_mixture("dir/a.yaml", registry)
