"""Score a checkpoint on given tasks: per-task metrics for an experiment's eval runs.

Two scorers, chosen by ``eval.scorer`` in the experiment spec:

- ``teacher_forced``: one forward pass over the first ``max_examples`` examples of each task's split
  (the same examples for every checkpoint), giving ``eval_loss`` (token cross-entropy) and
  ``eval_accuracy`` (share of target tokens predicted exactly), as the trainer's eval does, but per
  task and on a fixed set. Fast, and meaningful for a tiny model that cannot yet decode an answer.
- ``task_metrics``: :func:`mixlab.evaluate` (greedy decoding, each task's own metrics on t5's 0-100
  scale, plus ``score``, their mean per task); predictions go to the eval run's folder
  (``eval/<split>/<task>.jsonl``).

Both return ``{task: {metric: value}}``; :data:`SOURCES` names where each scorer's numbers come from
(the results table records it next to every metric).
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

from mixlab.errors import ConfigError

SOURCES = {"teacher_forced": "teacher_forced", "task_metrics": "decoded"}


def score(checkpoint: Path, config: dict[str, Any], settings: dict[str, Any], *, registry: Any,
          run_dir: Path | None = None) -> dict[str, dict[str, float]]:
    """Per-task metrics of the model in ``checkpoint`` (trained with ``config``) as ``settings`` say."""
    if settings["scorer"] == "teacher_forced":
        return teacher_forced(checkpoint, config, list(settings["tasks"]), split=settings["split"],
                              max_examples=settings["max_examples"], batch_size=int(settings["batch_size"]),
                              registry=registry)
    return decoded(checkpoint, settings, registry=registry, out_dir=run_dir)


def decoded(checkpoint: Path, settings: dict[str, Any], *, registry: Any,
            out_dir: Path | None) -> dict[str, dict[str, float]]:
    """Task metrics by decoding ``checkpoint``'s model (:func:`mixlab.evaluate`), and ``score`` per task."""
    from mixlab.evaluation.evaluate import evaluate

    found = evaluate(checkpoint, tasks=list(settings["tasks"]), split=settings["split"],
                     max_examples=settings["max_examples"], batch_size=int(settings["batch_size"]),
                     out_dir=out_dir, registry=registry, progress=False)
    missing = sorted(set(settings["tasks"]) - set(found.tasks))
    if missing:
        raise ConfigError(f"mixlab.evaluate left out {missing}: {found.skipped}; fix: drop them from the eval tasks")
    return {name: {**result.metrics, **({"score": result.score} if result.score is not None else {})}
            for name, result in found.tasks.items()}


def teacher_forced(checkpoint: Path, config: dict[str, Any], tasks: list[str], *, split: str, max_examples: int | None,
                   batch_size: int, registry: Any, seed: int = 0) -> dict[str, dict[str, float]]:
    """``eval_loss``, ``eval_accuracy`` and ``eval_tokens`` per task, over the first ``max_examples`` of each."""
    import torch

    from mixlab.text import BatchConfig, batches, load_tokenizer
    from mixlab.train.config import PretrainConfig
    from mixlab.train.loop import MODEL_KEYS
    from mixlab.train.loss import token_cross_entropy

    cfg = PretrainConfig(**config)
    if cfg.tokenizer is None:
        raise ConfigError(f"cannot score {checkpoint}: its config names no tokenizer")
    tokenizer = load_tokenizer(cfg.tokenizer)
    model = load_model(checkpoint, cfg, tokenizer.vocab_size)
    names = sorted(tasks)
    examples = [ex for name in names for ex in _first_examples(registry.get(name), split, max_examples, seed)]
    batch_config = BatchConfig(batch_size=batch_size, input_length=cfg.input_length,
                               target_length=cfg.target_length, pack=cfg.pack)
    sums = torch.zeros(len(names), dtype=torch.float64)
    counts = torch.zeros(len(names), dtype=torch.float64)
    correct = torch.zeros(len(names), dtype=torch.float64)
    with torch.no_grad():
        for batch in batches(examples, tokenizer, batch_config, seed=seed, task_names=names):
            tensors = {k: torch.as_tensor(batch[k]).long() for k in (*MODEL_KEYS, "labels", "decoder_task_ids")}
            logits = model(*(tensors[k] for k in MODEL_KEYS)).float()
            ce, valid = token_cross_entropy(logits, tensors["labels"])
            ids = tensors["decoder_task_ids"].clamp(min=0).reshape(-1)
            hits = (logits.argmax(-1) == tensors["labels"]) & valid
            sums.scatter_add_(0, ids, ce.double().reshape(-1))
            counts.scatter_add_(0, ids, valid.double().reshape(-1))
            correct.scatter_add_(0, ids, hits.double().reshape(-1))
    out = {}
    for i, name in enumerate(names):
        if counts[i] == 0:
            raise ConfigError(f"task {name!r} has no {split!r} target tokens to score (no examples?); fix: drop it "
                              f"from the eval tasks or use another split")
        out[name] = {"eval_loss": float(sums[i] / counts[i]), "eval_accuracy": float(correct[i] / counts[i]),
                     "eval_tokens": float(counts[i])}
    return out


def load_model(checkpoint: Path, cfg: Any, tokenizer_vocab: int) -> Any:
    """The PackedT5 of ``checkpoint``'s ``model.pt`` (a mixlab training checkpoint), in eval mode on the CPU."""
    import torch

    from mixlab.train.model import PackedT5, build_model

    vocab = cfg.model.vocab_size or tokenizer_vocab
    t5 = build_model(cfg.model.shape, vocab, seed=cfg.seed, dropout_rate=0.0)
    state = torch.load(checkpoint / "model.pt", map_location="cpu", weights_only=False)
    t5.load_state_dict({k.removeprefix("t5."): v for k, v in state.items()})
    return PackedT5(t5).eval()


def _first_examples(task: Any, split: str, max_examples: int | None, seed: int) -> list[dict[str, Any]]:
    """The first ``max_examples`` examples of ``task``'s ``split`` in its seeded stream order (one pass)."""
    from mixlab.samplers import Mixture

    if not task.num_examples.get(split):
        raise ConfigError(f"task {task.name!r} has no {split!r} split (it has {sorted(task.num_examples)}); "
                          f"fix: set eval.split to one it has, or leave the task out of the eval")
    mix = Mixture.from_strategy([task], {"kind": "uniform"}, name=f"eval:{task.name}")
    return list(itertools.islice(mix.stream(seed=seed, split=split, exhaustion="first"), max_examples))


__all__ = ["SOURCES", "decoded", "load_model", "score", "teacher_forced"]
