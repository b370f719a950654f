"""``mixlab tasks``: list registered tasks with family totals."""

from __future__ import annotations

import argparse
import json
from collections import defaultdict

from mixlab.cli import warn_load_errors
from mixlab.registry import load_registry


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--collection", help="only tasks of this collection (e.g. exmix)")
    parser.add_argument("--family", help="only tasks of this family (e.g. NLI)")
    parser.add_argument("--tag", help="only tasks with this tag (e.g. SUM)")
    parser.add_argument("--pattern", help="glob on task names (e.g. 'exmix/glue_*')")
    parser.add_argument("--json", action="store_true", help="print a JSON list instead of a table")


def run(args: argparse.Namespace) -> int:
    registry = load_registry()
    warn_load_errors(registry)
    tasks = registry.select(collection=args.collection, family=args.family, tag=args.tag, pattern=args.pattern)
    if args.json:
        print(json.dumps([t.summary() for t in tasks], indent=1))
        return 0
    print(format_table(tasks))
    return 0


def format_table(tasks) -> str:
    """A fixed-width table of tasks followed by totals per family."""
    rows = [(t.name, t.family, t.collection, f"{t.num_train:,}") for t in tasks]
    header = ("name", "family", "collection", "train size")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]

    def line(cells):
        pairs = enumerate(zip(cells, widths, strict=True))
        return "  ".join(c.rjust(w) if i == 3 else c.ljust(w) for i, (c, w) in pairs)

    out = [line(header), line(["-" * w for w in widths]), *map(line, rows)]
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for t in tasks:
        totals[t.family][0] += 1
        totals[t.family][1] += t.num_train
    out.append("")
    out.append(f"{'family':<28} {'tasks':>5} {'train examples':>15}")
    for family in sorted(totals):
        count, size = totals[family]
        out.append(f"{family:<28} {count:>5} {size:>15,}")
    out.append(f"{'total':<28} {len(tasks):>5} {sum(t.num_train for t in tasks):>15,}")
    return "\n".join(out)
