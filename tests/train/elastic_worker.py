"""Trains on two ledger tasks (each example names its task and index in its input); run by test_elastic.py,
under torchrun for several processes: ``python elastic_worker.py OUT STEPS SHARDS [JSON] [--resume]``, JSON holding
more config fields."""

from __future__ import annotations

import json
import sys

LEDGER_SIZES = {"ledger/a": 17, "ledger/b": 400}  # ledger/a runs through several epochs in a short run


def registry():
    from mixlab import CallableSource, Registry, Task

    def task(name: str, n: int) -> Task:
        rows = [{"inputs": f"ledger {name[-1]} {i}", "targets": "ok"} for i in range(n)]
        return Task(name=name, family="ledger", collection="ledger", num_examples={"train": n},
                    source=CallableSource(fn=lambda split: rows), formatter=lambda row: dict(row))

    return Registry.from_tasks([task(name, n) for name, n in LEDGER_SIZES.items()], distribution="ledger")


def config(out: str, steps: int, shards: int, **fields):
    import mixlab_wordnet

    from mixlab.train import PretrainConfig

    base = dict(mixture={"name": "ledger", "tasks": sorted(LEDGER_SIZES), "strategy": {"kind": "uniform"}},
                tokenizer=mixlab_wordnet.tokenizer_path(), model="tiny", batch_size=4, input_length=24,
                target_length=8, steps=steps, warmup_steps=2, log_interval=1, checkpoint_interval=2,
                data_shards=shards, log_batch_digest=True, out_dir=out, backend={"precision": "fp32"})
    return PretrainConfig(**{**base, **fields})


def main(argv: list[str]) -> int:
    from mixlab.train import train

    out, steps, shards = argv[0], int(argv[1]), int(argv[2])
    extra = json.loads(argv[3]) if len(argv) > 3 and argv[3] != "--resume" else {}
    train(config(out, steps, shards, **extra), registry=registry(), resume="--resume" in argv, progress=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
