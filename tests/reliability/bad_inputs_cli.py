"""Bad inputs at install time and on the command line, for the table in ``bad_inputs.py``.

Each entry of :data:`CASE_ARGS` is the arguments of a ``bad_inputs.Case``: id, area, what the user
did, a function of the scratch folder that must raise (or, for a warning case, warn), the expected
type and a regex of the message. Commands run in-process through ``mixlab.cli.main``; what they
print on stderr (without the test environment's broken-plugin warnings) becomes an
:class:`CommandExitError` with the exit status as its label.
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

from mixlab.errors import ConfigError, DataError, MissingDependencyError, MixtureSpecError

ROOT = Path(__file__).resolve().parents[2]
TABLE2 = ROOT / "examples" / "data" / "table2_cotraining.csv"


class CommandExitError(Exception):
    """What a command printed on stderr; ``label`` (``exit N``) replaces the type in the table."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code, self.label = code, f"exit {code}"


def _stderr_lines(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if not line.startswith("warning: plugin"))


@contextlib.contextmanager
def _not_installed(*names: str) -> Iterator[None]:
    """``import NAME`` raises ModuleNotFoundError inside (only these keys of sys.modules change)."""
    saved = {name: sys.modules[name] for name in names if name in sys.modules}
    sys.modules.update(dict.fromkeys(names))
    try:
        yield
    finally:
        for name in names:
            del sys.modules[name]
        sys.modules.update(saved)


def _cli(*argv: str, blocked: tuple[str, ...] = ()) -> None:
    """Run ``mixlab ARGV`` in this process (``blocked`` modules cannot be imported); raise what it said."""
    from mixlab.cli import main

    err, out = io.StringIO(), io.StringIO()
    with _not_installed(*blocked), contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        code = main(list(argv))
    said = _stderr_lines(err.getvalue())
    raise CommandExitError(code, said or f"(nothing on stderr; stdout: {out.getvalue()[:60]!r})")


def _closed_pipe(folder: Path) -> None:
    """``mixlab tasks | head -0``: the reader is gone before the first byte (a real process, a real pipe)."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = subprocess.run([sys.executable, "-m", "mixlab", "tasks", "--collection", "wordnet"], stdout=write_end,
                              stderr=subprocess.PIPE, text=True, timeout=120, cwd=folder)
    finally:
        os.close(write_end)
    raise CommandExitError(done.returncode, _stderr_lines(done.stderr) or "(nothing: the output stops where the reader "
                                                                    "stopped, without a BrokenPipeError traceback)")


def _offline_task_load(folder: Path) -> Any:
    """An ExMix-like HF task on a machine without network (the probe and the loader are fakes)."""
    import datasets
    import datasets.config

    from mixlab import HFSource, Task
    from mixlab.registry import hub

    def load_dataset(**kwargs: Any) -> Any:
        raise ConnectionError(f"Couldn't reach '{kwargs['path']}' on the Hub (OfflineModeIsEnabled)")

    task = Task(name="exmix/glue_mnli", family="NLI", collection="exmix", num_examples={"train": 3},
                source=HFSource(path="nyu-mll/glue", config="mnli"), formatter=lambda row: row)
    clean = {k: v for k, v in os.environ.items() if k not in (*hub.OFFLINE_ENV, *hub.PROXY_ENV)}
    with mock.patch.dict(os.environ, clean, clear=True), \
            mock.patch.object(datasets.config, "HF_HUB_OFFLINE", False), \
            mock.patch.object(hub, "probe", lambda host, port, timeout=3.0: "cannot resolve the host name"), \
            mock.patch.object(datasets, "load_dataset", load_dataset):
        return task.load("train")


def _missing_datasets(folder: Path) -> Any:
    from mixlab import HFSource

    with _not_installed("datasets"):
        return HFSource(path="nyu-mll/glue", config="mnli").load("train")


def _sized_task(folder: Path, declared: int) -> list:
    from mixlab import FileSource, Mixture, Task

    (folder / "data").mkdir()
    (folder / "data" / "train.jsonl").write_text("".join(f'{{"q": "q{i}", "a": "a{i}"}}\n' for i in range(4)))
    task = Task(name="mydata/qa", family="QA", collection="mydata", num_examples={"train": declared},
                source=FileSource(format="jsonl", files={"train": ["train.jsonl"]}, root=folder / "data"),
                formatter=lambda row: {"inputs": row["q"], "targets": row["a"]})
    return list(Mixture.of([(task, 1.0)], name="sized").stream(seed=0, exhaustion="first"))


def _config_text(folder: Path, name: str, text: str) -> Any:
    from mixlab.train import PretrainConfig

    (folder / name).write_text(text)
    return PretrainConfig.from_file(folder / name)


def _spec_text(folder: Path, name: str, text: str) -> Any:
    from mixlab import MixtureSpec

    (folder / name).write_text(text)
    return MixtureSpec.from_file(folder / name)


def _a_file(folder: Path) -> Path:
    (folder / "notes.txt").write_text("x")
    return folder / "notes.txt"


def _a_run(folder: Path) -> Path:
    (folder / "run").mkdir()
    (folder / "run" / "metrics.jsonl").write_text("")
    return folder / "run"


_PROC = "/proc/mixlab.png"
CASE_ARGS: list[tuple] = [
    # installing: extras and network
    ("install-no-plot-extra", "install", "`mixlab rates wordnet-ext5 --plot rates.png` without matplotlib",
     lambda d: _cli("rates", "wordnet-ext5", "--plot", str(d / "rates.png"), blocked=("matplotlib",)), CommandExitError,
     r"^mixlab rates: error: --plot needs matplotlib, which is not installed: pip install 'mixlab\[plot\]'$"),
    ("install-no-plot-extra-report", "install", "`mixlab report RUN_DIR` without matplotlib",
     lambda d: _cli("report", str(_a_run(d)), blocked=("matplotlib",)), CommandExitError,
     r"^mixlab report: error: writing the report needs matplotlib, which is not installed: "
     r"pip install 'mixlab\[plot\]'$"),
    ("install-no-torch-extra", "install", "`mixlab train run.yaml` without torch",
     lambda d: _cli("train", str(d / "run.yaml"), blocked=("torch",)), CommandExitError,
     r"^mixlab train: error: training needs torch, which is not installed: pip install 'mixlab\[torch\]'$"),
    ("install-no-data-extra", "install", "loading an `HFSource` task without `datasets`",
     _missing_datasets, MissingDependencyError,
     r"^loading hf:nyu-mll/glue config=mnli needs datasets, which is not installed: pip install 'mixlab\[data\]'$"),
    ("install-hub-unreachable", "install", "an `HFSource` task (e.g. in `ext5`) on a machine without network, "
     "with no cached copy", _offline_task_load, DataError,
     r"^task 'exmix/glue_mnli', split 'train': cannot load hf:nyu-mll/glue config=mnli split 'train': cannot reach "
     r"huggingface\.co:443 \(cannot resolve the host name\), and the local datasets cache has no copy; fix: copy the "
     r"data to <folder>/nyu-mll/glue/mnli/train\.\{parquet,jsonl,csv,\.\.\.\} and set MIXLAB_DATA_MIRROR=<folder>"),
    # the command line
    ("cli-unknown-collection", "command line", "`mixlab tasks --collection exmx` (a typo)",
     lambda d: _cli("tasks", "--collection", "exmx"), CommandExitError,
     r"^mixlab tasks: error: no task has collection 'exmx'; did you mean 'exmix'\? fix: use one of the installed "
     r"collection values: "),
    ("cli-filters-match-nothing", "command line", "`mixlab tasks --collection wordnet --family NLI`",
     lambda d: _cli("tasks", "--collection", "wordnet", "--family", "NLI"), CommandExitError,
     r"no task matches collection='wordnet' and family='NLI' together"),
    ("cli-broken-pipe", "command line", "`mixlab tasks` piped into `head`, which stops reading early", _closed_pipe,
     CommandExitError, r"^\(nothing: the output stops where the reader stopped"),
    ("cli-plot-is-a-folder", "command line", "`mixlab rates wordnet-ext5 --plot DIR` (a folder)",
     lambda d: _cli("rates", "wordnet-ext5", "--plot", str(d)), CommandExitError,
     r"^mixlab rates: error: --plot '.*' is a folder; fix: give a file name, e.g\. .*rates\.png$"),
    ("cli-plot-under-a-file", "command line", "`mixlab affinity table2.csv --plot notes.txt/a.png`",
     lambda d: _cli("affinity", str(TABLE2), "--plot", str(_a_file(d) / "a.png")), CommandExitError,
     r"^mixlab affinity: error: --plot '.*notes\.txt/a\.png': '.*notes\.txt' is a file, not a folder; fix: choose a "
     r"path in a folder$"),
    ("cli-plot-unwritable", "command line", f"`mixlab rates wordnet-ext5 --plot {_PROC}`",
     lambda d: _cli("rates", "wordnet-ext5", "--plot", _PROC), CommandExitError,
     r"^mixlab rates: error: --plot '/proc/mixlab\.png': cannot write there \(.*\); fix: choose a writable path$"),
    ("cli-plot-bad-suffix", "command line", "`mixlab affinity table2.csv --plot graph.txt`",
     lambda d: _cli("affinity", str(TABLE2), "--plot", str(d / "graph.txt")), CommandExitError,
     r"cannot write '\.txt' files; fix: end the name with one of \.png, "),
    ("cli-graphml-under-a-file", "command line", "`mixlab affinity table2.csv --graphml notes.txt/g.graphml`",
     lambda d: _cli("affinity", str(TABLE2), "--graphml", str(_a_file(d) / "g.graphml")), CommandExitError,
     r"^mixlab affinity: error: --graphml '.*': '.*notes\.txt' is a file, not a folder"),
    ("cli-report-out-folder", "command line", "`mixlab report RUN_DIR --out DIR` (a folder)",
     lambda d: _cli("report", str(_a_run(d)), "--out", str(d)), CommandExitError,
     r"^mixlab report: error: --out '.*' is a folder; fix: give a file name, e.g\. .*report\.html$"),
    ("cli-report-not-a-run", "command line", "`mixlab report DIR` on a folder that is not a run",
     lambda d: _cli("report", str(d)), CommandExitError,
     r"^mixlab report: error: not a run folder '.*': it holds none of config\.yaml, metrics\.jsonl"),
    ("cli-groups-impossible", "command line", "`mixlab affinity table2.csv --groups 9` (8 tasks)",
     lambda d: _cli("affinity", str(TABLE2), "--groups", "9"), CommandExitError,
     r"^mixlab affinity: error: --groups 9: k=9 groups is impossible for 8 nodes; fix: choose 1 <= K <= 8, or 0 "),
    ("config-duplicate-key", "config", "a config file with `steps:` twice",
     lambda d: _config_text(d, "run.yaml", "data: synthetic\nsteps: 10\nbatch_size: 4\nsteps: 1000\n"), ConfigError,
     r"cannot parse config file '.*run\.yaml': duplicate key 'steps' at line 4 \(first at line 2\); keep one of them"),
    ("spec-duplicate-key", "mixture spec", "a spec file with `weight:` twice in one component",
     lambda d: _spec_text(d, "mix.yaml", "name: m\ncomponents:\n  - {task: demo/qa, weight: 1, weight: 2}\n"),
     MixtureSpecError, r"mix\.yaml: not valid YAML: duplicate key 'weight' at line 3 \(first at line 3\)"),
    # declared sizes of a plugin's data (warnings: published sizes and today's copies often differ a little)
    ("plugin-fewer-rows-than-declared", "task plugin", "`num_examples: {train: 6}` for a file of 4 rows",
     lambda d: _sized_task(d, 6), UserWarning,
     r"task 'mydata/qa' declares 6 train examples but its data has 4 rows; example i reads row i mod 4"),
    ("plugin-more-rows-than-declared", "task plugin", "`num_examples: {train: 2}` for a file of 4 rows",
     lambda d: _sized_task(d, 2), UserWarning, r"task 'mydata/qa': data has 4 rows but declares 2; only the first 2"),
]


def first_warning(run: Any, folder: Path, category: type[Warning]) -> Warning | None:
    """Run ``run(folder)`` recording warnings; the first of ``category``, or ``None``."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run(folder)
    return next((w.message for w in caught if isinstance(w.message, category)), None)  # type: ignore[misc]
