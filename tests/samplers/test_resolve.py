"""The one mixture resolver: every entry point reads nested relative paths from the naming file's folder,
keeps a named mixture's plugin under overrides, and applies R and cap overrides."""

from __future__ import annotations

import ast
import importlib.util
import json
import warnings
from pathlib import Path

import pytest

import mixlab
from mixlab import ConfigError, MixtureSpec, MixtureSpecError, Registry, get_mixture
from mixlab.cli import main, rates
from mixlab.samplers import Mixture, resolve_mixture
from tests.samplers.helpers import make_task, plugin_returning

TASKS = [make_task("ex/glue_mnli", 400, "NLI", collection="ex"), make_task("ex/anli", 100, "NLI", collection="ex"),
         make_task("ex/xsum", 500, "SUM", collection="ex"),
         make_task("c4/span_corruption", 10_000, "C4", self_supervised=True)]
INNER = "tasks: {collection: ex}\nstrategy: {kind: proportional, cap: 400}\n"  # 400 : 100 : 400
OUTER = "rmix: {self_supervised: c4/span_corruption, supervised: inner.yaml, R: 1}\n"


def rmix_rates(R):
    """Rates of outer.yaml with ratio ``R``: C4 gets R / (R + 1), inner.yaml (1 : 4 : 4) the rest."""
    rest = 1 / (R + 1)
    return {"c4/span_corruption": R / (R + 1), "ex/anli": rest / 9, "ex/glue_mnli": 4 * rest / 9,
            "ex/xsum": 4 * rest / 9}


@pytest.fixture
def registry():
    return Registry.from_tasks(TASKS, distribution="mixlab-test-tasks")


@pytest.fixture
def outer(tmp_path, monkeypatch):
    """dir/outer.yaml naming dir/inner.yaml by a relative path; the current directory has neither."""
    folder = tmp_path / "dir"
    folder.mkdir()
    (folder / "inner.yaml").write_text(INNER)
    (folder / "outer.yaml").write_text(OUTER)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    return folder / "outer.yaml"


def test_relative_reference_through_get_mixture_and_spec_build(outer, registry):
    assert get_mixture(outer, registry).probabilities == pytest.approx(rmix_rates(1))
    built = MixtureSpec.from_file(outer).build(registry)  # failed: "inner.yaml does not exist (relative to cwd)"
    assert built.probabilities == pytest.approx(rmix_rates(1))
    assert MixtureSpec.from_file(outer).path == outer
    assert MixtureSpec.from_file(outer).build(registry, R=3).probabilities == pytest.approx(rmix_rates(3))
    manifest = resolve_mixture(outer, registry=registry, R=3).manifest()
    assert manifest["spec_file"] == str(outer.resolve()) and manifest["plugin"] is None
    assert manifest["spec"]["rmix"] == {"self_supervised": "c4/span_corruption", "supervised": "inner.yaml", "R": 3.0}
    assert {t["name"]: t["rate"] for t in manifest["tasks"]} == pytest.approx(rmix_rates(3))


def test_relative_reference_through_the_trainer(outer, registry):
    from mixlab.train import PretrainConfig
    from mixlab.train.data_factory import resolve_mixture as trainer_resolve

    assert trainer_resolve(str(outer), 3, registry).probabilities == pytest.approx(rmix_rates(3))  # failed like above
    assert trainer_resolve(str(outer), None, registry).probabilities == pytest.approx(rmix_rates(1))
    config_file = outer.parent / "run.yaml"
    config_file.write_text("mixture: outer.yaml\nR: 3\nsteps: 1\n")  # relative to the config's folder
    config = PretrainConfig.from_file(config_file)
    mix = trainer_resolve(config.mixture, config.R, registry)  # what build_data does
    assert mix.probabilities == pytest.approx(rmix_rates(3)) and mix.spec_file == str(outer.resolve())


def test_relative_reference_through_the_cli(outer, registry, monkeypatch, capsys):
    monkeypatch.setattr(rates, "load_registry", lambda: registry)
    assert main(["rates", str(outer), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["rates"] == pytest.approx(rmix_rates(1))
    assert main(["rates", str(outer), "--R", "3", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["rates"] == pytest.approx(rmix_rates(3))
    assert main(["rates", str(outer), "--cap", "100", "--json"]) == 0  # 100 : 100 : 100
    assert json.loads(capsys.readouterr().out)["rates"] == pytest.approx(
        {"c4/span_corruption": 0.5, "ex/anli": 1 / 6, "ex/glue_mnli": 1 / 6, "ex/xsum": 1 / 6})
    assert main(["rates", str(outer.parent / "inner.yaml"), "--R", "3"]) == 1
    assert "R=3.0 is set but mixture 'inner' is not an rmix mixture" in capsys.readouterr().err


def test_named_mixture_keeps_its_plugin_under_an_r_override(named, registry):
    from mixlab.train.data_factory import resolve_mixture as trainer_resolve

    register, _ = named
    register("sup", plugin_returning({"tasks": {"collection": "ex"}, "strategy": {"kind": "proportional",
                                                                                  "cap": 400}}))
    register("ext5", plugin_returning({"rmix": {"self_supervised": "c4/span_corruption", "supervised": "sup",
                                                "R": 2}}))
    info = {"distribution": "mixlab-fake", "version": "9.1", "entry_point": "ext5", "value": "fake_mod:ext5"}
    for mix in (resolve_mixture("ext5", registry=registry, R=3), trainer_resolve("ext5", 3, registry)):
        assert mix.manifest()["plugin"] == info  # was None with R
        assert mix.probabilities == pytest.approx(rmix_rates(3)) and mix.spec_file is None
    assert get_mixture("ext5", registry).probabilities == pytest.approx(rmix_rates(2))


@pytest.mark.skipif(importlib.util.find_spec("mixlab_wordnet") is None, reason="mixlab-wordnet plugin not installed")
def test_wordnet_ext5_with_r_3_names_the_wordnet_plugin():
    from mixlab.train import resolve_mixture as trainer_resolve

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the dev environment's deliberately broken test plugins
        registry = mixlab.load_registry()
    mix = trainer_resolve("wordnet-ext5", 3, registry)
    info = next(i for i in mixlab.samplers.mixture_entry_points() if i.name == "wordnet-ext5")
    assert mix.manifest()["plugin"] == {"distribution": info.distribution, "version": info.version,
                                        "entry_point": "wordnet-ext5", "value": info.value}
    assert info.distribution == "mixlab-wordnet"
    assert mix.probabilities["wordnet/text"] == pytest.approx(0.75)


def test_cap_override(outer, registry):
    flat = {"name": "flat", "tasks": {"collection": "ex"}, "strategy": {"kind": "proportional", "cap": 400}}
    capped = resolve_mixture(flat, registry=registry, cap=200)  # 200 : 100 : 200
    assert capped.probabilities == pytest.approx({"ex/anli": 0.2, "ex/glue_mnli": 0.4, "ex/xsum": 0.4})
    assert capped.cap == 200 and capped.description["strategy"] == {"kind": "proportional", "cap": 200}
    nested = resolve_mixture(outer, registry=registry, cap=100, R=3)  # reaches inner.yaml's strategy
    assert nested.probabilities == pytest.approx({"c4/span_corruption": 0.75, "ex/anli": 1 / 12, "ex/glue_mnli": 1 / 12,
                                          "ex/xsum": 1 / 12})
    assert nested.strategies == {"inner": {"kind": "proportional", "cap": 100, "scale": 1.0, "temperature": 1.0}}
    family = {"name": "fam", "tasks": {"collection": "ex"}, "strategy": {"kind": "family_uniform"}}
    assert resolve_mixture(family, registry=registry, cap=100).probabilities == pytest.approx(  # NLI 100:100, SUM
        {"ex/anli": 0.25, "ex/glue_mnli": 0.25, "ex/xsum": 0.5})
    uniform = {"name": "u", "tasks": {"collection": "ex"}, "strategy": {"kind": "uniform"}}
    with pytest.raises(ConfigError, match=r"cap=100 is set but mixture 'u' has no strategy that takes a cap "
                                          r"\(it uses \['uniform'\]\); fix: remove cap"):
        resolve_mixture(uniform, registry=registry, cap=100)
    with pytest.raises(ConfigError, match=r"has no strategy that takes a cap \(it uses none\)"):
        resolve_mixture({"name": "t", "components": [{"task": "ex/anli"}]}, registry=registry, cap=100)
    with pytest.raises(ConfigError, match=r"cap=0 must be a finite number > 0"):
        resolve_mixture(flat, registry=registry, cap=0)


def test_r_override_errors(registry):
    plain = {"name": "plain", "components": [{"task": "ex/anli"}]}
    with pytest.raises(ConfigError, match=r"R=2 is set but mixture 'plain' is not an rmix mixture"):
        resolve_mixture(plain, registry=registry, R=2)
    with pytest.raises(ConfigError, match=r"R=-1 must be a finite number >= 0"):
        resolve_mixture(plain, registry=registry, R=-1)
    built = resolve_mixture(plain, registry=registry)
    assert resolve_mixture(built) is built
    with pytest.raises(ConfigError, match=r"mixture 'plain' is already built; fix: pass its name"):
        resolve_mixture(built, R=2)
    with pytest.raises(TypeError, match=r"a mixture reference is a name, .* got int"):
        resolve_mixture(3, registry=registry)


def test_inline_specs_read_relative_paths_from_the_cwd_or_base(outer, registry, monkeypatch):
    inline = {"name": "inline", "components": [{"mixture": "dir/outer.yaml"}]}
    with pytest.raises(MixtureSpecError, match=r"mixture 'inline' references mixture spec file 'dir/outer.yaml', "
                                               r"but dir/outer.yaml does not exist \(relative to the current "):
        resolve_mixture(inline, registry=registry)
    tmp = outer.parent.parent
    assert resolve_mixture(inline, registry=registry, base=tmp).probabilities == pytest.approx(rmix_rates(1))
    from_spec = resolve_mixture(MixtureSpec(**inline), registry=registry, base=tmp)
    assert from_spec.probabilities == pytest.approx(rmix_rates(1))
    assert resolve_mixture("dir/outer.yaml", registry=registry, base=tmp).probabilities == pytest.approx(rmix_rates(1))
    monkeypatch.chdir(tmp)
    assert resolve_mixture(inline, registry=registry).probabilities == pytest.approx(rmix_rates(1))
    assert MixtureSpec(**inline).build(registry).probabilities == pytest.approx(rmix_rates(1))


def test_spec_build_keeps_the_file_errors(outer, registry):
    (outer.parent / "inner.yaml").unlink()
    with pytest.raises(MixtureSpecError, match=r"outer.yaml references mixture spec file 'inner.yaml', but "
                                               r".*dir/inner.yaml does not exist \(relative to .*dir, the folder "):
        MixtureSpec.from_file(outer).build(registry)
    (outer.parent / "inner.yaml").write_text("components: [{mixture: outer.yaml}]\n")
    with pytest.raises(MixtureSpecError, match=r"mixture reference cycle: .*outer\.yaml -> .*inner\.yaml -> "
                                               r".*outer\.yaml; remove one"):
        MixtureSpec.from_file(outer).build(registry)


def test_moved_names_warn_and_point_to_the_resolver():
    from mixlab.samplers import named, resolve, spec

    for old, new in (("get_mixture", resolve.get_mixture), ("spec_path", spec.spec_path),
                     ("resolve", resolve.resolve_reference), ("is_known_mixture", resolve.is_known_mixture)):
        with pytest.warns(DeprecationWarning, match=rf"mixlab.samplers.named.{old} is deprecated"):
            assert getattr(named, old) is new
    with pytest.raises(AttributeError):
        named.no_such_name  # noqa: B018
    assert mixlab.resolve_mixture is resolve_mixture and isinstance(get_mixture, type(resolve_mixture))


def test_spec_and_discovery_do_not_import_the_resolver_at_module_level():
    folder = Path(mixlab.__file__).parent / "samplers"
    for module in ("spec", "named", "mixture", "strategies"):
        tree = ast.parse((folder / f"{module}.py").read_text())
        imported = {node.module for node in tree.body if isinstance(node, ast.ImportFrom)}
        assert "mixlab.samplers.resolve" not in imported, f"samplers/{module}.py imports the resolver"
    assert Mixture.__module__ == "mixlab.samplers.mixture"
