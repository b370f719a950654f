"""``mixlab finetune CHECKPOINT --task T | --mixture M --out DIR``: ExT5-style fine-tuning, keeping the best model.

A fresh optimizer at a constant learning rate, dropout 0.1, evaluation with the task metrics every
``--eval-interval`` steps; the best model by ``--best-metric`` goes to ``DIR/best/`` (evaluate it with
``mixlab eval DIR/best``). See :func:`mixlab.finetune`.
"""

from __future__ import annotations

import argparse
import json


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", metavar="CHECKPOINT", help="a run folder or one of its checkpoint folders")
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--task", help="a registered task to fine-tune on")
    target.add_argument("--mixture", help="a named mixture or a mixture spec file")
    parser.add_argument("--out", required=True, help="the fine-tuning run's folder")
    parser.add_argument("--steps", type=int, default=1000, help="optimizer steps (default 1000)")
    parser.add_argument("--learning-rate", type=float, default=1e-3, help="constant learning rate (default 1e-3)")
    parser.add_argument("--dropout", type=float, default=0.1, help="dropout rate (default 0.1, as ExT5)")
    parser.add_argument("--batch-size", type=int, help="default: the pre-training run's")
    parser.add_argument("--eval-interval", type=int, help="steps between evaluations (default: steps // 5)")
    parser.add_argument("--eval-max-examples", type=int, default=200, help="examples per task and eval (default 200)")
    parser.add_argument("--eval-tasks", help="tasks or globs to evaluate, comma-separated (default: those trained on)")
    parser.add_argument("--best-metric", default="overall",
                        help="overall (default), a metric key such as accuracy, a family, a task, or task:key")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--resume", action="store_true", help="continue a cut fine-tuning run in --out")
    parser.add_argument("--json", action="store_true", help="print the whole result as JSON")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from mixlab.train.finetune import finetune

    result = finetune(args.checkpoint, args.task or args.mixture, out_dir=args.out, steps=args.steps,
                      learning_rate=args.learning_rate, dropout_rate=args.dropout, batch_size=args.batch_size,
                      eval_interval=args.eval_interval, eval_max_examples=args.eval_max_examples,
                      eval_tasks=args.eval_tasks, best_metric=args.best_metric, seed=args.seed, resume=args.resume,
                      progress=not args.no_progress)
    if args.json:
        print(json.dumps(result.to_dict(), indent=1))
        return 0
    for record in result.evals:
        mark = "  <- best" if result.best and record["step"] == result.best.step else ""
        print(f"step {record['step']:>6}  {args.best_metric} {record['value']:.2f}{mark}")
    if result.best is not None:
        print(f"best: step {result.best.step}, {result.best.metric} {result.best.value:.2f}, model in "
              f"{result.best.path}")
    return 0
