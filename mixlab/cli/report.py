"""``mixlab report RUN_DIR``: write a self-contained HTML report of a training run folder."""

from __future__ import annotations

import argparse

from mixlab._optional import require
from mixlab.cli._output import output_path, writing


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", metavar="RUN_DIR",
                        help="the run folder a training run wrote (config.yaml, metrics.jsonl, mixture_manifest.json, "
                             "env.json, checkpoints/); a folder holding none of these is refused")
    parser.add_argument("--out", metavar="PATH", help="where to write the HTML (default: RUN_DIR/report.html; "
                        ".html is added to a name without a suffix)")
    parser.add_argument("--affinity", metavar="RESULTS.csv",
                        help="transfer results table (source,target,score,budget); default RUN_DIR/affinity.csv")


def run(args: argparse.Namespace) -> int:
    from mixlab.report import write_report

    require("matplotlib", "plot", "writing the report")
    out = output_path(args.out, "--out", suffixes=(".html", ".htm"), example="report") if args.out else None
    with writing(out or f"{args.run_dir}/report.html", "--out" if out else "the report"):
        path = write_report(args.run_dir, out=out, affinity=args.affinity)
    print(path)
    return 0
