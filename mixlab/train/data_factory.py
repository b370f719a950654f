"""Build a run's batch sources from its config (the default ``data`` factory of ``train``).

A data factory is called as ``factory(config, backend, vocab_size, tokenizer=..., registry=...,
split=None)`` and returns a :class:`~mixlab.train.data.BatchSource` (a resumable iterable of batches
with ``task_names``) for this process's shard: ``split=None`` is the training data, otherwise the
eval split. Pass your own to ``train(data=...)`` to feed the loop from anything else.
"""

from __future__ import annotations

import warnings
from typing import Any, Protocol

from mixlab.errors import ConfigError
from mixlab.samplers.units import per_example
from mixlab.train.data import BatchSource, MixtureBatches, SyntheticBatches

SYNTHETIC_TASKS = ("synthetic/copy_long", "synthetic/copy_short")


class DataFactory(Protocol):
    def __call__(self, config: Any, backend: Any, vocab_size: int, *, tokenizer: Any = None, registry: Any = None,
                 split: str | None = None) -> BatchSource | None: ...


def local_batch_size(config: Any, backend: Any) -> int:
    world = backend.world_size
    if config.batch_size % world:
        raise ConfigError(f"batch_size {config.batch_size} does not split over {world} processes; "
                          f"fix: use a multiple of {world}")
    return config.batch_size // world


def build_data(config: Any, backend: Any, vocab_size: int, *, tokenizer: Any = None, registry: Any = None,
               split: str | None = None) -> BatchSource | None:
    """Training (``split=None``) or eval batches for this process's shard of ``config``'s data."""
    seed = config.seed if split is None else config.seed + 1  # eval draws from its own generator
    size = local_batch_size(config, backend)
    if config.data == "synthetic":
        return SyntheticBatches(SYNTHETIC_TASKS, batch_size=size, input_length=config.input_length,
                                target_length=config.target_length, vocab_size=vocab_size, seed=seed,
                                shard=backend.shard, pack=config.pack)
    if tokenizer is None:
        raise ConfigError("data 'mixture' needs a tokenizer; fix: set tokenizer to a SentencePiece model or a "
                          "HF tokenizer folder (e.g. mixlab_wordnet.tokenizer_path())")
    from mixlab.text import BatchConfig

    mixture = resolve_mixture(config.mixture, config.R, registry)
    batch_config = BatchConfig(batch_size=size, input_length=config.input_length,
                               target_length=config.target_length, pack=config.pack)
    if split is None:  # probabilities are shares of training examples: draw documents to make them so
        mixture = per_example(mixture, tokenizer, batch_config, seed=config.seed)
        return MixtureBatches(mixture, tokenizer, batch_config, seed=seed, shard=backend.shard,
                              on_bad_row=config.on_bad_row)
    return _eval_batches(mixture, tokenizer, batch_config, seed, backend.shard, split, config.on_bad_row)


def _eval_batches(mixture: Any, tokenizer: Any, batch_config: Any, seed: int, shard: tuple[int, int],
                  split: str, on_bad_row: str) -> BatchSource | None:
    """The mixture's tasks that have ``split``, at their mixing rates, read from that split."""
    from mixlab.samplers import Mixture

    have = {name: task for name, task in mixture.tasks.items() if task.num_examples.get(split)}
    missing = sorted(set(mixture.tasks) - set(have))
    if missing:
        warnings.warn(f"eval: {len(missing)} task(s) have no {split!r} split and are left out of eval: "
                      f"{', '.join(missing[:8])}{' ...' if len(missing) > 8 else ''}", stacklevel=3)
    if not have:
        warnings.warn(f"eval: no task of mixture {mixture.name!r} has a {split!r} split; eval is off", stacklevel=3)
        return None
    probabilities = mixture.probabilities
    sub = Mixture(name=f"{mixture.name}:{split}", rates={name: probabilities[name] for name in have}, tasks=have,
                  per_document=mixture.per_document)
    sub = per_example(sub, tokenizer, batch_config, seed=seed, split=split)
    return MixtureBatches(sub, tokenizer, batch_config, seed=seed, shard=shard, split=split, on_bad_row=on_bad_row)


def resolve_mixture(mixture: Any, R: float | None = None, registry: Any = None) -> Any:
    """A ``Mixture`` from a name, spec path, inline spec or Mixture; ``R`` replaces an rmix mixture's ratio.

    The trainer's call of :func:`mixlab.samplers.resolve_mixture` (relative paths from the current directory).
    """
    from mixlab.samplers.resolve import resolve_mixture as resolve

    return resolve(mixture, registry=registry, R=R)
