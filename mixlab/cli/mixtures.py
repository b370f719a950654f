"""``mixlab mixtures``: list named mixtures (entry points) with the distribution providing each."""

from __future__ import annotations

import argparse
import json

from mixlab.samplers.named import mixture_entry_points


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print a JSON list instead of a table")


def run(args: argparse.Namespace) -> int:
    found = mixture_entry_points()
    rows = [{"name": i.name, "distribution": i.distribution, "version": i.version, "entry_point": i.value}
            for i in found]
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    if not rows:
        print("no named mixtures installed (plugins declare them in entry point group 'mixlab.mixtures')")
        return 0
    header = {"name": "name", "distribution": "distribution", "version": "version", "entry_point": "entry point"}
    keys = list(header)
    widths = {k: max(len(str(r[k])) for r in [header, *rows]) for k in keys}
    for r in [header, {k: "-" * widths[k] for k in keys}, *rows]:
        print("  ".join(str(r[k]).ljust(widths[k]) for k in keys).rstrip())
    return 0
