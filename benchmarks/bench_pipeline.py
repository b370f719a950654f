"""End-to-end pipeline throughput: mixture stream -> tokenised, span-corrupted, packed batches.

Uses the ``wordnet-ext5`` mixture and the SentencePiece model of the ``mixlab-wordnet`` plugin when
installed, else a synthetic stream (2/3 text, 1/3 supervised) and a tiny model trained on the fly.
Reports wall time and CPU time (tokens per CPU-second = per core), and the stream alone for comparison.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_pipeline.py [--batches 40] [--batch-size 128]
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
import time
from pathlib import Path

import numpy as np

from mixlab.text import BatchConfig, batches, load_tokenizer, train_sentencepiece

WORDS = "the of a in to and is was for on with as by at from that which this an be are it or has".split()


def synthetic(seed: int = 0):
    """An endless stream of 2/3 self-supervised text and 1/3 supervised items."""
    rng = np.random.default_rng(seed)
    for index in itertools.count():
        words = " ".join(rng.choice(WORDS, size=int(rng.integers(20, 400))))
        if index % 3:
            yield {"task": "synthetic/text", "index": index, "text": words}
        else:
            yield {"task": "synthetic/qa", "index": index, "inputs": words[:200], "targets": words[:40]}


def setup(seed: int):
    try:
        import mixlab_wordnet

        import mixlab

        mixture = mixlab.get_mixture("wordnet-ext5")
        return (f"mixture {mixture.name!r} ({len(mixture.probabilities)} tasks)", lambda: mixture.stream(seed),
                load_tokenizer(mixlab_wordnet.tokenizer_path()), sorted(mixture.probabilities))
    except ImportError:
        model = train_sentencepiece([" ".join(WORDS)] * 50, Path(tempfile.mkdtemp()) / "sp", vocab_size=60)
        return ("synthetic stream", lambda: synthetic(seed), load_tokenizer(model),
                ["synthetic/qa", "synthetic/text"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--input-length", type=int, default=512)
    parser.add_argument("--target-length", type=int, default=114)
    parser.add_argument("--no-pack", action="store_true")
    args = parser.parse_args()
    label, make_stream, tokenizer, task_names = setup(0)
    config = BatchConfig(batch_size=args.batch_size, input_length=args.input_length,
                         target_length=args.target_length, pack=not args.no_pack)
    it = batches(make_stream(), tokenizer, config, task_names=task_names)
    next(it)  # warm up: loads task data, first chunk
    wall, cpu = time.perf_counter(), time.process_time()
    encoder_tokens = decoder_tokens = 0
    for batch in itertools.islice(it, args.batches):
        encoder_tokens += int((batch["encoder_segment_ids"] > 0).sum())
        decoder_tokens += int((batch["decoder_segment_ids"] > 0).sum())
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    items = it.stats["num_items"]
    fill = encoder_tokens / (args.batches * args.batch_size * args.input_length)
    print(f"{label}; tokenizer vocab {tokenizer.vocab_size}; {args.batches} batches of {args.batch_size} x "
          f"{args.input_length}/{args.target_length}, pack={config.pack}")
    print(f"pipeline: {wall:.2f} s wall, {cpu:.2f} s CPU; encoder fill {fill:.1%}; {it.stats}")
    print(f"  {encoder_tokens / wall / 1e3:8.1f} k encoder tokens/s wall, {encoder_tokens / cpu / 1e3:8.1f} k per "
          f"CPU-second (per core); {(encoder_tokens + decoder_tokens) / cpu / 1e3:.1f} k enc+dec tokens per CPU-s")
    print(f"  {args.batches * args.batch_size / cpu:8.1f} rows per CPU-second; nanoT5 needs ~117k encoder "
          "tokens/s on one A100 for T5-base")
    stream = iter(make_stream())
    for _ in itertools.islice(stream, items):  # warm up as above: every task's data is loaded
        pass
    cpu = time.process_time()
    for _ in itertools.islice(stream, items):
        pass
    cpu = time.process_time() - cpu
    print(f"stream alone (after loading): {items} items in {cpu:.3f} CPU-s ({items / cpu / 1e3:.1f} k items per "
          f"CPU-second)")


if __name__ == "__main__":
    main()
