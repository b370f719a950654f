"""``mixlab rates`` and ``mixlab mixtures`` on a test registry and fake entry points."""

from __future__ import annotations

import json

import pytest

from mixlab import Registry
from mixlab.cli import main, rates
from mixlab.registry import plugins
from mixlab.registry.plugins import MIXTURES_GROUP, PluginInfo
from tests.samplers.helpers import make_task

TASKS = [make_task("ex/a", 100, "NLI"), make_task("ex/b", 400, "NLI"), make_task("ex/c", 1000, "SUM")]
SPEC = "name: small\ntasks: [ex/a, ex/b, ex/c]\nstrategy: {kind: proportional, cap: 500}\n"


@pytest.fixture
def spec_file(tmp_path, monkeypatch):
    monkeypatch.setattr(rates, "load_registry", lambda: Registry.from_tasks(TASKS))
    path = tmp_path / "small.yaml"
    path.write_text(SPEC)
    return path


def test_rates_json(spec_file, capsys):
    assert main(["rates", str(spec_file), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out == {"mixture": "small", "rates": {"ex/a": 0.1, "ex/b": 0.4, "ex/c": 0.5},
                   "families": {"NLI": 0.5, "SUM": 0.5}}


def test_rates_table_and_plot(spec_file, capsys, tmp_path):
    assert main(["rates", str(spec_file), "--total", "2000", "--plot", str(tmp_path / "rates.png")]) == 0
    out = capsys.readouterr().out
    assert "ex/c  SUM     1,000     500  0.500000     1,000   1.000" in out
    lines = out.splitlines()
    assert lines[-2].split() == ["total", "3", "1.0000"]
    assert lines[-4].split() == ["NLI", "2", "0.5000"]
    assert lines[-1].startswith("wrote ")
    assert (tmp_path / "rates.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_rates_unknown_spec(spec_file, capsys):
    assert main(["rates", "no-such-mixture"]) == 1
    assert "no mixture named 'no-such-mixture'" in capsys.readouterr().err


def test_mixtures_lists_entry_points(monkeypatch, capsys):
    info = PluginInfo(name="demo", value="demo_pkg:mix", group=MIXTURES_GROUP, distribution="mixlab-demo",
                      version="1.2")
    real = plugins.discover
    monkeypatch.setattr(plugins, "discover", lambda group: [(info, None)] if group == MIXTURES_GROUP else real(group))
    assert main(["mixtures", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == [{"name": "demo", "distribution": "mixlab-demo", "version": "1.2",
                                                   "entry_point": "demo_pkg:mix"}]
    assert main(["mixtures"]) == 0
    assert "demo  mixlab-demo   1.2" in capsys.readouterr().out
