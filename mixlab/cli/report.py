"""``mixlab report RUN_DIR``: write a self-contained HTML report of a training run folder."""

from __future__ import annotations

import argparse


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", metavar="RUN_DIR",
                        help="the run folder a training run wrote (config.yaml, metrics.jsonl, mixture_manifest.json, "
                             "env.json, checkpoints/); a folder holding none of these is refused")
    parser.add_argument("--out", metavar="PATH", help="where to write the HTML (default: RUN_DIR/report.html)")
    parser.add_argument("--affinity", metavar="RESULTS.csv",
                        help="transfer results table (source,target,score,budget); default RUN_DIR/affinity.csv")


def run(args: argparse.Namespace) -> int:
    from mixlab.report import write_report

    path = write_report(args.run_dir, out=args.out, affinity=args.affinity)
    print(path)
    return 0
