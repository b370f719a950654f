"""DoReMi finds the task it cannot learn from: random labels beside the same labels made learnable.

The recipe of docs/training.md on the embedded WordNet data and the tiny model (CPU, a few minutes).
Both tasks give a WordNet word one of eight labels drawn at random (seeded) per example:
``demo/random_labels`` shows only the word (nothing to learn beyond the label frequencies: an
unlearnable task), ``demo/shown_labels`` also shows the label in the input (learnable: copy it).

1. reference run: the uniform mixture of the two tasks;
2. proxy run from scratch with ``policy: {kind: doremi, reference: <reference run>}``: the excess loss
   over the reference stays high on the learnable task while the proxy catches up with the reference,
   and falls to about zero on the random labels once their frequencies are learned, so DoReMi moves
   weight away from the random labels;
3. the averaged weights, written by the proxy run as ``doremi_mixture.yaml``, are the main run's mixture.

Prints the weights at a few steps and where the figure is (the run report's "Mixture weights over
training" part, also saved as PNG):

    python examples/doremi_unlearnable.py --out runs/doremi-unlearnable
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

import mixlab
from mixlab.train import read_metrics

RANDOM_TASK = "demo/random_labels"
LEARNABLE_TASK = "demo/shown_labels"
LABELS = ("red", "green", "blue", "black", "white", "tree", "fish", "water")  # one token each in the WordNet vocabulary


def label_task(name: str, *, shown: bool, num_examples: int = 4000, seed: int = 0) -> mixlab.Task:
    """WordNet words with a label drawn at random (seeded) per example; ``shown``: the input shows the label too."""
    import mixlab_wordnet

    lines = (Path(mixlab_wordnet.data_dir()) / "hypernym.train.jsonl").read_text().splitlines()[:num_examples]
    labels = np.random.default_rng(seed).integers(len(LABELS), size=len(lines))
    rows = [{"inputs": f"label: {json.loads(line)['word']}" + (f" is {LABELS[k]}" if shown else ""),
             "targets": LABELS[k]} for line, k in zip(lines, labels, strict=True)]
    return mixlab.Task(name=name, family="Labels", collection="demo", num_examples={"train": len(rows)},
                       source=mixlab.CallableSource(fn=lambda split: rows),
                       formatter=lambda row: {"inputs": row["inputs"], "targets": row["targets"]},
                       description=f"WordNet words with random labels, {'shown' if shown else 'not shown'} in the "
                                   f"input ({'learnable' if shown else 'unlearnable'})")


def registry() -> mixlab.Registry:
    """The two label tasks (tasks built here, beside nothing installed)."""
    return mixlab.Registry.from_tasks([label_task(RANDOM_TASK, shown=False), label_task(LEARNABLE_TASK, shown=True)],
                                      distribution="doremi-example")


def config(out: Path, name: str, steps: int, **fields: Any) -> mixlab.PretrainConfig:
    import mixlab_wordnet

    mixture = {"name": "shown-and-random", "tasks": [LEARNABLE_TASK, RANDOM_TASK], "strategy": {"kind": "uniform"}}
    base = dict(name=name, model="tiny", mixture=mixture, tokenizer=mixlab_wordnet.tokenizer_path(), batch_size=8,
                input_length=48, target_length=8, steps=steps, learning_rate=0.02, warmup_steps=10,
                log_interval=1, checkpoint_interval=0, out_dir=str(out / name), backend={"precision": "fp32"})
    return mixlab.PretrainConfig(**{**base, **fields})


def run(out: Path, reference_steps: int = 100, proxy_steps: int = 60, eta: float = 0.2,
        progress: bool = True) -> dict[str, Any]:
    """Steps 1 and 2 of the recipe; returns the proxy run's weights per step and the averaged weights.

    ``eta`` is below the paper's 1.0: a proxy trained from scratch starts with excess losses of about 8
    nats, and over a run this short (the paper's ran 200k steps) eta = 1 swings the weights to one task
    within a few steps."""
    tasks = registry()
    reference = mixlab.pretrain(config(out, "reference", reference_steps), registry=tasks, progress=progress)
    policy = {"kind": "doremi", "reference": str(reference.out_dir), "eta": eta}
    proxy = mixlab.pretrain(config(out, "proxy", proxy_steps, policy=policy), registry=tasks, progress=progress)
    records = [r for r in read_metrics(proxy.out_dir) if "policy" in r]
    weights = {r["step"]: r["policy"]["weights"] for r in records}
    average = mixlab.resolve_mixture(str(proxy.out_dir / "doremi_mixture.yaml"), registry=tasks).probabilities
    return {"reference": reference.out_dir, "proxy": proxy.out_dir, "weights": weights, "average": average,
            "reference_loss": read_metrics(reference.out_dir)[-1]["task_loss"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="runs/doremi-unlearnable", help="folder for the two runs")
    parser.add_argument("--reference-steps", type=int, default=100)
    parser.add_argument("--proxy-steps", type=int, default=60)
    parser.add_argument("--eta", type=float, default=0.2)
    args = parser.parse_args()
    out = Path(args.out)
    result = run(out, args.reference_steps, args.proxy_steps, args.eta)
    print("reference run's last task losses:", {k: round(v, 3) for k, v in result["reference_loss"].items()})
    for step, weights in result["weights"].items():
        if step in (1, 2, 5, 10, 20) or step % 20 == 0:
            print(f"step {step:>4}: " + "  ".join(f"{t} {w:.4f}" for t, w in weights.items()))
    print("averaged weights (doremi_mixture.yaml):", {t: round(w, 4) for t, w in result["average"].items()})
    report = mixlab.report.write_report(result["proxy"])
    figure = out / "doremi_weights.png"
    from mixlab.report.weights import mapping_curves, weights_figure

    metrics = read_metrics(result["proxy"])
    records = [r for r in metrics if "policy" in r]
    policy = [{"step": r["step"], **r["policy"]} for r in records]
    fig = weights_figure(mapping_curves(policy, "weights"), {}, mapping_curves(policy, "signal"), "policy doremi")
    fig.savefig(figure, dpi=110, facecolor="white")
    print(f"report: {report}\nfigure: {figure}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
