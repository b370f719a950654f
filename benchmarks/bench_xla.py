"""The xla backend on CPU (PJRT): compile count and steady-state step time of the tiny T5.1.1.

Builds mixlab's ``Trainer`` (packed synthetic batches, segment-masked forward, tensor Adafactor,
rsqrt schedule) on ``XlaBackend`` and calls its compiled step directly, the way the loop does
(``to_device`` then the step); then runs ``mixlab.train`` end to end and reads steps/s from its
log windows after the first. Prints how many graphs were compiled during warm-up and in the timed
steady state (should be 0), the first step's trace+compile time and the steady-state step time.

    PJRT_DEVICE=CPU .venv-xla/bin/python benchmarks/bench_xla.py [--steps 40] [--devices 4 --parallel ddp]

Run from another environment (``make bench`` uses ``.venv``) it re-runs itself with
``.venv-xla/bin/python`` when that exists, and otherwise says it was skipped.
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=40, help="timed steps")
    parser.add_argument("--warmup", type=int, default=5, help="untimed steps first (compilation happens here)")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--input-length", type=int, default=128)
    parser.add_argument("--target-length", type=int, default=32)
    parser.add_argument("--parallel", choices=["none", "ddp", "fsdp"], default="none")
    parser.add_argument("--devices", type=int, default=1, help="virtual CPU devices (CPU_NUM_DEVICES)")
    parser.add_argument("--model", default="tiny", help="T5.1.1 preset")
    return parser.parse_args()


def ensure_torch_xla() -> None:
    """Re-exec under .venv-xla when this interpreter lacks torch-xla; exit 0 with a note if none."""
    if importlib.util.find_spec("torch_xla") is not None:
        return
    python = ROOT / ".venv-xla" / "bin" / "python"
    if python.exists() and Path(sys.prefix).resolve() != python.parents[1].resolve():
        os.execv(str(python), [str(python), *sys.argv])
    print("bench_xla: skipped (torch-xla is not installed; make the .venv-xla environment: make test-xla)")
    sys.exit(0)


def make_config(args: argparse.Namespace, out_dir: str, steps: int):
    from mixlab.train import PretrainConfig

    return PretrainConfig(name="bench-xla", model=args.model, data="synthetic", batch_size=args.batch_size,
                          input_length=args.input_length, target_length=args.target_length, steps=steps,
                          warmup_steps=10, learning_rate=0.01, log_interval=args.warmup, checkpoint_interval=0,
                          out_dir=out_dir, seed=0,
                          backend={"name": "xla", "precision": "fp32", "parallel": args.parallel})


def time_step(args: argparse.Namespace, backend, out_dir: str) -> dict:
    """Compile counts and timings of the compiled train step, fed through ``to_device`` like the loop."""
    import torch_xla.core.xla_model as xm

    from mixlab.backends.xla_backend import compile_count
    from mixlab.train import Trainer, build_data

    config = make_config(args, f"{out_dir}/step", args.warmup + args.steps)
    trainer = Trainer(config, backend, data=build_data)
    host = [trainer.source.batch(i) for i in range(args.warmup + args.steps)]  # made before timing
    counts = [compile_count()]
    start = time.perf_counter()
    trainer.step_fn(backend.to_device(host[0]))
    xm.wait_device_ops()
    first_seconds = time.perf_counter() - start
    counts.append(compile_count())
    for batch in host[1:args.warmup]:
        trainer.step_fn(backend.to_device(batch))
    xm.wait_device_ops()
    warm = compile_count()
    start = time.perf_counter()
    for batch in host[args.warmup:]:
        outputs = trainer.step_fn(backend.to_device(batch))
    xm.wait_device_ops()
    seconds = time.perf_counter() - start
    target_tokens = sum(int((b["labels"] >= 0).sum()) for b in host[args.warmup:])
    return {"compiles_first_step": counts[1] - counts[0], "compiles_warmup": warm - counts[0],
            "compiles_steady": compile_count() - warm, "first_step_s": first_seconds,
            "step_ms": 1000 * seconds / args.steps, "steps_per_s": args.steps / seconds,
            "target_tokens_per_s": target_tokens / seconds, "last_loss": float(backend.to_host(outputs[0]))}


def time_loop(args: argparse.Namespace, backend, out_dir: str) -> dict:
    """``mixlab.train`` end to end (data in a prefetch thread, logging); windows after the first."""
    from mixlab.train import read_metrics, train

    config = make_config(args, f"{out_dir}/loop", args.warmup + args.steps)
    result = train(config, backend=backend, progress=False)
    records = [r for r in read_metrics(result.out_dir) if "steps_per_s" in r]
    windows = [(r["step"] - p["step"], r) for p, r in itertools.pairwise(records)]
    seconds = sum(n / r["steps_per_s"] for n, r in windows)
    data_seconds = sum(r["data_share"] * n / r["steps_per_s"] for n, r in windows)
    return {"loop_steps_per_s": sum(n for n, _ in windows) / seconds, "loop_data_share": data_seconds / seconds}


def main() -> int:
    args = parse_args()
    ensure_torch_xla()
    os.environ.setdefault("PJRT_DEVICE", "CPU")
    if args.devices > 1:
        os.environ["CPU_NUM_DEVICES"] = str(args.devices)
    from mixlab.backends.xla_backend import XlaBackend, compile_count

    backend = XlaBackend(parallel=args.parallel).setup()
    with tempfile.TemporaryDirectory(prefix="bench-xla-") as out_dir:
        step = time_step(args, backend, out_dir)
        loop = time_loop(args, backend, out_dir)
    info = backend.describe()
    print(f"xla backend on {info['device_type']} ({info['num_devices']} device(s), parallel {args.parallel}), "
          f"T5.1.1 {args.model}, batch {args.batch_size} x {args.input_length}/{args.target_length}, "
          f"{args.steps} timed steps after {args.warmup}")
    print(f"  compilations: first step {step['compiles_first_step']}, warm-up total {step['compiles_warmup']}, "
          f"timed steady state {step['compiles_steady']} (total in process {compile_count()})")
    print(f"  first step (trace + compile + run): {step['first_step_s']:.2f} s")
    print(f"  steady-state step: {step['step_ms']:.1f} ms ({step['steps_per_s']:.1f} steps/s, "
          f"{step['target_tokens_per_s']:.0f} target tokens/s)")
    print(f"  mixlab.train end to end: {loop['loop_steps_per_s']:.1f} steps/s "
          f"(input pipeline share {loop['loop_data_share']:.0%})")
    print(json.dumps({"bench": "xla", "parallel": args.parallel, "devices": info["num_devices"], **step, **loop}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
