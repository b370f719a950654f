"""mixlab's training loop vs a plain hand-written HF transformers loop, same model, data and steps.

- mixlab: ``mixlab.train`` on the ``wordnet-ext5`` mixture (packed batches built live by
  ``mixlab.text.batches`` in a prefetch thread), packed segment-masked forward, tensor Adafactor.
- HF: ``T5ForConditionalGeneration(**batch).loss`` with HF ``Adafactor`` (T5 settings), fed by a
  ``torch.utils.data.DataLoader`` over the same examples pre-tokenised in padding mode (one example a
  row: HF's forward cannot mask packed rows). Its data is made before timing starts (its best case).

Both use the tiny T5.1.1 preset with the same initial weights, batch rows, lengths and steps; the
first ``--warmup`` steps are not timed, and each loop runs ``--repeats`` times, alternating, with the
best run reported (the machine may be shared). Prints steps/s, target tokens/s (packing puts more real
tokens in a step), their ratios, and each input pipeline's share of step time. Falls back to
synthetic copy-task data when the ``mixlab-wordnet`` plugin is not installed.

On a GPU (``--model base --precision auto``: bf16 autocast on CUDA for both loops) it also prints
model FLOPs utilisation: ``6 x (encoder params x encoder tokens + decoder params x decoder tokens)``
plus attention's ``12 x layers x length^2 x heads x d_kv`` terms, over the chip's dense bf16 peak.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_train.py [--steps 40] [--batch-size 16]
    python benchmarks/bench_train.py --model base --precision auto --batch-size 64 \
        --input-length 512 --target-length 114 --steps 30 --repeats 2      # on a CUDA machine
"""

from __future__ import annotations

import argparse
import itertools
import json
import tempfile
import time

import numpy as np
import torch

import mixlab


def make_config(args: argparse.Namespace, out_dir: str, data: str) -> mixlab.PretrainConfig:
    extra, model = {}, {"preset": args.model, "vocab_size": 32128}  # synthetic data: T5's vocabulary size
    if data == "mixture":
        import mixlab_wordnet

        extra, model = {"mixture": "wordnet-ext5", "tokenizer": mixlab_wordnet.tokenizer_path()}, args.model
    return mixlab.PretrainConfig(
        name="bench", model=model, data=data, batch_size=args.batch_size, input_length=args.input_length,
        target_length=args.target_length, steps=args.warmup + args.steps, warmup_steps=10, learning_rate=0.01,
        log_interval=args.warmup, checkpoint_interval=0, out_dir=out_dir, seed=0,
        backend={"precision": args.precision, "compile_model": args.compile}, **extra)


def run_mixlab(config: mixlab.PretrainConfig, args: argparse.Namespace) -> dict:
    """Train with mixlab; time the log windows after the first (which holds the warm-up steps)."""
    result = mixlab.pretrain(config, progress=False)
    records = [r for r in mixlab.train.read_metrics(result.out_dir) if "steps_per_s" in r]
    steps = seconds = data_seconds = target_tokens = 0.0
    for previous, record in itertools.pairwise(records):
        window = record["step"] - previous["step"]
        steps += window
        seconds += window / record["steps_per_s"]
        data_seconds += record["data_share"] * window / record["steps_per_s"]
        target_tokens += sum(record["task_tokens"].values())
    return {"steps_per_s": steps / seconds, "target_tokens_per_s": target_tokens / seconds,
            "data_share": data_seconds / seconds, "final_loss": records[-1]["loss"]}


def padded_batches(config: mixlab.PretrainConfig, num_batches: int) -> list[dict]:
    """The same data in padding mode, as HF feeds it: input_ids, attention_mask, labels."""
    if config.data == "synthetic":
        from mixlab.train import SyntheticBatches

        source = SyntheticBatches(["a/b"], batch_size=config.batch_size, input_length=config.input_length,
                                  target_length=config.target_length, vocab_size=32128, pack=False)
        raw = [source.batch(i) for i in range(num_batches)]
    else:
        from mixlab.text import BatchConfig, batches, load_tokenizer

        mixture = mixlab.get_mixture(config.mixture)
        batch_config = BatchConfig(batch_size=config.batch_size, input_length=config.input_length,
                                   target_length=config.target_length, pack=False)
        stream = mixture.stream(config.seed, shard=(0, 1))
        iterator = batches(stream, load_tokenizer(config.tokenizer), batch_config, seed=config.seed,
                           task_names=list(mixture.probabilities))
        raw = list(itertools.islice(iterator, num_batches))
    keys = ("input_ids", "attention_mask", "labels")
    return [{k: torch.from_numpy(b[k].astype(np.int64)) for k in keys} for b in raw]


def run_hf(config: mixlab.PretrainConfig, vocab_size: int, data: list[dict], args: argparse.Namespace) -> dict:
    from torch.utils.data import DataLoader
    from transformers.optimization import Adafactor

    from mixlab.train import PRESETS, build_model

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    bf16 = args.precision == "bf16" or (args.precision == "auto" and device.type == "cuda")
    loader = DataLoader(data, batch_size=None, shuffle=False, num_workers=0, pin_memory=device.type == "cuda")
    model = build_model(PRESETS[args.model], vocab_size, seed=config.seed).to(device).train()
    forward = torch.compile(model) if args.compile else model
    optimizer = Adafactor(model.parameters(), lr=0.01, scale_parameter=True, relative_step=False,
                          warmup_init=False)
    data_seconds = seconds = 0.0
    target_tokens = 0
    iterator = iter(loader)
    for step in range(args.warmup + args.steps):
        start = time.perf_counter()
        batch = {k: v.to(device, non_blocking=True) for k, v in next(iterator).items()}
        fetched = time.perf_counter()
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            loss = forward(**batch).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        loss_value = loss.item()
        if step >= args.warmup:
            data_seconds += fetched - start
            seconds += time.perf_counter() - start
            target_tokens += int((batch["labels"] >= 0).sum())
    return {"steps_per_s": args.steps / seconds, "target_tokens_per_s": target_tokens / seconds,
            "data_share": data_seconds / seconds, "final_loss": loss_value}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=40, help="timed steps")
    parser.add_argument("--warmup", type=int, default=10, help="untimed steps first")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--input-length", type=int, default=128)
    parser.add_argument("--target-length", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3, help="alternating runs of each loop; the best is reported")
    parser.add_argument("--model", default="tiny", help="T5.1.1 preset: tiny, small, base, large, xl, xxl")
    parser.add_argument("--precision", default="fp32", choices=["fp32", "bf16", "auto"],
                        help="auto: bf16 autocast on CUDA, fp32 on CPU")
    parser.add_argument("--compile", action="store_true", help="torch.compile the model in both loops")
    args = parser.parse_args()

    try:
        import mixlab_wordnet  # noqa: F401

        data = "mixture"
    except ImportError:
        data = "synthetic"
    if not torch.cuda.is_available():
        torch.set_num_threads(1)
    runs: dict[str, list[dict]] = {"mixlab": [], "hf": []}
    with tempfile.TemporaryDirectory() as out_dir:
        config = make_config(args, out_dir, data)
        vocab = mixlab.load_tokenizer(config.tokenizer).vocab_size if config.tokenizer else 32128
        hf_data = padded_batches(config, args.warmup + args.steps)
        for repeat in range(args.repeats):  # alternate, so load from other processes hits both alike
            run_config = mixlab.PretrainConfig(**{**config.to_dict(), "out_dir": f"{out_dir}/run{repeat}"})
            runs["mixlab"].append(run_mixlab(run_config, args))
            runs["hf"].append(run_hf(config, vocab, hf_data, args))
    ours, theirs = (max(runs[k], key=lambda r: r["steps_per_s"]) for k in ("mixlab", "hf"))  # best of repeats
    report = {
        "data": config.mixture if data == "mixture" else "synthetic", "model": args.model,
        "batch_size": args.batch_size,
        "device": torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu",
        "precision": args.precision, "compile": args.compile,
        "lengths": [args.input_length, args.target_length], "timed_steps": args.steps, "repeats": args.repeats,
        "all_steps_per_s": {k: [round(r["steps_per_s"], 2) for r in v] for k, v in runs.items()},
        "mixlab": ours, "hf": theirs,
        "steps_per_s_ratio": ours["steps_per_s"] / theirs["steps_per_s"],
        "target_tokens_per_s_ratio": ours["target_tokens_per_s"] / theirs["target_tokens_per_s"],
    }
    flops = step_flops(config, vocab, args)
    peak = peak_flops()
    for run in (ours, theirs):
        run["model_tflops_per_s"] = flops * run["steps_per_s"] / 1e12
        if peak:
            run["mfu"] = flops * run["steps_per_s"] / peak
    report["model_flops_per_step"] = flops
    report["peak_flops"] = peak
    print(json.dumps(report, indent=1))
    print(f"mixlab {ours['steps_per_s']:.2f} steps/s vs HF {theirs['steps_per_s']:.2f} steps/s "
          f"(x{report['steps_per_s_ratio']:.2f}); target tokens/s x{report['target_tokens_per_s_ratio']:.2f}; "
          f"input pipeline {100 * ours['data_share']:.1f}% of mixlab's step time "
          f"(HF, pre-tokenised: {100 * theirs['data_share']:.1f}%)")
    if peak:
        print(f"MFU (dense bf16 peak {peak / 1e12:.0f} TFLOP/s): mixlab {100 * ours['mfu']:.1f}%, "
              f"HF {100 * theirs['mfu']:.1f}%; mixlab {ours['target_tokens_per_s']:,.0f} target tokens/s")
    return 0


def step_flops(config: mixlab.PretrainConfig, vocab_size: int, args: argparse.Namespace) -> float:
    """Model FLOPs of one training step (forward + backward) over every position of the batch."""
    from mixlab.train import PRESETS, build_model

    shape = PRESETS[args.model]
    with torch.device("meta"):
        model = build_model(shape, vocab_size, seed=0)
    def count(module: torch.nn.Module) -> int:
        return sum(p.numel() for p in module.parameters())

    embed = model.shared.weight.numel()
    encoder = count(model.encoder) - embed
    decoder = count(model.decoder) - embed + model.lm_head.weight.numel()
    rows, enc, dec = args.batch_size, args.input_length, args.target_length
    attention = 12 * shape["num_heads"] * shape["d_kv"] * rows * (
        shape["num_layers"] * enc * enc + shape["num_decoder_layers"] * (dec * dec + dec * enc))
    return 6.0 * rows * (encoder * enc + decoder * dec) + attention


def peak_flops() -> float | None:
    """Dense bf16 peak of the CUDA device, for the chips we know; ``None`` elsewhere."""
    if not torch.cuda.is_available():
        return None
    name = torch.cuda.get_device_name()
    known = {"H100": 989e12, "H200": 989e12, "A100": 312e12, "L4": 121e12}
    return next((value for chip, value in known.items() if chip in name), None)


if __name__ == "__main__":
    raise SystemExit(main())
