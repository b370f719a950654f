"""Fine-tune a pre-trained checkpoint on one task (ExT5 §3: fine-tune after pre-training).

The model weights come from ``--checkpoint`` (a run folder or one of its checkpoints); the
optimizer starts fresh, with a constant learning rate (warmup as long as the run) and dropout 0.1:

    python examples/pretrain_ext5.py --steps 200 --out runs/ext5-tiny
    python examples/finetune.py --checkpoint runs/ext5-tiny --task wordnet/pos --out runs/ft-pos
"""

from __future__ import annotations

import argparse
import json

import mixlab


def finetune_config(args: argparse.Namespace, tokenizer: str) -> mixlab.PretrainConfig:
    pretrained = mixlab.PretrainConfig.from_file(f"{args.checkpoint.rstrip('/')}/config.yaml") \
        if args.checkpoint_config else None
    model = pretrained.model.model_dump() if pretrained else {"preset": args.model}
    return mixlab.PretrainConfig(
        name=f"finetune-{args.task}", model={**model, "dropout_rate": 0.1},
        mixture={"name": f"finetune-{args.task.replace('/', '-')}", "tasks": [args.task],
                 "strategy": {"kind": "uniform"}},
        tokenizer=tokenizer, batch_size=args.batch_size, input_length=args.input_length,
        target_length=args.target_length, steps=args.steps, learning_rate=args.learning_rate,
        warmup_steps=args.steps, init_from=args.checkpoint, log_interval=max(args.steps // 10, 1),
        eval_interval=max(args.steps // 2, 1), eval_batches=4, checkpoint_interval=0, out_dir=args.out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", required=True, help="run folder or checkpoints/step_* folder to start from")
    parser.add_argument("--task", default="wordnet/pos", help="registered task to fine-tune on")
    parser.add_argument("--tokenizer", help="tokenizer of the pre-training run (default: mixlab-wordnet's)")
    parser.add_argument("--model", default="tiny", help="model preset of the checkpoint")
    parser.add_argument("--checkpoint-config", action="store_true",
                        help="read the model shape from <checkpoint>/config.yaml (a run folder)")
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--input-length", type=int, default=128)
    parser.add_argument("--target-length", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--out", default="runs/finetune")
    args = parser.parse_args()

    if args.tokenizer is None:
        import mixlab_wordnet

        args.tokenizer = mixlab_wordnet.tokenizer_path()
    result = mixlab.pretrain(finetune_config(args, args.tokenizer))
    print(json.dumps({k: result.last_metrics.get(k) for k in ("step", "loss", "eval_loss", "eval_accuracy")}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
