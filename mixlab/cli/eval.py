"""``mixlab eval RUN``: decode a split with a run's model and print each task's metrics.

Predictions go to ``RUN/eval/<split>/<task>.jsonl``; a killed eval rerun with the same settings
reuses the tasks it finished (``--redo`` evaluates them again). See :func:`mixlab.evaluate`.
"""

from __future__ import annotations

import argparse
import json
import sys

from mixlab.evaluation.results import EvalResult


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", metavar="RUN", help="a run folder (newest good checkpoint) or a checkpoint folder")
    parser.add_argument("--tasks", metavar="GLOB", help="task names or globs, comma-separated (default: the "
                                                        "run's mixture)")
    parser.add_argument("--split", default="validation", help="the split to decode (default: validation)")
    parser.add_argument("--max-examples", type=int, metavar="N", help="each task's first N examples")
    parser.add_argument("--batch-size", type=int, default=32, help="examples decoded together (default 32)")
    parser.add_argument("--num-beams", type=int, default=1, help="beam width; 1 = greedy (default)")
    parser.add_argument("--max-length", type=int, help="tokens to decode at most (default: the run's target_length)")
    parser.add_argument("--device", default="auto", help="auto (CUDA when available), cpu, cuda, cuda:N")
    parser.add_argument("--out", help="write eval/ here instead of the run folder")
    parser.add_argument("--redo", action="store_true", help="evaluate finished tasks again")
    parser.add_argument("--json", action="store_true", help="print the whole result as JSON")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    import warnings

    from mixlab.cli import warn_load_errors
    from mixlab.evaluation.evaluate import evaluate
    from mixlab.registry import load_registry

    registry = load_registry()
    warn_load_errors(registry)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = evaluate(args.run, tasks=args.tasks, split=args.split, max_examples=args.max_examples,
                          batch_size=args.batch_size, num_beams=args.num_beams, max_length=args.max_length,
                          device=args.device, out_dir=args.out, registry=registry, redo=args.redo,
                          progress=not args.no_progress)
    for warning in caught:
        print(f"warning: {warning.message}", file=sys.stderr)
    print(json.dumps(result.to_dict(), indent=1) if args.json else format_result(result))
    return 0


def format_result(result: EvalResult) -> str:
    """Per task (family, examples, each metric, score), then family averages and the overall average."""
    rows = [[name, r.family, str(r.num_examples), "  ".join(f"{k} {v:.2f}" for k, v in r.metrics.items()),
             _num(r.score)] for name, r in result.tasks.items()]
    header = ["task", "family", "examples", "metrics", "score"]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def fmt(row: list[str]) -> str:
        return "  ".join(c.rjust(w) if i in (2, 4) else c.ljust(w) for i, (c, w) in
                         enumerate(zip(row, widths, strict=True))).rstrip()

    where = f" at step {result.step}" if result.step is not None else ""
    out = [f"eval on {result.split!r}{where}: {len(rows)} task(s)", fmt(header), fmt(["-" * w for w in widths]),
           *map(fmt, rows)]
    if result.families:
        width = max(len("family"), *map(len, result.families))
        out += ["", f"{'family':<{width}}  {'score':>7}"]
        out += [f"{family:<{width}}  {score:>7.2f}" for family, score in result.families.items()]
    out += ["", f"overall (mean over tasks): {_num(result.overall)}"]
    out += [f"left out: {task}: {why}" for task, why in result.skipped.items()]
    return "\n".join(out)


def _num(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"
