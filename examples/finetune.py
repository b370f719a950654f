"""Fine-tune a pre-trained checkpoint on one task (ExT5 §3), keeping the best model by the task's metric.

A thin call of ``mixlab.finetune``: the model shape and tokenizer come from the checkpoint's run; the
optimizer starts fresh, at a constant learning rate, with dropout 0.1; every ``--eval-interval`` steps the
model decodes the task's validation split and the best checkpoint goes to ``OUT/best/``:

    python examples/pretrain_ext5.py --steps 200 --out runs/ext5-tiny
    python examples/finetune.py --checkpoint runs/ext5-tiny --task wordnet/pos --out runs/ft-pos
    mixlab eval runs/ft-pos/best --tasks wordnet/pos
"""

from __future__ import annotations

import argparse
import json

import mixlab


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", required=True, help="run folder or checkpoints/step_* folder to start from")
    parser.add_argument("--task", default="wordnet/pos", help="registered task to fine-tune on")
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--eval-interval", type=int, help="default: steps // 5")
    parser.add_argument("--eval-max-examples", type=int, default=200)
    parser.add_argument("--out", default="runs/finetune")
    parser.add_argument("--checkpoint-config", action="store_true", help=argparse.SUPPRESS)  # now always so
    args = parser.parse_args()

    result = mixlab.finetune(args.checkpoint, args.task, out_dir=args.out, steps=args.steps,
                             batch_size=args.batch_size, learning_rate=args.learning_rate,
                             eval_interval=args.eval_interval, eval_max_examples=args.eval_max_examples)
    print(json.dumps({"step": result.step, "best": result.best.model_dump(exclude={"metrics"}) if result.best else None,
                      "evals": result.evals}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
