"""``mixlab experiment``: run an experiment spec, show its runs, render its report.

    mixlab experiment run SPEC --out DIR [--executor local|ray] [--workers N] [--ray-address ADDR] [--dry-run]
    mixlab experiment status DIR [--json]
    mixlab experiment report DIR [--out PAGE.html]
    mixlab experiment protocols
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    run = sub.add_parser("run", help="run (or finish) an experiment: finished runs are skipped, cut ones resumed")
    run.add_argument("spec", metavar="SPEC", help="experiment spec (.yaml/.toml/.json); see examples/experiments/")
    run.add_argument("--out", required=True, metavar="DIR", help="experiment folder (results.sqlite, runs/, tables)")
    run.add_argument("--executor", choices=("local", "ray"), default="local",
                     help="local: a process pool on this machine (default); ray: one Ray task per run")
    run.add_argument("--workers", type=int, default=1, metavar="N",
                     help="runs at once (local processes; with a local Ray, its CPUs = N x resources.num_cpus)")
    run.add_argument("--ray-address", metavar="ADDR",
                     help="Ray cluster to join (default: $RAY_ADDRESS, else a local Ray)")
    run.add_argument("--dry-run", action="store_true", help="print the planned runs and exit (nothing runs)")
    run.add_argument("--no-progress", action="store_true", help="no progress bar")
    status = sub.add_parser("status", help="the runs of an experiment folder and their status")
    status.add_argument("dir", metavar="DIR")
    status.add_argument("--json", action="store_true", help="print the rows as JSON")
    report = sub.add_parser("report", help="write the experiment's tables and figures as one HTML page")
    report.add_argument("dir", metavar="DIR")
    report.add_argument("--out", metavar="PATH", help="page to write (default: DIR/report.html)")
    sub.add_parser("protocols", help="list the registered protocols")


def run(args: argparse.Namespace) -> int:
    return {"run": _run, "status": _status, "report": _report, "protocols": _protocols}[args.action](args)


def _run(args: argparse.Namespace) -> int:
    from mixlab.experiments import plan_experiment, run_experiment

    if args.dry_run:
        plan = plan_experiment(args.spec, check_files=False)
        print(f"{'hash':<16}  {'kind':<8}  {'steps':>6}  {'parent':<16}  key (and shared keys)")
        for planned in plan.runs:
            print(f"{planned.hash:<16}  {planned.kind:<8}  {planned.spec.steps or '':>6}  "
                  f"{planned.parent_hash or '-':<16}  {', '.join(planned.keys)}")
        kinds = {kind: sum(r.kind == kind for r in plan.runs) for kind in ("pretrain", "finetune", "eval")}
        print(f"{len(plan.runs)} runs: " + ", ".join(f"{n} {kind}" for kind, n in kinds.items()))
        return 0
    result = run_experiment(args.spec, args.out, executor=args.executor, workers=args.workers,
                            address=args.ray_address, progress=not args.no_progress)
    print(f"{args.out}: {len(result.executed)} run(s) executed, {len(result.skipped)} already done, "
          f"{len(result.failed)} failed, {len(result.blocked)} blocked")
    for run_hash, message in result.failed.items():
        print(f"  failed {run_hash}: {message}", file=sys.stderr)
    if result.summary is not None:
        for note in result.summary.notes:
            print(f"  {note}")
        print(f"  tables: {', '.join(f'{name}.csv' for name in result.summary.tables)}; "
              f"figures: {', '.join(result.summary.figures)}; report: mixlab experiment report {args.out}")
    return 0 if result.ok else 1


def _status(args: argparse.Namespace) -> int:
    from mixlab.experiments import ResultsTable

    table = ResultsTable(args.dir)
    rows = table.rows()
    if args.json:
        print(json.dumps(rows, indent=1, default=str))
        return 0
    meta = table.meta()
    print(f"experiment {meta.get('name')!r} ({meta.get('protocol')}), {table.path}")
    print(f"{'status':<8} {'kind':<8} {'steps':>6} {'tokens':>10} {'wall s':>8} {'try':>3}  {'hash':<16}  key / score")
    for row in rows:
        print(f"{row['status']:<8} {row['kind']:<8} {row['steps'] or '':>6} {row['tokens'] or '':>10} "
              f"{_fmt(row['wall_time_s']):>8} {row['attempts']:>3}  {row['hash']:<16}  {row['key']}{_score(row, meta)}")
        if row["error"]:
            print(f"{'':>50}{row['error']}")
    counts = table.counts()
    print(", ".join(f"{n} {status}" for status, n in counts.items() if n))
    return 0 if counts["failed"] == 0 else 1


def _score(row: dict[str, Any], meta: dict[str, Any]) -> str:
    metric = (meta.get("spec") or {}).get("eval", {}).get("metric")
    overall = (row.get("metrics") or {}).get("overall") or {}
    if row["kind"] != "eval" or metric not in overall:
        return ""
    return f"  ({metric} {overall[metric]:.4g} over {len((row['metrics'] or {}).get('tasks') or {})} task(s))"


def _fmt(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


def _report(args: argparse.Namespace) -> int:
    from mixlab.experiments.report import write_report

    page = write_report(args.dir, args.out)
    print(page)
    return 0


def _protocols(args: argparse.Namespace) -> int:
    from mixlab.experiments import get_protocol, protocol_names

    for name in protocol_names():
        print(f"{name:<26} {get_protocol(name).title}")
    return 0
