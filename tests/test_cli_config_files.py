"""Config and mixture spec files: a key written twice is an error naming the key and its lines (YAML,
JSON; TOML refuses it itself), from Python and from the command line."""

from __future__ import annotations

import pytest

from mixlab import ConfigError, MixtureSpec, MixtureSpecError
from mixlab._loaders import load_json, load_yaml
from mixlab.cli import main
from mixlab.train import PretrainConfig


def test_yaml_loader_refuses_duplicates_at_any_depth_and_keeps_the_rest():
    assert load_yaml("a: 1\nb: {c: 2, d: [1, 2]}\n") == {"a": 1, "b": {"c": 2, "d": [1, 2]}}
    assert load_yaml("base: &b {x: 1}\nother:\n  <<: *b\n  y: 2\n") == {"base": {"x": 1}, "other": {"x": 1, "y": 2}}
    assert load_yaml("- {a: 1}\n- {a: 2}\n") == [{"a": 1}, {"a": 2}]  # the same key in two mappings is fine
    with pytest.raises(ValueError, match=r"^duplicate key 'a' at line 3 \(first at line 2\); keep one of them$"):
        load_yaml("m:\n  a: 1\n  a: 2\n")
    with pytest.raises(ValueError, match=r"^duplicate key 'a' at line 1 \(first at line 1\)"):
        load_yaml("m: {a: 1, a: 2}\n")
    with pytest.raises(ValueError, match=r"^duplicate key 'x' in one JSON object"):
        load_json('{"m": {"x": 1, "x": 2}}')


def test_training_config_with_a_duplicate_key(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("data: synthetic\nsteps: 10\nbatch_size: 4\nsteps: 1000\n")
    with pytest.raises(ConfigError, match=r"cannot parse config file '.*run\.yaml': duplicate key 'steps' at line 4 "
                                          r"\(first at line 2\); keep one of them$"):
        PretrainConfig.from_file(path)
    path.write_text("data: synthetic\nsteps: 10\n")
    assert PretrainConfig.from_file(path).steps == 10
    json_path = tmp_path / "run.json"
    json_path.write_text('{"data": "synthetic", "steps": 10, "steps": 20}')
    with pytest.raises(ConfigError, match=r"duplicate key 'steps' in one JSON object"):
        PretrainConfig.from_file(json_path)


def test_mixture_spec_with_a_duplicate_key(tmp_path, capsys):
    path = tmp_path / "mix.yaml"
    path.write_text("name: m\ncomponents:\n  - {task: wordnet/pos, weight: 1, weight: 2}\n")
    with pytest.raises(MixtureSpecError, match=r"mix\.yaml: not valid YAML: duplicate key 'weight' at line 3 "
                                               r"\(first at line 3\); keep one of them"):
        MixtureSpec.from_file(path)
    assert main(["rates", str(path)]) == 1
    err = [line for line in capsys.readouterr().err.splitlines() if not line.startswith("warning: plugin")]
    assert err == [f"mixlab rates: error: {path}: not valid YAML: duplicate key 'weight' at line 3 (first at line 3); "
                   f"keep one of them"]
