"""The entry-point registry, with the good and broken test plugins installed (tests/plugins/)."""

import subprocess
import sys

import pytest

import mixlab
from mixlab import DuplicateTaskError, PluginError, Registry, TaskNotFoundError
from mixlab.registry.plugins import discover

from .test_task import make_task

BROKEN = {
    "broken_import": r"import failed: ModuleNotFoundError: No module named 'mixlab_dependency_that_is_not_installed'",
    "broken_missing_attr": r"import failed: AttributeError: .*has no attribute 'does_not_exist'",
    "broken_raises": r"raised while providing tasks: RuntimeError: database of tasks is on fire",
    "broken_not_task": r"returned dict \{'name': 'broken/dict'\}, not a mixlab.Task",
    "broken_not_iterable": r"returned int, not an iterable of Task",
    "broken_invalid_task": r"TaskSpecError: invalid task 'broken/neg': num_examples: negative example counts",
    "broken_no_api": r"declares no plugin API version; decorate it with @mixlab.task_plugin\(api=1\)",
    "broken_future_api": r"targets plugin API 99; this mixlab supports \[1\]",
}


@pytest.fixture(scope="module")
def registry():
    return mixlab.load_registry()


def test_broken_plugins_do_not_take_the_registry_down(registry):
    assert {"testgood/qa", "testgood/qa_small", "testgood/from_module"} <= set(registry.names())
    errors = {e.plugin.name: e for e in registry.load_errors}
    assert set(BROKEN) <= set(errors)
    for name, pattern in BROKEN.items():
        error = errors[name]
        assert error.plugin.distribution == "mixlab-testplugins-broken"
        assert error.plugin.version == "6.6.6"
        assert isinstance(error.error, PluginError)
        line = str(error)
        assert "\n" not in line
        assert line.startswith(f"plugin {name!r} (mixlab-testplugins-broken 6.6.6, mixlab_tp_broken.")
        import re
        assert re.search(pattern, line), (pattern, line)
    # nothing from a failed plugin leaks in, not even its valid tasks
    assert "broken/fine" not in registry and "broken/no_api" not in registry


def test_duplicate_names_are_an_error_naming_both_distributions(registry):
    assert "dupe/shared" not in registry
    pattern = (r"task 'dupe/shared' is registered by mixlab-testplugins-broken 6.6.6 \(entry point 'dupe'\) "
               r"and mixlab-testplugins-good 0.3.1 \(entry point 'testgood'\)")
    with pytest.raises(DuplicateTaskError, match=pattern):
        registry.get("dupe/shared")
    assert any(isinstance(e.error, DuplicateTaskError) for e in registry.load_errors)


def test_duplicates_detected_across_non_adjacent_entries():
    a, b, c = make_task(name="x/a"), make_task(name="x/b"), make_task(name="x/a")
    reg = Registry.from_tasks([a, b, c])
    assert reg.names() == ["x/b"]
    with pytest.raises(DuplicateTaskError):
        reg.get("x/a")


def test_strict_raises_on_the_first_failure():
    with pytest.raises(PluginError, match=r"plugin 'broken_future_api'.*targets plugin API 99"):
        mixlab.load_registry(strict=True)
    with pytest.raises(DuplicateTaskError, match="dupe/shared"):
        mixlab.load_registry(strict=True, plugins=["testgood", "dupe"])
    clean = mixlab.load_registry(strict=True, plugins=["testgood_module"])
    assert clean.names() == ["testgood/from_module"]


def test_selected_plugins_only_are_imported():
    code = ("import sys, mixlab; r = mixlab.load_registry(plugins=['testgood_module']); "
            "print(r.names(), 'mixlab_tp_broken' in sys.modules, len(r.load_errors))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['testgood/from_module'] False 0"
    with pytest.raises(TaskNotFoundError, match=r"no task plugin named \['nope'\]"):
        mixlab.load_registry(plugins=["nope"])


def test_provenance_names_distribution_version_and_entry_point(registry):
    info = registry.provenance("testgood/from_module")
    assert (info.name, info.value, info.distribution, info.version) == (
        "testgood_module", "mixlab_tp_good.module_plugin", "mixlab-testplugins-good", "0.3.1")
    assert str(info) == "testgood_module = mixlab_tp_good.module_plugin (from mixlab-testplugins-good 0.3.1)"


def test_discovery_lists_without_importing():
    code = ("import sys; from mixlab.registry.plugins import discover; "
            "names = [i.name for i, _ in discover('mixlab.tasks')]; "
            "print('broken_raises' in names, any(m.startswith('mixlab_tp') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "True False"
    names = [info.name for info, _ in discover("mixlab.tasks")]
    assert names == sorted(names)


def test_unknown_names_get_suggestions(registry):
    with pytest.raises(TaskNotFoundError, match=r"no task named 'testgood/qa_smal'; did you mean 'testgood/qa_small'"):
        registry.get("testgood/qa_smal")
    with pytest.raises(TaskNotFoundError, match=r"did you mean 'testgood/from_module'"):
        registry.get("from_module")
    with pytest.raises(TaskNotFoundError, match=r"no task named 'zzz/zzz' \(\d+ tasks registered"):
        registry.get("zzz/zzz")


def test_select_by_collection_family_tag_and_glob(registry):
    names = lambda tasks: [t.name for t in tasks]  # noqa: E731
    assert names(registry.select(collection="testgood")) == ["testgood/from_module", "testgood/qa", "testgood/qa_small"]
    assert names(registry.select(collection="TESTGOOD", family="qa")) == ["testgood/qa", "testgood/qa_small"]
    assert names(registry.select(tag="test")) == ["testgood/qa", "testgood/qa_small"]
    assert names(registry.select(pattern="testgood/qa*")) == ["testgood/qa", "testgood/qa_small"]
    assert registry.select(family="no-such-family") == []


def test_registry_container_protocol():
    reg = Registry.from_tasks([make_task(name="x/b"), make_task(name="x/a")])
    assert len(reg) == 2 and "x/a" in reg and "x/c" not in reg
    assert [t.name for t in reg] == ["x/a", "x/b"]
    assert reg["x/a"].name == "x/a"
    assert reg.provenance("x/a").distribution == "<test>"
