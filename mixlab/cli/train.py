"""``mixlab train CONFIG``: pre-train (or fine-tune) a T5.1.1 model as a PretrainConfig file says.

Launch one process per device with torchrun for DDP/FSDP; see docs/training.md.
"""

from __future__ import annotations

import argparse
import json

from mixlab._optional import require


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", help="a PretrainConfig file (.yaml, .yml, .toml or .json)")
    parser.add_argument("--backend", choices=["torch", "xla"], help="override the config's backend.name")
    parser.add_argument("--resume", action="store_true", help="continue from the newest good checkpoint in --out")
    parser.add_argument("--steps", type=int, help="override the total number of steps")
    parser.add_argument("--out", help="override the run folder (out_dir)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    for module in ("torch", "transformers"):  # before the config is read: one line naming the extra
        require(module, "torch", "training")
    from mixlab.train import PretrainConfig, train

    config = PretrainConfig.from_file(args.config, steps=args.steps, out_dir=args.out)
    if args.backend:
        config = PretrainConfig(**{**config.to_dict(), "backend": {**config.backend.model_dump(),
                                                                     "name": args.backend}})
    result = train(config, resume=args.resume, progress=not args.no_progress)
    summary = {"out_dir": str(result.out_dir), "step": result.step,
               "checkpoint": str(result.checkpoint) if result.checkpoint else None,
               "loss": result.last_metrics.get("loss")}
    if result.checkpoint is not None:  # one line from the process that wrote it
        print(json.dumps(summary))
    return 0
