"""``mixlab rates SPEC``: a mixture's probability per task and family, as a table, JSON or a plot.

SPEC goes through :func:`mixlab.samplers.resolve_mixture`, with ``--R`` and ``--cap`` as its overrides.
"""

from __future__ import annotations

import argparse
import json

from mixlab.cli import warn_load_errors
from mixlab.cli._output import figure_suffixes, output_path, writing, wrote
from mixlab.registry import load_registry
from mixlab.samplers.mixture import Mixture
from mixlab.samplers.plot import plot_rates
from mixlab.samplers.resolve import resolve_mixture


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("spec", metavar="SPEC", help="a named mixture (see `mixlab mixtures`) or a spec file")
    parser.add_argument("--R", type=float, dest="R", metavar="R",
                        help="replace the self-supervised : supervised ratio of an rmix mixture")
    parser.add_argument("--cap", type=float, metavar="K", help="replace the cap of every strategy that takes one")
    parser.add_argument("--total", type=int, metavar="N", help="show expected examples and epochs for N examples")
    parser.add_argument("--json", action="store_true", help="print {mixture, rates, families} as JSON")
    parser.add_argument("--plot", metavar="PATH", help="write a figure of task sizes, cap and rates (.png added to a "
                        "name without a suffix; .pdf, .svg also work); prints `wrote PATH`")


def run(args: argparse.Namespace) -> int:
    plot = output_path(args.plot, "--plot", suffixes=figure_suffixes(), example="rates") if args.plot else None
    registry = load_registry()
    warn_load_errors(registry)
    mix = resolve_mixture(args.spec, registry=registry, R=args.R, cap=args.cap)
    if args.json:
        print(json.dumps({"mixture": mix.name, "rates": mix.probabilities, "families": mix.families}, indent=1))
    else:
        print(format_table(mix, args.total))
    if plot is not None:
        with writing(plot, "--plot"):
            path = plot_rates(mix.table(), plot, cap=mix.cap, title=f"mixture {mix.name}: {len(mix)} tasks")
        wrote(path, args.json)
    return 0


def format_table(mix: Mixture, total: int | None = None) -> str:
    """Every leaf (task, family, size, capped size, probability[, expected examples, epochs]) then family totals."""
    rows = mix.table(total_examples=total)
    header = ["task", "family", "size", "capped", "rate"] + (["expected", "epochs"] if total is not None else [])
    cells = []
    for r in rows:
        line = [r["task"], r["family"], f"{r['num_examples']:,}", f"{r['num_capped']:,.0f}", f"{r['rate']:.6f}"]
        if total is not None:
            line += [f"{r['expected_examples']:,.0f}", f"{r['epochs']:.3f}"]
        cells.append(line)
    widths = [max(len(c[i]) for c in [header, *cells]) for i in range(len(header))]

    def fmt(line: list[str]) -> str:
        return "  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(line, widths, strict=True)))

    out = [f"mixture {mix.name!r}: {len(rows)} tasks", fmt(header), fmt(["-" * w for w in widths]), *map(fmt, cells)]
    families = mix.families
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["family"]] = counts.get(r["family"], 0) + 1
    width = max([len("family"), *map(len, families)])
    out += ["", f"{'family':<{width}}  {'tasks':>5}  {'rate':>8}"]
    out += [f"{f:<{width}}  {counts[f]:>5}  {p:>8.4f}" for f, p in families.items()]
    out.append(f"{'total':<{width}}  {len(rows):>5}  {sum(families.values()):>8.4f}")
    return "\n".join(out)
