"""Text -> tensors: tokenisation, T5 span corruption, encoder-decoder batches (padded or packed).

Pipeline::

    stream items {"task","index","inputs","targets"} | {"task","index","text"}
      -> Tokenizer.encode_batch          (one call per chunk of items)
      -> + EOS (supervised)  |  raw-length pieces -> span_corruption.span_corrupt (self-supervised)
      -> padding or greedy next-fit packing -> fixed-shape int32 batch dicts (``batches``, resumable)
      -> mixlab.train.MixtureBatches (one shard per rank) -> the training loop

``mixlab.span_corruption`` is the ``span_corruption`` module (``span_corrupt``,
``corruption_lengths``, ``noise_mask``, ``reconstruct``).
"""

from __future__ import annotations

from typing import Any

from mixlab.text import span_corruption
from mixlab.text.batching import BatchConfig
from mixlab.text.pipeline import BatchIterator, batches
from mixlab.text.ragged import Ragged
from mixlab.text.span_corruption import corruption_lengths, lengths_after_corruption, reconstruct, span_corrupt
from mixlab.text.tokenizer import Tokenizer, load_tokenizer, train_sentencepiece

__all__ = [
    "BatchConfig", "BatchIterator", "Ragged", "Tokenizer", "batches", "corruption_lengths", "lengths_after_corruption",
    "load_tokenizer", "reconstruct", "span_corrupt", "span_corruption", "train_sentencepiece",
]

REMOVED = {  # removed public names -> what replaces them (mixlab.__getattr__ raises the same error)
    "MixtureDataset": "it could not resume and training did not use it; fix: iterate "
                      "mixlab.batches(mixture.stream(seed, shard=(rank, world)), tokenizer, BatchConfig(...)), which "
                      "resumes with state_dict()/load_state_dict(), or use the training sources in mixlab.train "
                      "(MixtureBatches)",
}


def __getattr__(name: str) -> Any:
    if name in REMOVED:
        raise AttributeError(f"{name} was removed from mixlab (mixlab.{name}, mixlab.text.{name}): {REMOVED[name]}")
    raise AttributeError(f"module 'mixlab.text' has no attribute {name!r}")
