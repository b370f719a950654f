"""Span corruption throughput: mixlab's batch-vectorised ``span_corrupt`` vs a per-example numpy port.

The reference below follows T5's algorithm one sequence at a time (random segmentation by shuffling
cut markers, interleave, sentinel per span), as a data pipeline mapping one example at a time would.
Both see the same sequences (568 raw tokens -> 512 inputs / 114 targets, T5 vocabulary).

Each side runs ``--repeats`` times, the two taking turns, and the best run of each is reported.

    .venv/bin/python benchmarks/bench_span_corruption.py [--num 4096] [--length 568] [--repeats 5]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from mixlab.text.span_corruption import reconstruct, span_corrupt

VOCAB = 32100
EOS = 1


def reference_one(tokens: np.ndarray, rng: np.random.Generator, density: float = 0.15, mean_span: float = 3.0):
    """One example, T5-style: returns (inputs, targets) with EOS."""
    length = len(tokens)
    num_noise = int(min(max(round(length * density), 1), length - 1))
    num_spans = max(round(num_noise / mean_span), 1)

    def segment(num_items: int) -> np.ndarray:
        markers = np.concatenate([np.ones(num_spans - 1, np.int64), np.zeros(num_items - num_spans, np.int64)])
        markers = rng.permutation(markers)
        segment_id = np.concatenate([[0], np.cumsum(markers)])
        return np.bincount(segment_id, minlength=num_spans)

    noise_lengths, kept_lengths = segment(num_noise), segment(length - num_noise)
    interleaved = np.stack([kept_lengths, noise_lengths], axis=1).ravel()
    is_noise = np.repeat(np.tile([False, True], num_spans), interleaved)
    starts = is_noise & ~np.concatenate([[False], is_noise[:-1]])
    sentinel = VOCAB - np.cumsum(starts)  # span k -> VOCAB - 1 - k
    inputs = np.where(starts, sentinel, tokens)[~is_noise | starts]
    targets = np.stack([sentinel, tokens], axis=1)[np.stack([starts, is_noise], axis=1)]  # sentinel k, span k
    return np.append(inputs, EOS), np.append(targets, EOS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num", type=int, default=4096)
    parser.add_argument("--length", type=int, default=568)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    data = np.random.default_rng(0).integers(3, VOCAB - 100, size=(args.num, args.length)).astype(np.int32)
    rows = list(data)
    num_tokens = args.num * args.length

    def timed(fn) -> float:
        start = time.perf_counter()
        fn()
        return time.perf_counter() - start

    ref_rng, mix_rng = np.random.default_rng(1), np.random.default_rng(1)
    sample = reference_one(data[0], np.random.default_rng(2))
    ours = span_corrupt(rows[:1], vocab_size=VOCAB, rng=np.random.default_rng(2))
    assert (reconstruct(*sample, vocab_size=VOCAB) == data[0]).all()  # the reference is right ...
    assert (reconstruct(ours.inputs[0], ours.targets[0], vocab_size=VOCAB) == data[0]).all()  # ... and so is mixlab
    assert args.length != 568 or (len(sample[0]), len(sample[1]), len(ours.inputs[0]), len(ours.targets[0])) == (
        512, 114, 512, 114)
    runs = [(timed(lambda: [reference_one(row, ref_rng) for row in rows]),
             timed(lambda: span_corrupt(rows, vocab_size=VOCAB, rng=mix_rng))) for _ in range(args.repeats)]
    reference, vectorised = (min(column) for column in zip(*runs, strict=True))
    print(f"sequences: {args.num} x {args.length} tokens, best of {args.repeats}")
    print(f"reference (per example): {num_tokens / reference / 1e6:8.2f} M tokens/s  ({reference:.3f} s)")
    print(f"mixlab (vectorised):     {num_tokens / vectorised / 1e6:8.2f} M tokens/s  ({vectorised:.3f} s)")
    print(f"speed-up: {reference / vectorised:.1f}x")


if __name__ == "__main__":
    main()
