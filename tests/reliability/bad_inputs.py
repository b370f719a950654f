"""Every bad input we try, with the one error mixlab gives for it; rendered into docs/troubleshooting.md.

Each :class:`Case` is something a user might get wrong (a broken task or mixture plugin, a bad
mixture spec, a bad training config, a bad data row). ``tests/reliability/test_bad_inputs.py``
checks that each raises the expected exception with a message matching ``match``, and that the
table in ``docs/troubleshooting.md`` is what :func:`render_table` prints now. Regenerate the doc's
table after changing a message with::

    .venv/bin/python -m tests.reliability.bad_inputs --write

Messages are shown with the scratch folder replaced by ``DIR`` and lists of installed plugins
by ``[...]``, so the table does not depend on the machine.
"""

from __future__ import annotations

import argparse
import contextlib
import re
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

from mixlab import CallableSource, Task
from mixlab.errors import (
    CheckpointError,
    ConfigError,
    DataError,
    DuplicateTaskError,
    MixtureSpecError,
    PluginError,
    ResumeError,
    TaskNotFoundError,
)
from tests.reliability.bad_inputs_cli import CASE_ARGS as CLI_CASE_ARGS
from tests.reliability.bad_inputs_cli import first_warning

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "troubleshooting.md"
BEGIN, END = "<!-- bad-inputs:begin (generated: do not edit) -->", "<!-- bad-inputs:end -->"


@dataclass(frozen=True)
class Case:
    id: str
    area: str
    input: str  # what the user did, as shown in the doc (markdown)
    run: Callable[[Path], Any]  # does it, in a scratch folder; must raise
    error: type[BaseException]
    match: str  # regex the message must contain


# --------------------------------------------------------------------------- fixtures of the cases
def _task(name: str, n: int = 10, family: str = "QA", *, self_supervised: bool = False,
          rows: list | None = None, formatter: Any = None) -> Task:
    data = rows if rows is not None else [{"q": f"q{i}", "a": f"a{i}", "text": f"text {i}"} for i in range(n)]
    if formatter is None and not self_supervised:
        formatter = lambda row: {"inputs": row["q"], "targets": row["a"]}  # noqa: E731
    return Task(name=name, family=family, collection="demo", num_examples={"train": len(data)},
                source=CallableSource(fn=lambda split: data), formatter=formatter, self_supervised=self_supervised)


def _registry() -> Any:
    from mixlab import Registry

    return Registry.from_tasks([_task("demo/qa"), _task("demo/nli", family="NLI"),
                                _task("demo/text", self_supervised=True, family="Text")])


def _spec(data: dict) -> Any:
    from mixlab import MixtureSpec

    return MixtureSpec(**data).build(_registry())


def _file(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


def _task_plugins(*names: str) -> Any:
    from mixlab import load_registry

    return load_registry(strict=True, plugins=names)


class _FakeEntryPoint:
    def __init__(self, name: str, target: Any) -> None:
        self.name, self.value, self._target = name, f"my_plugin.mixtures:{name.replace('-', '_')}", target

    def load(self) -> Any:
        if isinstance(self._target, BaseException):
            raise self._target
        return self._target


@contextlib.contextmanager
def _mixture_plugins(**targets: Any) -> Iterator[None]:
    """Named mixtures from fake entry points of a distribution ``my-plugin 1.0``."""
    from mixlab.registry import plugins
    from mixlab.registry.plugins import MIXTURES_GROUP, PluginInfo

    real = plugins.discover

    def discover(group: str) -> list:
        if group != MIXTURES_GROUP:
            return real(group)
        eps = [_FakeEntryPoint(name, target) for name, target in targets.items()]
        return sorted(((PluginInfo(name=ep.name, value=ep.value, group=group, distribution="my-plugin",
                                   version="1.0"), ep) for ep in eps), key=lambda pair: pair[0].name)

    with mock.patch.object(plugins, "discover", discover):
        yield


def _returning(value: Any, api: int | None = 1) -> Callable[[], Any]:
    def plugin() -> Any:
        if isinstance(value, BaseException):
            raise value
        return value

    if api is not None:
        plugin.__mixlab_plugin_api__ = api  # type: ignore[attr-defined]
    return plugin


def _named(name: str, **targets: Any) -> Any:
    from mixlab import get_mixture

    with _mixture_plugins(**targets):
        return get_mixture(name, _registry())


def _cuda_without_gpu() -> Any:
    """``device: cuda`` where torch sees no GPU (also on a GPU machine: torch is told there is none)."""
    from mixlab.backends import get_backend

    with mock.patch("torch.cuda.is_available", return_value=False):
        return get_backend("torch", device="cuda").setup()


def _config(**fields: Any) -> Any:
    from mixlab.train import PretrainConfig

    base = {"data": "synthetic", "steps": 2}
    return PretrainConfig(**{**base, **fields})


def _config_file(folder: Path, name: str, text: str) -> Any:
    from mixlab.train import PretrainConfig

    return PretrainConfig.from_file(_file(folder, name, text))


class _Backend:
    """What the data factory reads from a backend."""

    def __init__(self, world: int) -> None:
        self.rank, self.world_size, self.shard = 0, world, (0, world)


def _build_data(world: int = 1, **fields: Any) -> Any:
    from mixlab.train import build_data

    return build_data(_config(**fields), _Backend(world), 100)


def _train(folder: Path, resume: bool = False, **fields: Any) -> Any:
    from mixlab.train import train

    base = dict(model={"preset": "tiny", "vocab_size": 64}, batch_size=2, input_length=16, target_length=8,
                warmup_steps=1, out_dir=str(folder / "run"))
    if fields.get("data") == "mixture":
        base["model"] = {"preset": "tiny"}
    return train(_config(**{**base, **fields}), resume=resume, progress=False)


def _existing_run(folder: Path) -> Path:
    (folder / "run" / "checkpoints" / "step_0000002").mkdir(parents=True)
    return folder


def _resume_with_other_batch_size(folder: Path) -> Any:
    import mixlab_wordnet

    fields = dict(data="mixture", mixture="wordnet-ext5", tokenizer=str(mixlab_wordnet.tokenizer_path()),
                  checkpoint_interval=1, steps=1)
    _train(folder, **fields)
    return _train(folder, resume=True, **{**fields, "steps": 2, "batch_size": 4})


def _stream_rows(rows: list, *, formatter: Any = None, self_supervised: bool = False) -> list:
    from mixlab import Mixture

    task = _task("demo/bad", rows=rows, formatter=formatter, self_supervised=self_supervised)
    return list(Mixture.of([(task, 1.0)], name="bad").stream(seed=0, exhaustion="first"))


# --------------------------------------------------------------------------- the cases
_TWO = '{"q": "a", "a": "b"}\n'
CASES: list[Case] = [
    # task plugins (entry point group mixlab.tasks; the broken ones are in tests/plugins)
    Case("plugin-import-error", "task plugin", "a task plugin whose module imports a missing package",
         lambda d: _task_plugins("broken_import"), PluginError,
         r"plugin 'broken_import' \(mixlab-testplugins-broken 6\.6\.6, .*\): PluginError: import failed: "
         r"ModuleNotFoundError"),
    Case("plugin-missing-attr", "task plugin", "entry point names a function that does not exist",
         lambda d: _task_plugins("broken_missing_attr"), PluginError, r"import failed: AttributeError"),
    Case("plugin-raises", "task plugin", "the plugin function raises",
         lambda d: _task_plugins("broken_raises"), PluginError,
         r"raised while providing tasks: RuntimeError: database of tasks is on fire"),
    Case("plugin-not-a-task", "task plugin", "the plugin returns a dict among its tasks",
         lambda d: _task_plugins("broken_not_task"), PluginError, r"returned dict .*not a mixlab\.Task"),
    Case("plugin-not-iterable", "task plugin", "the plugin returns `42`",
         lambda d: _task_plugins("broken_not_iterable"), PluginError, r"returned int, not an iterable of Task"),
    Case("plugin-invalid-task", "task plugin", "the plugin builds a Task with `num_examples={'train': -5}`",
         lambda d: _task_plugins("broken_invalid_task"), PluginError,
         r"TaskSpecError: invalid task 'broken/neg':.*negative example counts"),
    Case("plugin-no-api", "task plugin", "the plugin function is not decorated with `@mixlab.task_plugin(api=1)`",
         lambda d: _task_plugins("broken_no_api"), PluginError, r"declares no plugin API version; decorate it"),
    Case("plugin-future-api", "task plugin", "the plugin targets `@mixlab.task_plugin(api=99)`",
         lambda d: _task_plugins("broken_future_api"), PluginError,
         r"targets plugin API 99; this mixlab supports \[1\]"),
    Case("plugin-duplicate-task", "task plugin", "two installed plugins register the same task name",
         lambda d: _task_plugins("dupe", "testgood"), DuplicateTaskError,
         r"task 'dupe/shared' is registered by .* and .*; uninstall one or rename the task"),
    Case("plugin-unknown-name", "task plugin", "`load_registry(plugins=['no_such_plugin'])`",
         lambda d: _task_plugins("no_such_plugin"), TaskNotFoundError, r"no task plugin named \['no_such_plugin'\]"),
    # mixture plugins (entry point group mixlab.mixtures), from a distribution "my-plugin 1.0"
    Case("mixture-plugin-import-error", "mixture plugin", "a mixture plugin whose module fails to import",
         lambda d: _named("mine", mine=ModuleNotFoundError("No module named 'my_dep'")), PluginError,
         r"mixture plugin 'mine' \(my-plugin 1\.0, my_plugin\.mixtures:mine\): import failed: ModuleNotFoundError"),
    Case("mixture-plugin-undecorated", "mixture plugin", "the function is not decorated with "
         "`@mixlab.mixture_plugin(api=1)`", lambda d: _named("mine", mine=_returning({}, api=None)), PluginError,
         r"declares no plugin API version; decorate it with @mixlab\.mixture_plugin\(api=1\)"),
    Case("mixture-plugin-future-api", "mixture plugin", "`@mixlab.mixture_plugin(api=2)`",
         lambda d: _named("mine", mine=_returning({}, api=2)), PluginError, r"targets plugin API 2"),
    Case("mixture-plugin-raises", "mixture plugin", "the mixture function raises",
         lambda d: _named("mine", mine=_returning(RuntimeError("no spec today"))), PluginError,
         r"raised while providing a mixture: RuntimeError: no spec today"),
    Case("mixture-plugin-not-a-dict", "mixture plugin", "the mixture function returns `42`",
         lambda d: _named("mine", mine=_returning(42)), PluginError, r"returned int, not a mixture spec dict"),
    Case("mixture-plugin-wrong-name", "mixture plugin", "entry point `mine` returns `{'name': 'other', ...}`",
         lambda d: _named("mine", mine=_returning({"name": "other", "components": [{"task": "demo/qa"}]})),
         PluginError, r"returns a spec named 'other'; the entry point name is the mixture name"),
    Case("mixture-plugin-invalid-spec", "mixture plugin", "the plugin's spec has a negative weight",
         lambda d: _named("mine", mine=_returning({"components": [{"task": "demo/qa", "weight": -1}]})),
         MixtureSpecError, r"mixture plugin 'mine' \(my-plugin 1\.0, my_plugin\.mixtures:mine\): invalid mixture "
                           r"spec 'mine':\n  components\.0\.weight: weight must be a finite number >= 0, got -1"),
    Case("mixture-plugin-cycle", "mixture plugin", "mixture `a` includes `b`, which includes `a`",
         lambda d: _named("a", a=_returning({"components": [{"mixture": "b"}]}),
                          b=_returning({"components": [{"task": "demo/qa"}, {"mixture": "a"}]})),
         MixtureSpecError, r"mixture reference cycle: a -> b -> a"),
    Case("mixture-unknown-name", "mixture plugin", "`get_mixture('wordnet-ext')` (a typo)",
         lambda d: _named("wordnet-ext", **{"wordnet-ext5": _returning({})}), TaskNotFoundError,
         r"no mixture named 'wordnet-ext'; did you mean 'wordnet-ext5'\?"),
    # mixture specs
    Case("spec-unknown-task", "mixture spec", "`components: [{task: demo/qaa}]` (a typo)",
         lambda d: _spec({"name": "m", "components": [{"task": "demo/qaa"}]}), TaskNotFoundError,
         r"no task named 'demo/qaa'; did you mean 'demo/qa'"),
    Case("spec-negative-weight", "mixture spec", "`components: [{task: demo/qa, weight: -1}]`",
         lambda d: _spec({"name": "m", "components": [{"task": "demo/qa", "weight": -1}]}), MixtureSpecError,
         r"components\.0\.weight: weight must be a finite number >= 0, got -1"),
    Case("spec-all-weights-zero", "mixture spec", "every component has `weight: 0`",
         lambda d: _spec({"name": "m", "components": [{"task": "demo/qa", "weight": 0}]}), MixtureSpecError,
         r"every component has weight 0"),
    Case("spec-empty-components", "mixture spec", "`components: []`",
         lambda d: _spec({"name": "m", "components": []}), MixtureSpecError, r"components is empty"),
    Case("spec-empty-tasks", "mixture spec", "`tasks: []` with a strategy",
         lambda d: _spec({"name": "m", "tasks": [], "strategy": {"kind": "uniform"}}), MixtureSpecError,
         r"tasks is an empty list"),
    Case("spec-selector-matches-nothing", "mixture spec", "`tasks: {family: Poetry}` (no such family)",
         lambda d: _spec({"name": "m", "tasks": {"family": "Poetry"}, "strategy": {"kind": "uniform"}}),
         MixtureSpecError, r"match no registered task"),
    Case("spec-negative-R", "mixture spec", "`rmix: {..., R: -1}`",
         lambda d: _spec({"name": "m", "rmix": {"self_supervised": "demo/text", "supervised": "demo/qa", "R": -1}}),
         MixtureSpecError, r"rmix\.R: R must be a finite number >= 0, got -1"),
    Case("spec-rmix-unknown-side", "mixture spec", "`rmix: {self_supervised: demo/txt, ...}` (a typo)",
         lambda d: _spec({"name": "m", "rmix": {"self_supervised": "demo/txt", "supervised": "demo/qa", "R": 2}}),
         TaskNotFoundError, r"no task named 'demo/txt'; did you mean 'demo/text'"),
    Case("spec-cap-zero", "mixture spec", "`strategy: {kind: proportional, cap: 0}`",
         lambda d: _spec({"name": "m", "tasks": ["demo/qa"], "strategy": {"kind": "proportional", "cap": 0}}),
         MixtureSpecError, r"cap must be finite and > 0, got 0.*0 does not mean 'no cap'"),
    Case("spec-cap-negative", "mixture spec", "`strategy: {kind: proportional, cap: -5}`",
         lambda d: _spec({"name": "m", "tasks": ["demo/qa"], "strategy": {"kind": "proportional", "cap": -5}}),
         MixtureSpecError, r"cap must be finite and > 0, got -5"),
    Case("spec-temperature-zero", "mixture spec", "`strategy: {kind: temperature, temperature: 0}`",
         lambda d: _spec({"name": "m", "tasks": ["demo/qa"], "strategy": {"kind": "temperature", "temperature": 0}}),
         MixtureSpecError, r"temperature"),
    Case("spec-unknown-strategy", "mixture spec", "`strategy: {kind: proportionate}`",
         lambda d: _spec({"name": "m", "tasks": ["demo/qa"], "strategy": {"kind": "proportionate"}}),
         MixtureSpecError, r"unknown strategy kind 'proportionate'; choose one of"),
    Case("spec-no-strategy", "mixture spec", "`tasks: [...]` without a strategy",
         lambda d: _spec({"name": "m", "tasks": ["demo/qa"]}), MixtureSpecError, r"tasks need a strategy"),
    Case("spec-two-shapes", "mixture spec", "both `tasks` and `components`",
         lambda d: _spec({"name": "m", "tasks": ["demo/qa"], "strategy": {"kind": "uniform"},
                          "components": [{"task": "demo/qa"}]}), MixtureSpecError,
         r"give exactly one of tasks \(\+ strategy\), components, rmix or schedule"),
    Case("spec-unknown-key", "mixture spec", "`weights: 3` (not a spec field)",
         lambda d: _spec({"name": "m", "components": [{"task": "demo/qa"}], "weights": 3}), MixtureSpecError,
         r"weights: Extra inputs are not permitted"),
    Case("spec-component-both", "mixture spec", "`components: [{task: demo/qa, mixture: other}]`",
         lambda d: _spec({"name": "m", "components": [{"task": "demo/qa", "mixture": "x"}]}), MixtureSpecError,
         r"a component names exactly one of task or mixture"),
    Case("spec-file-cycle", "mixture spec", "`a.yaml` includes `b.yaml`, which includes `a.yaml`",
         lambda d: (_file(d, "a.yaml", f"components: [{{mixture: {d / 'b.yaml'}}}]\n"),
                    _file(d, "b.yaml", f"components: [{{mixture: {d / 'a.yaml'}}}]\n"),
                    _named(str(d / "a.yaml"))), MixtureSpecError,
         r"mixture reference cycle: .*a\.yaml -> .*b\.yaml -> .*a\.yaml"),
    Case("spec-bad-yaml", "mixture spec", "a YAML spec file with a syntax error",
         lambda d: _named(str(_file(d, "bad.yaml", "name: m\ncomponents: [{task: demo/qa\n"))), MixtureSpecError,
         r"bad\.yaml: not valid YAML"),
    Case("spec-bad-toml", "mixture spec", "a TOML spec file with a syntax error",
         lambda d: _named(str(_file(d, "bad.toml", "name = \n"))), MixtureSpecError, r"bad\.toml: not valid TOML"),
    Case("spec-not-a-mapping", "mixture spec", "a YAML spec file holding a list",
         lambda d: _named(str(_file(d, "list.yaml", "- demo/qa\n"))), MixtureSpecError,
         r"a mixture spec must be a mapping, got list"),
    Case("spec-missing-file", "mixture spec", "`get_mixture('missing.yaml')` (no such file)",
         lambda d: _named(str(d / "missing.yaml")), MixtureSpecError, r"cannot read mixture spec"),
    Case("stream-bad-exhaustion", "mixture spec", "`mixture.stream(seed=0, exhaustion='never')`",
         lambda d: _spec({"name": "m", "components": [{"task": "demo/qa"}]}).stream(0, exhaustion="never"),
         MixtureSpecError, r"exhaustion must be one of \['repeat', 'first', 'all'\]"),
    Case("stream-bad-shard", "mixture spec", "`mixture.stream(seed=0, shard=(2, 2))`",
         lambda d: _spec({"name": "m", "components": [{"task": "demo/qa"}]}).stream(0, shard=(2, 2)),
         MixtureSpecError, r"shard must be \(rank, world_size\) with 0 <= rank < world_size"),
    # training configs
    Case("config-unknown-preset", "config", "`model: huge`",
         lambda d: _config(model="huge"), ConfigError, r"model\.preset: unknown preset 'huge'; choose one of"),
    Case("config-batch-not-divisible", "config", "`batch_size: 10` on 3 processes",
         lambda d: _build_data(world=3, batch_size=10), ConfigError,
         r"batch_size 10 does not split over 3 processes; fix: use a multiple of 3"),
    Case("config-missing-mixture", "config", "`data: mixture` (the default) without `mixture`",
         lambda d: _config(data="mixture"), ConfigError, r"no mixture given; fix: set mixture"),
    Case("config-wrong-type", "config", "`steps: ten`",
         lambda d: _config(steps="ten"), ConfigError, r"steps: Input should be a valid integer"),
    Case("config-unknown-key", "config", "`learning_rat: 0.01` (a typo)",
         lambda d: _config(learning_rat=0.01), ConfigError, r"learning_rat: Extra inputs are not permitted"),
    Case("config-unknown-model-field", "config", "`model: {preset: tiny, d_modle: 8}`",
         lambda d: _config(model={"preset": "tiny", "d_modle": 8}), ConfigError,
         r"model\.d_modle: Extra inputs are not permitted"),
    Case("config-missing-steps", "config", "a config without `steps`",
         lambda d: _config_file(d, "run.yaml", "data: synthetic\n"), ConfigError, r"steps: Field required"),
    Case("config-negative-lr", "config", "`learning_rate: -0.01`",
         lambda d: _config(learning_rate=-0.01), ConfigError, r"learning_rate: Input should be greater than 0"),
    Case("config-unknown-backend", "config", "`backend: {name: tpu}`",
         lambda d: _config(backend={"name": "tpu"}), ConfigError, r"backend\.name: Input should be 'torch' or 'xla'"),
    Case("config-unknown-precision", "config", "`backend: {precision: fp8}`",
         lambda d: _config(backend={"precision": "fp8"}), ConfigError, r"backend\.precision: Input should be"),
    Case("config-unknown-device", "config", "`backend: {device: gpu}`",
         lambda d: _config(backend={"device": "gpu"}), ConfigError, r"backend\.device: String should match pattern"),
    Case("config-device-with-xla", "config", "`backend: {name: xla, device: cpu}`",
         lambda d: _config(backend={"name": "xla", "device": "cpu"}), ConfigError,
         r"device 'cpu' is for the torch backend.*PJRT_DEVICE"),
    Case("config-cuda-without-gpu", "config", "`backend: {device: cuda}` where torch sees no GPU",
         lambda d: _cuda_without_gpu(), ConfigError, r"backend device 'cuda', but torch sees no CUDA device .*; fix"),
    Case("config-bad-on-bad-row", "config", "`on_bad_row: ignore`",
         lambda d: _config(on_bad_row="ignore"), ConfigError, r"on_bad_row: Input should be 'error' or 'skip'"),
    Case("config-R-with-synthetic", "config", "`R: 2` with `data: synthetic`",
         lambda d: _config(R=2), ConfigError, r"R is set but data is 'synthetic'"),
    Case("config-muppet-without-sizes", "config", "`loss_scaling: muppet` without `output_space_sizes`",
         lambda d: _config(loss_scaling="muppet"), ConfigError, r"loss_scaling='muppet' needs output_space_sizes"),
    Case("config-no-tokenizer", "config", "`mixture: wordnet-ext5` without `tokenizer`",
         lambda d: _build_data(data="mixture", mixture="wordnet-ext5"), ConfigError,
         r"data 'mixture' needs a tokenizer"),
    Case("config-R-not-rmix", "config", "`R: 2` with a mixture that has no `rmix` section",
         lambda d: __import__("mixlab.train", fromlist=["x"]).resolve_mixture(
             {"name": "plain", "components": [{"task": "demo/qa"}]}, 2.0, _registry()), ConfigError,
         r"R=2\.0 is set but mixture 'plain' is not an rmix mixture"),
    Case("config-file-missing", "config", "`mixlab train missing.yaml`",
         lambda d: __import__("mixlab.train", fromlist=["x"]).PretrainConfig.from_file(d / "missing.yaml"),
         ConfigError, r"config file '.*missing\.yaml' does not exist"),
    Case("config-bad-yaml", "config", "a config file with a YAML syntax error",
         lambda d: _config_file(d, "run.yaml", "steps: [1\n"), ConfigError, r"cannot parse config file"),
    Case("config-not-a-mapping", "config", "a config file holding a list",
         lambda d: _config_file(d, "run.yaml", "- steps\n"), ConfigError, r"must hold a mapping of settings, got list"),
    Case("config-unknown-suffix", "config", "a config file named `run.ini`",
         lambda d: _config_file(d, "run.ini", "steps = 2\n"), ConfigError, r"unknown format '\.ini'"),
    Case("run-exists", "config", "training again into a run folder that holds checkpoints, without `--resume`",
         lambda d: _train(_existing_run(d)), ConfigError,
         r"already holds checkpoints \(steps \[2\]\); pass resume=True"),
    Case("resume-changed-batch", "config", "`--resume` after changing `batch_size` (mixture data)",
         _resume_with_other_batch_size, ResumeError,
         r"was trained with global batch size 2, this config has 4; the same examples cannot make other batches; "
         r"fix: resume with batch_size: 2"),
    Case("init-from-not-a-checkpoint", "config", "`init_from:` a folder without checkpoints",
         lambda d: _train(d, init_from=str(d)), CheckpointError,
         r"is not a checkpoint \(no manifest\.json\) and holds no step_XXXXXXX folders"),
    # data rows (default on_bad_row="error"; see the policy above)
    Case("row-missing-field", "data row", "a row without the column the formatter reads",
         lambda d: _stream_rows([{"q": "x"}]), DataError,
         r"task 'demo/bad': formatter failed on row \{'q': 'x'\}: KeyError\('a'\); at train row 0$"),
    Case("row-none-value", "data row", "a row with `a: null` (the formatter passes it through)",
         lambda d: _stream_rows([{"q": "x", "a": None}]), DataError, r"formatter gave targets of type NoneType"),
    Case("row-wrong-type", "data row", "a row with `a: 3`",
         lambda d: _stream_rows([{"q": "x", "a": 3}]), DataError, r"formatter gave targets of type int, not str"),
    Case("row-empty-targets", "data row", "a row with `a: '  '` (blank)",
         lambda d: _stream_rows([{"q": "x", "a": "  "}]), DataError, r"formatter gave empty targets"),
    Case("row-empty-text", "data row", "a self-supervised row with `text: ''`",
         lambda d: _stream_rows([{"text": ""}], self_supervised=True), DataError, r"text column 'text' is empty"),
    Case("row-not-a-mapping", "data row", "a row that is a list, not a dict",
         lambda d: _stream_rows([["x", "y"]]), DataError, r"row is a list, not a mapping of columns"),
    Case("file-invalid-utf8", "data row", "a jsonl file with a Latin-1 byte on line 2",
         lambda d: _file_task(d, b'{"q": "a", "a": "b"}\n{"q": "caf\xe9", "a": "b"}\n').load("train"), DataError,
         r"task 'demo/file', split 'train': .*rows\.jsonl: not valid UTF-8 at byte 31 \(line 2\)"),
    Case("file-invalid-json", "data row", "a jsonl file with a broken line",
         lambda d: _file_task(d, (_TWO + '{"q": \n').encode()).load("train"), DataError,
         r"rows\.jsonl:2: invalid JSON"),
]


CASES += [Case(*args) for args in CLI_CASE_ARGS]  # installing and the command line (bad_inputs_cli.py)


def _file_task(folder: Path, content: bytes) -> Task:
    from mixlab import FileSource

    (folder / "rows.jsonl").write_bytes(content)
    return Task(name="demo/file", family="QA", collection="demo", num_examples={"train": 2},
                source=FileSource(format="jsonl", files={"train": ["rows.jsonl"]}, root=str(folder)),
                formatter=lambda row: {"inputs": row["q"], "targets": row["a"]})


# --------------------------------------------------------------------------- running and rendering
def run_case(case: Case) -> BaseException:
    """Run ``case`` in a fresh scratch folder and return what it raised (AssertionError if nothing); a case
    whose ``error`` is a ``Warning`` returns the first such warning instead."""
    import warnings

    with tempfile.TemporaryDirectory(prefix="mixlab-bad-") as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        folder = Path(tmp)
        try:
            if issubclass(case.error, Warning):
                warned = first_warning(case.run, folder, case.error)
                if warned is not None:
                    warned.normalized = normalize(str(warned), folder)  # type: ignore[attr-defined]
                    return warned
            else:
                case.run(folder)
        except Exception as exc:  # noqa: BLE001 - what is raised is the point
            exc.normalized = normalize(str(exc), folder)  # type: ignore[attr-defined]
            return exc
    raise AssertionError(f"bad input {case.id!r} ({case.input}) raised nothing")


def normalize(message: str, folder: Path) -> str:
    message = message.replace(str(folder.resolve()), "DIR").replace(str(folder), "DIR")
    message = re.sub(r"installed: \[[^\]]*\]", "installed: [...]", message)
    return re.sub(r"plugin\.?\w*:\w+ at 0x[0-9a-f]+", "<function>", message)


def render_table(results: dict[str, BaseException] | None = None) -> str:
    """The markdown table of every case: area, input, exception type, message."""
    lines = ["| # | Area | What was wrong | Error | Message |", "|---|---|---|---|---|"]
    for number, case in enumerate(CASES, start=1):
        exc = (results or {}).get(case.id) or run_case(case)
        message = getattr(exc, "normalized", str(exc))
        cell = (message.replace("&", "&amp;").replace("<", "&lt;").replace("*", "\\*")
                .replace("|", "\\|").replace("\n", "<br>"))
        label = getattr(exc, "label", type(exc).__name__)  # a command's exit status, or the exception type
        lines.append(f"| {number} | {case.area} | {case.input} | `{label}` | {cell} |")
    return "\n".join(lines) + "\n"


def doc_table(text: str | None = None) -> str:
    """The generated table as it stands in docs/troubleshooting.md."""
    text = DOC.read_text(encoding="utf-8") if text is None else text
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    return text[start:end].strip("\n") + "\n"


def write_doc() -> None:
    text = DOC.read_text(encoding="utf-8")
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    DOC.write_text(text[:start] + "\n" + render_table() + text[end:], encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--write", action="store_true", help=f"rewrite the table in {DOC.relative_to(ROOT)}")
    if parser.parse_args().write:
        write_doc()
        print(f"wrote {len(CASES)} cases to {DOC}")
    else:
        print(render_table(), end="")


if __name__ == "__main__":
    main()
