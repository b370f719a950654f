"""``mixlab tasks``: list registered tasks with family totals."""

from __future__ import annotations

import argparse
import difflib
import fnmatch
import json
from collections import defaultdict

from mixlab.cli import warn_load_errors
from mixlab.errors import TaskNotFoundError
from mixlab.registry import Registry, load_registry


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--collection", help="only tasks of this collection (e.g. exmix)")
    parser.add_argument("--family", help="only tasks of this family (e.g. NLI)")
    parser.add_argument("--tag", help="only tasks with this tag (e.g. SUM)")
    parser.add_argument("--pattern", help="glob on task names (e.g. 'exmix/glue_*')")
    parser.add_argument("--json", action="store_true", help="print a JSON list instead of a table")


def run(args: argparse.Namespace) -> int:
    registry = load_registry()
    warn_load_errors(registry)
    filters = {"collection": args.collection, "family": args.family, "tag": args.tag, "pattern": args.pattern}
    tasks = registry.select(**filters)
    if not tasks and any(v is not None for v in filters.values()):
        raise TaskNotFoundError(no_match_message(registry, filters))
    if args.json:
        print(json.dumps([t.summary() for t in tasks], indent=1))
        return 0
    print(format_table(tasks))
    return 0


def no_match_message(registry: Registry, filters: dict[str, str | None]) -> str:
    """Why a selection is empty: the first filter value no task has (with close matches and the valid
    values), or, when each value exists, that they have no task in common."""
    values = {
        "collection": sorted({t.collection for t in registry}),
        "family": sorted({t.family for t in registry}),
        "tag": sorted({tag for t in registry for tag in t.tags}),
    }
    for key, known in values.items():
        wanted = filters[key]
        if wanted is None or wanted.casefold() in {v.casefold() for v in known}:
            continue
        close = difflib.get_close_matches(wanted, known, n=3, cutoff=0.6) or [
            v for v in known if wanted.casefold() in v.casefold()][:3]
        hint = f"did you mean {', '.join(map(repr, close))}? " if close else ""
        listing = ", ".join(known) if len(known) <= 12 else ", ".join(known[:12]) + f", ... ({len(known)} in all)"
        return f"no task has {key} {wanted!r}; {hint}fix: use one of the installed {key} values: {listing}"
    pattern = filters["pattern"]
    if pattern is not None and not any(fnmatch.fnmatchcase(t.name, pattern) for t in registry):
        stem = pattern.split("*", 1)[0].split("?", 1)[0]
        close = difflib.get_close_matches(stem, registry.names(), n=3, cutoff=0.6)
        hint = f" (names near {stem!r}: {', '.join(close)})" if close and stem else ""
        return (f"no task name matches the pattern {pattern!r}{hint}; fix: patterns are case-sensitive globs on the "
                f"full name, e.g. 'exmix/glue_*'")
    given = " and ".join(f"{k}={v!r}" for k, v in filters.items() if v is not None)
    return f"no task matches {given} together (each matches some tasks on its own); fix: drop one of the filters"


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
