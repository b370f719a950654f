"""``mixlab rates SPEC``: a mixture's probability per task and family, as a table, JSON or a plot."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from mixlab.cli import warn_load_errors
from mixlab.registry import load_registry
from mixlab.samplers.mixture import Mixture
from mixlab.samplers.named import get_mixture


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("spec", metavar="SPEC", help="a named mixture (see `mixlab mixtures`) or a spec file")
    parser.add_argument("--total", type=int, metavar="N", help="show expected examples and epochs for N examples")
    parser.add_argument("--json", action="store_true", help="print {mixture, rates, families} as JSON")
    parser.add_argument("--plot", metavar="PATH", help="write a PNG of task sizes, cap and rates")


def run(args: argparse.Namespace) -> int:
    registry = load_registry()
    warn_load_errors(registry)
    mix = get_mixture(args.spec, registry)
    if args.json:
        print(json.dumps({"mixture": mix.name, "rates": mix.rates, "families": mix.families}, indent=1))
    else:
        print(format_table(mix, args.total))
    if args.plot:
        path = plot_rates(mix, args.plot)
        if not args.json:
            print(f"wrote {path}")
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
        return "  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(line, widths)))

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


def plot_rates(mix: Mixture, path: str | Path) -> Path:
    """ExT5 Figure 1 style: sorted task sizes (log scale), the cap line, and the resulting rates."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = sorted(mix.table(), key=lambda r: r["num_examples"], reverse=True)
    x = range(len(rows))
    sizes = [r["num_examples"] for r in rows]
    capped = [r["num_capped"] for r in rows]
    fig, ax = plt.subplots(figsize=(max(6.0, 0.09 * len(rows) + 3), 4.5))
    ax.bar(x, sizes, color="#9ecae1", label="train examples")
    caps = [c for c, s in zip(capped, sizes) if c < s]
    if caps:
        ax.axhline(max(caps), color="#d62728", linestyle="--", label=f"cap = {max(caps):,.0f}")
    ax.set_yscale("log")
    ax.set_ylabel("train examples (log)")
    ax.set_xlabel("task (sorted by size)")
    ax.set_xticks([])
    twin = ax.twinx()
    twin.plot(list(x), [r["rate"] for r in rows], color="#08519c", marker=".", label="rate")
    twin.set_ylabel("sampling rate")
    twin.set_ylim(bottom=0)
    handles = ax.get_legend_handles_labels()[0] + twin.get_legend_handles_labels()[0]
    ax.legend(handles=handles, loc="upper right")
    ax.set_title(f"mixture {mix.name}: {len(rows)} tasks")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
