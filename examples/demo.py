"""The mixlab demo: the ExT5 path end to end, on CPU, with no network.

1. list the task catalog (ExMix's 107 tasks and the embedded WordNet data);
2. build the ``ext5`` mixture (C4 span denoising R-mixed with ExMix) and show its rates;
3. analyse ExT5's co-training table (Table 2) as a transfer graph and propose a mixture;
4. pre-train a tiny T5.1.1 on ``wordnet-ext5`` (the embedded data, same recipe);
5. write the run folder: config, metrics, checkpoints, mixture manifest and an HTML report;
6. run a small co-training experiment (ExT5 §2.1) on four WordNet task families from that model,
   turn the runs' scores into a transfer graph and propose a mixture from it.

Run it with ``make demo`` or ``python examples/demo.py --out runs/demo``.
"""

from __future__ import annotations

import argparse
import shutil
from collections import Counter
from pathlib import Path

import mixlab_wordnet

import mixlab

HERE = Path(__file__).resolve().parent
TABLE2 = HERE / "data" / "table2_cotraining.csv"


def show_catalog(registry: mixlab.Registry) -> None:
    exmix = registry.select(collection="exmix")
    families = Counter(task.family for task in exmix)
    print(f"ExMix catalog: {len(exmix)} tasks, {sum(t.num_train for t in exmix):,} train examples, "
          f"{len(families)} families")
    for family, count in sorted(families.items(), key=lambda item: -item[1]):
        print(f"  {family:<24} {count:>3} tasks")
    wordnet = registry.select(collection="wordnet")
    print(f"Embedded data: {len(wordnet)} WordNet tasks, {sum(t.num_train for t in wordnet):,} rows")


def show_mixture(registry: mixlab.Registry, out: Path) -> None:
    ext5 = mixlab.get_mixture("ext5", registry=registry)
    rows = sorted(ext5.table(total_examples=2048 * 1_000_000), key=lambda row: -row["rate"])
    c4_share = ext5.probabilities["c4/span_corruption"]
    print(f"\nMixture {ext5.name!r}: {len(ext5)} tasks; C4 share {c4_share:.4f} (R = 2)")
    print(f"  {'task':<32} {'family':<22} {'size':>11} {'rate':>8} {'epochs @ 2B ex.':>16}")
    for row in rows[:12]:
        print(f"  {row['task']:<32} {row['family']:<22} {row['num_examples']:>11,} {row['rate']:>8.4f} "
              f"{row['epochs']:>16.2f}")
    print(f"  ... and {len(rows) - 12} more (mixlab rates ext5)")
    for family, rate in sorted(ext5.families.items(), key=lambda item: -item[1])[:6]:
        print(f"  family {family:<24} {rate:.4f}")
    ext5.write_manifest(out / "ext5_manifest.json")


def show_affinity(registry: mixlab.Registry, out: Path) -> None:
    from mixlab import affinity

    graph = affinity.transfer_graph(TABLE2)
    gains = affinity.average_gain(graph)
    negatives = affinity.negative_transfer(graph)
    print("\nExT5 Table 2 as a transfer graph:")
    print("  average gain to other families (%): "
          + ", ".join(f"{node} {gain:+.2f}" for node, gain in sorted(gains.items(), key=lambda item: -item[1])))
    print("  negative-transfer relations: "
          + ", ".join(f"{budget} {len(pairs)}/{affinity.num_relations(graph)}" for budget, pairs in negatives.items()))
    proposal = affinity.propose_mixture(graph, registry, k=4)
    print(f"  best-effort proposal (top 4 families): {len(proposal)} tasks, "
          f"families {sorted(proposal.families)}")
    shutil.copy(TABLE2, out / "affinity.csv")


def pretrain(registry: mixlab.Registry, out: Path, steps: int) -> mixlab.PretrainConfig:
    config = mixlab.PretrainConfig(
        name="demo-ext5-tiny",
        model="tiny",
        mixture="wordnet-ext5",
        tokenizer=mixlab_wordnet.tokenizer_path(),
        batch_size=16,
        input_length=128,
        target_length=32,
        pack=True,
        steps=steps,
        learning_rate=0.01,
        warmup_steps=max(1, steps // 4),
        log_interval=5,
        eval_interval=max(1, steps // 3),
        eval_batches=2,
        checkpoint_interval=max(1, steps // 3),
        keep_checkpoints=2,
        out_dir=str(out),
        seed=0,
    )
    print(f"\nPre-training a tiny T5.1.1 on {config.mixture!r} for {steps} steps (CPU)...")
    result = mixlab.pretrain(config, registry=registry)
    print(f"  step {result.step}: loss {result.last_metrics.get('loss', float('nan')):.3f}; "
          f"checkpoint {result.checkpoint}")
    return config


#: the co-training experiment's families (four of the six supervised WordNet families: 4 + 6 runs)
COTRAIN_FAMILIES = ["Classification", "Commonsense", "Reading Comprehension", "Semantic relations"]


def cotrain(registry: mixlab.Registry, out: Path, steps: int) -> None:
    """ExT5 §2.1 in miniature: co-train the pre-trained model on each family and each pair, score, propose."""
    from mixlab import affinity
    from mixlab.experiments.report import write_report

    spec = mixlab.ExperimentSpec(
        name="demo-cotrain", protocol="cotrain",
        train={"model": "tiny", "tokenizer": mixlab_wordnet.tokenizer_path(), "batch_size": 16, "input_length": 64,
               "target_length": 24, "log_interval": 10, "backend": {"precision": "fp32", "device": "cpu"}},
        finetune={"learning_rate": 0.003},
        eval={"max_examples": 64, "scorer": "teacher_forced", "metric": "eval_accuracy"},
        params={"families": COTRAIN_FAMILIES, "within": {"collection": "wordnet", "tag": "supervised"},
                "steps": steps, "start": {"checkpoint": str(out.resolve())}})
    folder = out / "cotrain"
    print(f"\nCo-training experiment: {len(COTRAIN_FAMILIES)} families alone and in pairs, {steps} steps each, "
          f"from the model above (2 worker processes)...")
    result = mixlab.run_experiment(spec, folder, workers=2, registry=registry)
    if not result.ok:
        raise SystemExit(f"co-training runs failed: {result.failed}")
    trained = [r for r in result.plan.runs if r.kind != "eval"]
    print(f"  {len(trained)} co-training runs and {len(result.plan.runs) - len(trained)} evaluations; "
          f"results table {folder / 'results.sqlite'}")
    graph = affinity.transfer_graph(folder / "cotraining.csv")
    gains = affinity.average_gain(graph)
    print("  average gain to other families (%): "
          + ", ".join(f"{node} {gain:+.2f}" for node, gain in sorted(gains.items(), key=lambda item: -item[1])))
    families = {family: [t.name for t in registry.select(family=family, collection="wordnet")]
                for family in COTRAIN_FAMILIES}
    proposal = affinity.propose_mixture(graph, families, k=2, registry=registry, cap=None, name="demo-proposal")
    print("  proposed mixture (top 2 families): " + ", ".join(f"{task} {p:.3f}" for task, p in
                                                            sorted(proposal.probabilities.items())))
    page = write_report(folder)
    print(f"  Experiment report: {page.resolve()} (mixlab affinity {folder / 'cotraining.csv'})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs/demo", help="run folder to write")
    parser.add_argument("--steps", type=int, default=300, help="training steps")
    parser.add_argument("--cotrain-steps", type=int, default=40, help="steps of each co-training run (0: skip)")
    args = parser.parse_args()
    out = Path(args.out)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)

    registry = mixlab.load_registry()
    show_catalog(registry)
    show_mixture(registry, out)
    show_affinity(registry, out)
    pretrain(registry, out, args.steps)
    report = mixlab.report.write_report(out)
    print(f"\nReport: {report.resolve()}")
    if args.cotrain_steps:
        cotrain(registry, out, args.cotrain_steps)


if __name__ == "__main__":
    main()
