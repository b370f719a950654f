"""The ``mixlab`` command line. Each sub-command lives in its own module, imported only when run."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import os
import sys

from mixlab._optional import missing_dependency
from mixlab._version import __version__
from mixlab.errors import MixlabError

# command -> (module, one-line help). Modules define configure(parser) and run(args) -> int.
COMMANDS: dict[str, tuple[str, str]] = {
    "tasks": ("mixlab.cli.tasks", "list registered tasks"),
    "mixtures": ("mixlab.cli.mixtures", "list named mixtures"),
    "rates": ("mixlab.cli.rates", "show a mixture's rates per task and family"),
    "affinity": ("mixlab.cli.affinity", "analyse a task-transfer results table"),
    "search": ("mixlab.cli.search", "fit a regression to a sweep's results and propose a mixture"),
    "train": ("mixlab.cli.train", "pre-train a T5 model on a mixture"),
    "report": ("mixlab.cli.report", "write an HTML report of a run folder"),
    "experiment": ("mixlab.cli.experiment", "run an experiment spec (protocols of ExT5), its status and report"),
    "eval": ("mixlab.cli.eval", "decode a split with a run's model and score it with the task metrics"),
    "finetune": ("mixlab.cli.finetune", "fine-tune a checkpoint on a task or mixture, keeping the best model"),
}


#: libraries whose loggers carry their own stderr handler (so the root handler would print each record again)
LIBRARIES_WITH_OWN_HANDLER = ("datasets", "huggingface_hub")


def build_parser(argv: list[str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mixlab", description="Design and train on multi-task mixtures.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    parser.add_argument("--version", action="version", version=f"mixlab {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    wanted = next((a for a in argv if a in COMMANDS), None)
    for name, (module, help_text) in COMMANDS.items():
        cmd = sub.add_parser(name, help=help_text, description=help_text)
        if name == wanted:  # configure only the command being run: others may need heavy imports
            importlib.import_module(module).configure(cmd)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; its errors are one line on stderr (exit 1), usage errors argparse's (exit 2).

    Output cut short by the reader (``mixlab tasks | head``) is not an error: exit 0, nothing on stderr.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    wanted = next((a for a in argv if a in COMMANDS), "")
    try:
        try:
            code = _run(argv)
        finally:
            sys.stdout.flush()  # a closed pipe shows here, not at interpreter exit
    except BrokenPipeError:
        _silence_stdout()
        return 0
    except MixlabError as exc:
        return _fail(wanted, exc)
    except ModuleNotFoundError as exc:  # an optional package, imported deeper than the command checked
        error = missing_dependency(exc, f"mixlab {wanted}".strip())
        if error is None:
            raise
        return _fail(wanted, error)
    except ImportError as exc:  # a module's own "needs X: pip install 'mixlab[extra]'" message is the whole story
        if "pip install 'mixlab[" not in str(exc):
            raise
        return _fail(wanted, exc)
    return code


def _run(argv: list[str]) -> int:
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if not args.verbose:  # the CLI prints one line per plugin failure itself (warn_load_errors)
        logging.getLogger("mixlab.registry").setLevel(logging.ERROR)
    for library in LIBRARIES_WITH_OWN_HANDLER:  # printed by their own handler; through the root one too = twice
        logging.getLogger(library).propagate = False
    if args.command is None:
        parser.print_help()
        return 2
    return importlib.import_module(COMMANDS[args.command][0]).run(args) or 0


def _fail(command: str, exc: BaseException) -> int:
    print(f"mixlab {command}: error: {exc}" if command else f"mixlab: error: {exc}", file=sys.stderr)
    return 1


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so that the interpreter's last flush does not fail on the closed pipe too."""
    with contextlib.suppress(OSError, ValueError, AttributeError):  # stdout may be no real file (tests capture it)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def warn_load_errors(registry) -> None:
    """One line per plugin that failed to load, on stderr."""
    for error in registry.load_errors:
        print(f"warning: {error}", file=sys.stderr)
