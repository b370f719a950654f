"""Decoding speed: mixlab's greedy loop (k/v cache, finished rows leave the batch) vs a plain HF generate loop.

Both decode the same inputs of the same checkpoint in the same batches (validation examples of every
supervised WordNet task, sorted by length as ``mixlab.evaluate`` batches them): mixlab calls
``mixlab.evaluation.decode.greedy_decode``, HF calls ``model.generate(max_new_tokens=..., num_beams=1,
do_sample=False)`` (its own k/v cache). Only decoding is timed (inputs are tokenised and padded before);
each loop runs ``--repeats`` times, alternating, and the best run counts (the machine may be shared).
Prints examples/s for both, the ratio, mean output tokens, and whether the tokens agree (they should).

Without ``--run`` it first trains the tiny model on ``wordnet-ext5`` for ``--train-steps`` steps in a
temporary folder, so that the outputs have realistic, varied lengths.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_decode.py [--run RUN] [--batch-size 32] [--per-task 64]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time

import numpy as np
import torch

import mixlab
from mixlab.evaluation import decode
from mixlab.evaluation.loading import load_model


def train_run(out_dir: str, steps: int, model: str) -> str:
    import mixlab_wordnet

    config = mixlab.PretrainConfig(name="bench-decode", model=model, mixture="wordnet-ext5",
                                   tokenizer=mixlab_wordnet.tokenizer_path(), batch_size=32, input_length=64,
                                   target_length=32, steps=steps, warmup_steps=20, learning_rate=0.01,
                                   log_interval=steps, checkpoint_interval=0, out_dir=out_dir,
                                   backend={"precision": "fp32", "device": "cpu"})
    return str(mixlab.pretrain(config, progress=False).out_dir)


def batches_of(loaded, per_task: int, batch_size: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    registry = mixlab.load_registry()
    texts = []
    for task in registry:
        if "wordnet" in task.tags and not task.self_supervised:
            rows = task.load("validation")
            texts += [task.format(rows[i])["inputs"] for i in range(min(per_task, len(rows)))]
    rows = decode.encode_inputs(loaded.tokenizer, texts, loaded.config.input_length)
    order = np.argsort([-len(r) for r in rows], kind="stable")  # as decode.generate batches them
    return [decode.pad_rows([rows[i] for i in order[s:s + batch_size]]) for s in range(0, len(order), batch_size)]


def mixlab_loop(model, batches, max_length: int) -> list[list[int]]:
    return [row for ids, mask in batches for row in decode.greedy_decode(model, ids, mask, max_length=max_length)]


def hf_loop(model, batches, max_length: int) -> list[list[int]]:
    out = []
    with torch.inference_mode():
        for ids, mask in batches:
            generated = model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=max_length,
                                       do_sample=False, num_beams=1)
            out += [decode._cut(row, decode.EOS_ID) for row in generated[:, 1:].numpy()]
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", help="a run folder or checkpoint (default: train a tiny one first)")
    parser.add_argument("--train-steps", type=int, default=200)
    parser.add_argument("--model", default="tiny", help="model preset when training first")
    parser.add_argument("--per-task", type=int, default=64, help="validation examples per task")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-length", type=int, help="default: the run's target_length")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    with tempfile.TemporaryDirectory() as tmp:
        run = args.run or train_run(f"{tmp}/run", args.train_steps, args.model)
        loaded = load_model(run)
        batches = batches_of(loaded, args.per_task, args.batch_size)
        max_length = args.max_length or loaded.config.target_length
        num_examples = sum(len(ids) for ids, _ in batches)
        best = {"mixlab": float("inf"), "hf": float("inf")}
        outputs = {}
        for _ in range(args.repeats):
            for name, loop in (("mixlab", mixlab_loop), ("hf", hf_loop)):
                started = time.perf_counter()
                outputs[name] = loop(loaded.model, batches, max_length)
                best[name] = min(best[name], time.perf_counter() - started)
    speeds = {name: num_examples / seconds for name, seconds in best.items()}
    lengths = [len(row) for row in outputs["mixlab"]]
    result = {
        "run": run if args.run else f"tiny, {args.train_steps} steps on wordnet-ext5", "step": loaded.step,
        "model": loaded.config.model.preset, "examples": num_examples, "batch_size": args.batch_size,
        "max_length": max_length, "threads": args.threads, "mean_output_tokens": round(float(np.mean(lengths)), 2),
        "rows_at_max_length": int(sum(n == max_length for n in lengths)),
        "mixlab_examples_per_s": round(speeds["mixlab"], 1), "hf_generate_examples_per_s": round(speeds["hf"], 1),
        "ratio": round(speeds["mixlab"] / speeds["hf"], 3), "same_tokens": outputs["mixlab"] == outputs["hf"],
    }
    print(json.dumps(result, indent=1))
    print(f"greedy decoding: mixlab {speeds['mixlab']:.1f} examples/s, HF generate {speeds['hf']:.1f} examples/s "
          f"-> {result['ratio']:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
