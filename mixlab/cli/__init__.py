"""The ``mixlab`` command line. Each sub-command lives in its own module, imported only when run."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from mixlab.errors import MixlabError

# command -> (module, one-line help). Modules define configure(parser) and run(args) -> int.
COMMANDS: dict[str, tuple[str, str]] = {
    "tasks": ("mixlab.cli.tasks", "list registered tasks"),
    "mixtures": ("mixlab.cli.mixtures", "list named mixtures"),
    "rates": ("mixlab.cli.rates", "show a mixture's rates per task and family"),
    "affinity": ("mixlab.cli.affinity", "analyse a task-transfer results table"),
    "train": ("mixlab.cli.train", "pre-train a T5 model on a mixture"),
    "report": ("mixlab.cli.report", "write an HTML report of a run folder"),
    "eval": ("mixlab.cli.eval", "decode a split with a run's model and score it with the task metrics"),
}


def build_parser(argv: list[str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mixlab", description="Design and train on multi-task mixtures.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    wanted = next((a for a in argv if a in COMMANDS), None)
    for name, (module, help_text) in COMMANDS.items():
        cmd = sub.add_parser(name, help=help_text, description=help_text)
        if name == wanted:  # configure only the command being run: others may need heavy imports
            importlib.import_module(module).configure(cmd)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if not args.verbose:  # the CLI prints one line per plugin failure itself (warn_load_errors)
        logging.getLogger("mixlab.registry").setLevel(logging.ERROR)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return importlib.import_module(COMMANDS[args.command][0]).run(args) or 0
    except MixlabError as exc:
        print(f"mixlab {args.command}: error: {exc}", file=sys.stderr)
        return 1


def warn_load_errors(registry) -> None:
    """One line per plugin that failed to load, on stderr."""
    for error in registry.load_errors:
        print(f"warning: {error}", file=sys.stderr)
