"""The command line on ordinary mistakes: one line on stderr, the right exit status, no traceback.

Missing optional packages, output paths that cannot be written, a reader that closes the pipe,
filters that match nothing, the version, what ``--plot`` prints and where it really wrote.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mixlab.cli import main

ROOT = Path(__file__).resolve().parents[1]
TABLE2 = ROOT / "examples" / "data" / "table2_cotraining.csv"
MIXLAB = [sys.executable, "-m", "mixlab"]


def errors(text: str) -> list[str]:
    """stderr without the test environment's broken-plugin warnings."""
    return [line for line in text.splitlines() if not line.startswith("warning: plugin")]


def test_version(capsys):
    from mixlab import __version__

    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out == f"mixlab {__version__}\n"


# --------------------------------------------------------------------------- missing optional packages
@pytest.mark.parametrize("blocked, argv, expected", [
    ("matplotlib", ["rates", "wordnet-ext5", "--plot", "{tmp}/r.png"],
     "mixlab rates: error: --plot needs matplotlib, which is not installed: pip install 'mixlab[plot]'"),
    ("matplotlib", ["affinity", str(TABLE2), "--plot", "{tmp}/a.png"],
     "mixlab affinity: error: --plot needs matplotlib, which is not installed: pip install 'mixlab[plot]'"),
    ("matplotlib", ["report", str(ROOT / "runs"), "--out", "{tmp}/r.html"],
     "mixlab report: error: writing the report needs matplotlib, which is not installed: pip install 'mixlab[plot]'"),
    ("torch", ["train", "{tmp}/missing.yaml"],
     "mixlab train: error: training needs torch, which is not installed: pip install 'mixlab[torch]'"),
    ("transformers", ["train", "{tmp}/missing.yaml"],
     "mixlab train: error: training needs transformers, which is not installed: pip install 'mixlab[torch]'"),
])
def test_a_missing_optional_package_is_one_line_naming_the_extra(blocked, argv, expected, tmp_path, monkeypatch,
                                                                  capsys):
    monkeypatch.setitem(sys.modules, blocked, None)  # `import blocked` now raises ModuleNotFoundError
    assert main([a.format(tmp=tmp_path) for a in argv]) == 1
    captured = capsys.readouterr()
    assert errors(captured.err) == [expected] and captured.out == ""
    assert list(tmp_path.iterdir()) == []  # refused before any work


def test_a_missing_package_deeper_down_is_translated_too(monkeypatch, capsys):
    from mixlab.cli import rates

    def run(args):
        import sacrebleu  # noqa: F401 - what a command importing an optional package late would do

    monkeypatch.setitem(sys.modules, "sacrebleu", None)
    monkeypatch.setattr(rates, "run", run)
    assert main(["rates", "x"]) == 1
    assert errors(capsys.readouterr().err) == [
        "mixlab rates: error: mixlab rates needs sacrebleu, which is not installed: pip install 'mixlab[eval]'"]


def test_an_import_error_that_names_an_extra_is_one_line(monkeypatch, capsys):
    from mixlab.cli import rates

    def run(args):  # as mixlab.evaluation does for a metric whose package is missing
        raise ImportError("metric 'rouge' needs the rouge-score package: pip install 'mixlab[eval]'")

    monkeypatch.setattr(rates, "run", run)
    assert main(["rates", "x"]) == 1
    assert errors(capsys.readouterr().err) == [
        "mixlab rates: error: metric 'rouge' needs the rouge-score package: pip install 'mixlab[eval]'"]
    monkeypatch.setattr(rates, "run", lambda args: (_ for _ in ()).throw(ImportError("cannot import name 'x'")))
    with pytest.raises(ImportError, match="cannot import name 'x'"):
        main(["rates", "x"])


def test_an_unknown_missing_module_keeps_its_traceback(monkeypatch):
    from mixlab.cli import rates

    monkeypatch.setattr(rates, "run", lambda args: __import__("mixlab_no_such_module"))
    with pytest.raises(ModuleNotFoundError, match="mixlab_no_such_module"):
        main(["rates", "x"])


def test_library_entry_points_name_the_extra(monkeypatch):
    import mixlab
    from mixlab import HFSource, MissingDependencyError

    monkeypatch.setitem(sys.modules, "datasets", None)
    with pytest.raises(MissingDependencyError, match=r"^loading hf:nyu-mll/glue config=mnli needs datasets, which is "
                                                     r"not installed: pip install 'mixlab\[data\]'$") as info:
        HFSource(path="nyu-mll/glue", config="mnli").load("train")
    assert isinstance(info.value, ModuleNotFoundError) and info.value.name == "datasets"
    code = "import sys; sys.modules['torch'] = None; import mixlab; mixlab.pretrain"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == (
        "mixlab.errors.MissingDependencyError: mixlab.pretrain needs torch, which is not installed: "
        "pip install 'mixlab[torch]'")
    assert mixlab.MissingDependencyError is MissingDependencyError


# --------------------------------------------------------------------------- a reader that stops early
def test_a_closed_pipe_is_not_an_error():
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before mixlab writes a byte, like `| head -0`
    try:
        done = subprocess.run([*MIXLAB, "tasks", "--collection", "wordnet"], stdout=write_end,
                              stderr=subprocess.PIPE, text=True, timeout=120)
    finally:
        os.close(write_end)
    assert done.returncode == 0
    assert errors(done.stderr) == []


def test_piping_into_head_under_pipefail():
    done = subprocess.run(["bash", "-o", "pipefail", "-c", f"{sys.executable} -m mixlab rates wordnet-ext5 | head -1"],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0 and done.stdout == "mixture 'wordnet-ext5': 8 tasks\n"
    assert errors(done.stderr) == []


# --------------------------------------------------------------------------- output paths
def _cases(tmp: Path) -> list[tuple[list[str], str]]:
    folder, a_file = tmp / "folder", tmp / "a_file"
    folder.mkdir()
    a_file.write_text("x")
    out = []
    for command, option, suffix in (("rates", "--plot", ".png"), ("affinity", "--plot", ".png"),
                                    ("affinity", "--graphml", ""), ("report", "--out", ".html")):
        argv = {"rates": ["rates", "wordnet-ext5"], "affinity": ["affinity", str(TABLE2)],
                "report": ["report", str(tmp)]}[command]
        example = {"rates": "rates", "affinity": "affinity", "report": "report"}[command]
        example += suffix if option != "--graphml" else ".graphml"
        out.append(([*argv, option, str(folder)],
                    f"mixlab {command}: error: {option} {str(folder)!r} is a folder; fix: give a file name, e.g. "
                    f"{folder / example}"))
        child = str(a_file / f"x{suffix}")
        out.append(([*argv, option, child],
                    f"mixlab {command}: error: {option} {child!r}: {str(a_file)!r} is a file, not a folder; fix: "
                    f"choose a path in a folder"))
        if Path("/proc/self").is_dir():
            target = f"/proc/mixlab{suffix}"
            out.append(([*argv, option, target],
                        f"mixlab {command}: error: {option} {target!r}: cannot write there (No such file or "
                        f"directory); fix: choose a writable path"))
    return out


def test_output_paths_that_cannot_be_written_are_one_line_each(tmp_path, capsys):
    (tmp_path / "metrics.jsonl").write_text("")  # a run folder, so that report gets as far as its --out
    cases = _cases(tmp_path)
    assert len(cases) >= 8
    for argv, expected in cases:
        assert main(argv) == 1, argv
        captured = capsys.readouterr()
        assert errors(captured.err) == [expected], argv
        assert captured.out == "", argv  # refused before any work
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file", "folder", "metrics.jsonl"]


def test_plot_suffix_is_checked_and_added(tmp_path, capsys):
    assert main(["affinity", str(TABLE2), "--plot", str(tmp_path / "a.txt")]) == 1
    assert errors(capsys.readouterr().err) == [
        f"mixlab affinity: error: --plot {str(tmp_path / 'a.txt')!r}: cannot write '.txt' files; fix: end the name "
        f"with one of .png, .avif, .eps, .gif, .jpeg, .jpg, .pdf, .pgf, .ps, .raw, .rgba, .svg, .svgz, .tif, .tiff, "
        f".webp"]


def test_plot_prints_the_path_it_really_wrote(tmp_path, capsys):
    assert main(["rates", "wordnet-ext5", "--plot", str(tmp_path / "rates")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == f"wrote {tmp_path / 'rates.png'}"
    assert (tmp_path / "rates.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and not (tmp_path / "rates").exists()
    assert main(["rates", "wordnet-ext5", "--plot", str(tmp_path / "rates.pdf")]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == f"wrote {tmp_path / 'rates.pdf'}"
    assert (tmp_path / "rates.pdf").read_bytes()[:5] == b"%PDF-"


def test_affinity_says_what_it_wrote_like_rates(tmp_path, capsys):
    argv = ["affinity", str(TABLE2), "--plot", str(tmp_path / "g"), "--graphml", str(tmp_path / "g.graphml")]
    assert main(argv) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-2:] == [f"wrote {tmp_path / 'g.png'}", f"wrote {tmp_path / 'g.graphml'}"]
    assert main([*argv, "--json"]) == 0  # stdout stays JSON; the paths go to stderr
    captured = capsys.readouterr()
    assert json.loads(captured.out)["baseline"] == "data-100k"
    assert errors(captured.err) == [f"wrote {tmp_path / 'g.png'}", f"wrote {tmp_path / 'g.graphml'}"]
    assert main(["rates", "wordnet-ext5", "--json", "--plot", str(tmp_path / "r.png")]) == 0
    captured = capsys.readouterr()
    assert set(json.loads(captured.out)) == {"mixture", "rates", "families"}
    assert errors(captured.err) == [f"wrote {tmp_path / 'r.png'}"]


# --------------------------------------------------------------------------- help texts and --groups
def test_groups_takes_what_its_help_offers(capsys):
    with pytest.raises(SystemExit):
        main(["affinity", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "None" not in help_text and "0 lets the grouping choose how many" in help_text
    assert main(["affinity", str(TABLE2), "--groups", "0", "--json"]) == 0
    groups = json.loads(capsys.readouterr().out)["groups"]
    assert groups == [["CBQA", "CMNS"], ["CLS", "DLG"], ["NLI", "RC"], ["SEM", "SUM"]]
    for bad in ("9", "-1"):
        assert main(["affinity", str(TABLE2), "--groups", bad]) == 1
        assert errors(capsys.readouterr().err) == [
            f"mixlab affinity: error: --groups {bad}: k={bad} groups is impossible for 8 nodes; fix: choose "
            f"1 <= K <= 8, or 0 to let the grouping choose how many"]


def test_report_help_names_the_run_folder_files(capsys):
    with pytest.raises(SystemExit):
        main(["report", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "mixture_manifest.json" in help_text and "mixture.json" not in help_text.replace("mixture_manifest", "")


# --------------------------------------------------------------------------- filters that match nothing
@pytest.mark.parametrize("argv, expected", [
    (["--collection", "exmx"], "no task has collection 'exmx'; did you mean 'exmix'? fix: use one of the installed "
                               "collection values: c4, exmix, testgood, wordnet"),
    (["--family", "Comonsense", "--json"], "no task has family 'Comonsense'; did you mean 'Commonsense'?"),
    (["--tag", "SUMM"], "no task has tag 'SUMM'; did you mean 'SUM'"),
    (["--collection", "wordnet", "--family", "NLI"],
     "no task matches collection='wordnet' and family='NLI' together (each matches some tasks on its own); fix: "
     "drop one of the filters"),
    (["--pattern", "exmix/glu_*"], "no task name matches the pattern 'exmix/glu_*' (names near 'exmix/glu_': "),
])
def test_tasks_filter_matching_nothing_is_an_error(argv, expected, capsys):
    assert main(["tasks", *argv]) == 1
    captured = capsys.readouterr()
    lines = errors(captured.err)
    assert len(lines) == 1 and lines[0].startswith(f"mixlab tasks: error: {expected}") and captured.out == ""


def test_tasks_filters_are_case_insensitive_and_still_list(capsys):
    assert main(["tasks", "--collection", "WORDNET", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 8


# --------------------------------------------------------------------------- logs and docs
def test_library_warnings_are_printed_once():
    """datasets and huggingface_hub log through their own stderr handler: the CLI's root handler must not
    print their records a second time (offline, each retry warning used to appear twice)."""
    code = ("import logging, sys; from mixlab.cli import main; main(['mixtures']); import datasets, huggingface_hub; "
            "logging.getLogger('huggingface_hub.utils._http').warning('hub says once'); "
            "logging.getLogger('datasets.load').warning('datasets says once'); "
            "logging.getLogger('mixlab.stream').warning('mixlab says once')")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    for text in ("hub says once", "datasets says once", "mixlab says once"):
        assert done.stderr.count(text) == 1, done.stderr


def test_docs_do_not_silence_warnings():
    """The broken test plugins of this repository log (they do not warn), so no docs sample needs to hide
    warnings; one that did would also hide real ones from readers."""
    docs = [ROOT / "README.md", *(ROOT / "docs" / f"{name}.md" for name in
                                  ("mixtures", "affinity", "plugins", "training", "troubleshooting"))]
    offenders = [p.name for p in docs if 'simplefilter("ignore")' in p.read_text(encoding="utf-8")]
    assert offenders == []


def test_readme_command_line_section_stands_alone():
    """It runs in order on a fresh clone: no folder that only the Python quick start creates."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## The command line"):text.index("## Writing a task plugin")]
    block = section[section.index("```bash"):section.index("```", section.index("```bash") + 3)]
    assert "runs/readme" not in block and "mixlab --version" in block
    assert "mixlab train" in block and block.index("mixlab train") < block.index("mixlab report")
