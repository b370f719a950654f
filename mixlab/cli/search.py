"""``mixlab search fit RESULTS --target COL``: regress a sweep's losses on its mixture weights, check the fit on
held-out runs (Spearman), and propose a mixture (printed, or written as a spec file ``mixlab rates`` reads).

RESULTS is any table of runs: CSV/TSV, Parquet or SQLite (``--table``/``--query``), with weight columns
(``weight:<task or family>`` by default; ``--weights`` names them; see :mod:`mixlab.search.results`) and
target columns (``--target``, several allowed: the proposal minimises their mean, or ``--objective``).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from mixlab.errors import ConfigError


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="search_command", metavar="SUBCOMMAND")
    fit = sub.add_parser("fit", help="fit a regression to a results table and propose a mixture",
                         description="fit a regression to a results table and propose a mixture")
    fit.add_argument("results", metavar="RESULTS", help="a table of runs: .csv, .tsv, .parquet, .sqlite")
    fit.add_argument("--target", action="append", required=True, metavar="COL",
                     help="target column (a loss; repeat or comma-separate for several)")
    fit.add_argument("--kind", default="lightgbm", choices=("lightgbm", "linear", "mixing_law"),
                     help="regression (default lightgbm, as RegMix)")
    fit.add_argument("--weights", metavar="A,B,...", help="the weight columns (default: the --prefix columns)")
    fit.add_argument("--prefix", default="weight:", help="weight columns start with this (default 'weight:')")
    fit.add_argument("--ignore", metavar="A,B,...", default="", help="numeric columns that are neither")
    fit.add_argument("--table", help="SQLite: the table to read")
    fit.add_argument("--query", help="SQLite: a query whose columns are weights and targets")
    fit.add_argument("--folds", type=int, default=5, help="cross-validation folds for the held-out check (default 5)")
    fit.add_argument("--seed", type=int, default=0, help="seed of the model, folds and candidates (default 0)")
    fit.add_argument("--candidates", type=int, default=10_000, help="candidate mixtures to score (default 10000)")
    fit.add_argument("--top-k", type=int, default=100, help="average the best K candidates (default 100)")
    fit.add_argument("--prior", default=None, choices=("uniform", "sizes"),
                     help="Dirichlet prior (default: sizes when --max-epochs is given, else uniform)")
    fit.add_argument("--objective", metavar="COL", help="the target to optimise (default: the mean of the targets)")
    fit.add_argument("--maximize", action="store_true", help="targets are metrics to maximise, not losses")
    fit.add_argument("--cap", action="append", default=[], metavar="NAME=P",
                     help="largest probability of a weight column (repeatable)")
    fit.add_argument("--max-epochs", type=float, help="most passes over a task's train examples within --budget")
    fit.add_argument("--budget", type=float, help="train examples of the run the mixture is for (with --max-epochs)")
    fit.add_argument("--collection", help="registry collection the weight columns' families belong to")
    fit.add_argument("--out", metavar="SPEC", help="write the proposal as a mixture spec (.yaml or .json)")
    fit.add_argument("--plot", metavar="PNG", help="write predicted vs true loss of the held-out runs")
    fit.add_argument("--json", action="store_true", help="print the fit and proposal as JSON")


def _split_list(values: list[str] | str | None) -> list[str]:
    items = values if isinstance(values, list) else [values or ""]
    return [x.strip() for item in items for x in item.split(",") if x.strip()]


def _caps(items: list[str]) -> dict[str, float]:
    caps = {}
    for item in items:
        name, sep, value = item.rpartition("=")
        try:
            caps[name] = float(value)
        except ValueError:
            name = ""
        if not sep or not name:
            raise ConfigError(f"--cap {item!r}: write NAME=PROBABILITY, e.g. --cap wordnet/define=0.3")
    return caps


def _registry() -> Any:
    from mixlab.cli import warn_load_errors
    from mixlab.registry import load_registry

    registry = load_registry()
    warn_load_errors(registry)
    return registry


def _sizes(registry: Any, names: tuple[str, ...], collection: str | None) -> dict[str, float]:
    """Train examples per weight column (a task, or a family's tasks summed) from the installed registry."""
    sizes = {}
    for name in names:
        tasks = [registry.get(name)] if name in registry else registry.select(family=name, collection=collection)
        if not tasks:
            raise ConfigError(f"--max-epochs needs each column's size: {name!r} is neither a registered task nor "
                              f"a family{f' of {collection!r}' if collection else ''}")
        sizes[name] = float(sum(t.num_train for t in tasks))
    return sizes


def run(args: argparse.Namespace) -> int:
    if args.search_command != "fit":
        print("usage: mixlab search fit RESULTS --target COL [--kind lightgbm] [--json]", file=sys.stderr)
        return 2
    from mixlab.search import Constraints, MixtureRegression
    from mixlab.search.results import read_table, split_columns

    if (args.max_epochs is None) != (args.budget is None):
        raise ConfigError("--max-epochs and --budget go together: epochs are counted within a budget of examples")
    caps = _caps(args.cap)  # flag errors before the fit, not after it
    targets = _split_list(args.target)
    split = split_columns(read_table(args.results, table=args.table, query=args.query), targets,
                          weights=_split_list(args.weights) or None, prefix=args.prefix,
                          ignore=_split_list(args.ignore))
    model = MixtureRegression(args.kind, seed=args.seed, higher_is_better=args.maximize)
    model.fit(split.weights, split.losses)
    heldout = model.cross_validate(folds=args.folds)
    registry = _registry() if args.out or args.max_epochs is not None else None
    sizes = _sizes(registry, model.names, args.collection) if args.max_epochs is not None else {}
    constraints = Constraints(caps=caps, max_epochs=args.max_epochs, budget=args.budget, sizes=sizes)
    proposal = model.propose(args.candidates, prior=args.prior, top_k=args.top_k, constraints=constraints,
                             target=args.objective)
    written: dict[str, str | None] = {"spec_file": None, "plot": None}
    if args.out:
        path = proposal.write_spec(args.out, registry, collection=args.collection)
        written["spec_file"] = str(path)
    if args.plot:
        from mixlab.search.plot import plot_heldout

        written["plot"] = str(plot_heldout(heldout, args.plot, title=f"{args.kind} on {args.results}"))
    summary = {"results": str(args.results), "num_runs": model.num_runs, "num_dropped": split.num_dropped,
               "weights": {"how": split.how, "columns": list(model.names)}, "kind": args.kind, "seed": args.seed,
               "targets": list(model.targets), "heldout": heldout.summary(), "proposal": proposal.summary(),
               **written}
    print(json.dumps(summary, indent=1) if args.json else _format(summary, heldout, proposal))
    return 0


def _format(summary: dict[str, Any], heldout: Any, proposal: Any) -> str:
    dropped = f" ({summary['num_dropped']} dropped: empty target)" if summary["num_dropped"] else ""
    columns = summary["weights"]["columns"]
    lines = [f"results: {summary['results']}: {summary['num_runs']} runs{dropped}; weights: "
             f"{summary['weights']['how']} ({len(columns)})",
             f"model: {summary['kind']} (seed {summary['seed']}) -> {', '.join(summary['targets'])}",
             str(heldout),
             f"proposal: mean of the top {proposal.top_k} of {proposal.num_candidates} candidates; predicted "
             f"{proposal.target} {proposal.predicted:.6g} (top-{proposal.top_k} mean {proposal.top_k_mean:.6g}, "
             f"spread {proposal.spread:.3g})"]
    width = max(len("column"), *map(len, columns))
    lines.append(f"  {'column':<{width}}  {'weight':>8}  {'spread':>8}")
    lines += [f"  {n:<{width}}  {w:>8.4f}  {proposal.weight_spread[n]:>8.4f}" for n, w in proposal.weights.items()]
    if summary["spec_file"]:
        lines.append(f"wrote {summary['spec_file']} (read it with `mixlab rates {summary['spec_file']}`)")
    if summary["plot"]:
        lines.append(f"wrote {summary['plot']}")
    return "\n".join(lines)
