"""Pre-train a T5.1.1 model on an ExT5-style mixture (self-supervised text R-mixed with tasks).

Without --config it trains the tiny model on the embedded ``wordnet-ext5`` mixture (CPU, a few
minutes); give a PretrainConfig file for real runs. Under torchrun each process trains on its own
shard of the stream (DDP):

    python examples/pretrain_ext5.py --steps 200 --out runs/ext5-tiny
    torchrun --nproc_per_node 8 examples/pretrain_ext5.py --config ext5-base.yaml --out runs/ext5-base
"""

from __future__ import annotations

import argparse
import json

import mixlab


def default_config() -> mixlab.PretrainConfig:
    """The ExT5 recipe scaled down to the tiny model and the embedded WordNet data (R = 2)."""
    import mixlab_wordnet

    return mixlab.PretrainConfig(
        name="ext5-wordnet-tiny", model="tiny", mixture="wordnet-ext5", R=2.0,
        tokenizer=mixlab_wordnet.tokenizer_path(), batch_size=32, input_length=128, target_length=32,
        steps=300, learning_rate=0.01, warmup_steps=100, log_interval=20, eval_interval=100, eval_batches=4,
        checkpoint_interval=100, out_dir="runs/ext5-wordnet-tiny")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", help="a PretrainConfig file (.yaml / .toml); default: tiny on wordnet-ext5")
    parser.add_argument("--out", help="run folder (overrides the config's out_dir)")
    parser.add_argument("--steps", type=int, help="total steps (overrides the config)")
    parser.add_argument("--resume", action="store_true", help="continue from the newest good checkpoint")
    args = parser.parse_args()

    config = mixlab.PretrainConfig.from_file(args.config) if args.config else default_config()
    result = mixlab.pretrain(config, out_dir=args.out, steps=args.steps, resume=args.resume)
    if result.checkpoint is not None:
        print(json.dumps({"checkpoint": str(result.checkpoint), **{k: result.last_metrics.get(k) for k in
                                                                     ("step", "loss", "eval_loss")}}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
