"""Make a mixture's probabilities hold for training examples: measure how many each document gives.

The stream draws *documents*; the text pipeline cuts a self-supervised document of ``n`` tokens into
``ceil(n / raw_length)`` span-corruption examples (with ``concat_text``, the documents of one task
in one chunk of stream items are joined first: ``ceil(Σn / raw_length)`` for the lot). Drawn with
the mixture's probabilities, long documents would take more than their share of the batches
(94% self-supervised examples at 64/16 tokens on the WordNet corpus, for R = 2). seqio mixes after
the cut, so its rates hold for examples; :func:`per_example` does the same by drawing::

    leaf t's documents  ∝  q_t / m_t     q_t: the mixture's probability (a share of training examples)
                                         m_t: mean training examples per document of t (1 if supervised,
                                              or if t is per_document: rmix unit="documents")

    m_t: num_documents rows of t, chosen with the seed and t's name -> the tokenizer's lengths ->
         without concat_text: mean ceil(n / raw_length); with it: simulated chunks of chunk_size
         items (t's count binomial at its draw probability), which depends on m_t: a fixed point

The result is the same mixture (same probabilities) with :attr:`~mixlab.samplers.Mixture.sampling`
set: ``document_probabilities`` (what its stream draws) and how they were measured; a run records it
in its mixture manifest. Not compensated: supervised examples dropped by ``truncate="skip"``, and a
self-supervised task whose documents change length after the sample.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from mixlab.errors import DataError

DEFAULT_NUM_DOCUMENTS = 1000
NUM_CHUNKS = 400  # simulated chunks per round of the fixed point (concat_text)
MAX_ROUNDS = 20


def _child_seed(seed: int, name: str) -> list[int]:
    return [int(seed), zlib.crc32(name.encode())]


def document_lengths(task: Any, tokenizer: Any, *, seed: int = 0, split: str = "train",
                     num_documents: int = DEFAULT_NUM_DOCUMENTS,
                     rows: Sequence[Mapping[str, Any]] | None = None) -> np.ndarray:
    """Token counts (no EOS) of up to ``num_documents`` of ``task``'s ``split`` documents, chosen without
    replacement by ``(seed, task name)``; rows that give no text (bad rows) are left out."""
    rows = task.load(split) if rows is None else rows
    chosen = np.random.default_rng(_child_seed(seed, task.name)).choice(len(rows), min(len(rows), num_documents),
                                                                        replace=False)
    texts = []
    for index in np.sort(chosen).tolist():
        try:
            texts.append(task.format_at(rows, index, split)["text"])
        except DataError:  # a row that gives no example: the stream skips it or stops there itself
            continue
    if not texts:
        raise DataError(f"task {task.name!r}: no readable {split!r} documents to count pieces per document "
                        f"({len(rows)} rows); fix: check the task's data, or use rmix unit='documents'")
    return np.array([len(ids) for ids in tokenizer.encode_batch(texts)], dtype=np.int64)


def pieces_per_document(lengths: np.ndarray, raw_length: int, *, concat_text: bool = True, chunk_size: int = 256,
                        probability: float = 1.0, rng: np.random.Generator | None = None) -> float:
    """Mean training examples per document for documents of ``lengths`` tokens.

    With ``concat_text`` each of a chunk's ``chunk_size`` stream items is one of this task's documents
    with ``probability``; its documents are joined and cut together. The mean over simulated chunks
    of pieces / documents; ``rng`` draws the chunks (the same draws at every ``probability``, so the
    answer moves smoothly with it).

    >>> lengths = np.array([4, 6])  # short documents: one piece each alone, about two to a piece joined
    >>> pieces_per_document(lengths, 10, concat_text=False)
    1.0
    >>> round(pieces_per_document(lengths, 10, chunk_size=1000, probability=0.1, rng=np.random.default_rng(0)), 3)
    0.503
    """
    alone = float((-(-lengths // raw_length)).mean())
    if not concat_text:
        return alone
    rng = rng or np.random.default_rng(0)
    num_chunks = max(16, min(NUM_CHUNKS, 2**20 // chunk_size))
    uniform = rng.random((num_chunks, chunk_size))
    drawn = lengths[rng.integers(0, len(lengths), (num_chunks, chunk_size))]
    mine = uniform < probability
    counts = mine.sum(axis=1)
    if counts.sum() == 0:
        return alone  # too rare to share a chunk: each document is cut on its own
    joined = np.where(mine, drawn, 0).sum(axis=1)
    return float((-(-joined // raw_length)).sum() / counts.sum())


def per_example(mixture: Any, tokenizer: Any, batch_config: Any, *, seed: int = 0, split: str = "train",
                num_documents: int = DEFAULT_NUM_DOCUMENTS,
                data: Mapping[str, Sequence[Mapping[str, Any]]] | None = None) -> Any:
    """``mixture`` with :attr:`~mixlab.samplers.Mixture.sampling` measured for ``tokenizer`` and ``batch_config``,
    so that its probabilities are the shares of training examples in the batches (see the module docstring).

    A mixture without self-supervised leaves to reweight comes back unchanged (``sampling`` cleared).
    ``data`` overrides task rows as in :meth:`~mixlab.samplers.Mixture.stream`. Deterministic in ``seed``.
    """
    tasks = mixture.tasks
    leaves = [t for t, task in tasks.items() if task.self_supervised and t not in mixture.per_document]
    if not leaves:
        return mixture if mixture.sampling is None else mixture._with(sampling=None)
    raw, concat = int(batch_config.raw_length), bool(batch_config.concat_text)
    chunk = int(batch_config.chunk_size)
    data = data or {}
    lengths = {t: document_lengths(tasks[t], tokenizer, seed=seed, split=split, num_documents=num_documents,
                                   rows=data.get(t)) for t in leaves}
    empty = [t for t in leaves if not lengths[t].any()]
    if empty:  # zero pieces per document: no draw probability gives them a share of examples
        raise DataError(f"tasks {empty}: their sampled {split!r} documents have no tokens; fix: check the data")
    target = mixture.probabilities
    pieces = {t: max(float(lengths[t].mean()) / raw, 1e-9) for t in leaves}
    for _ in range(MAX_ROUNDS):  # the draw probability fixes how many documents share a chunk, and back
        drawn = document_probabilities(target, pieces)
        found = {t: pieces_per_document(lengths[t], raw, concat_text=concat, chunk_size=chunk, probability=drawn[t],
                                        rng=np.random.default_rng([*_child_seed(seed, t), 1])) for t in leaves}
        settled = all(math.isclose(found[t], pieces[t], rel_tol=1e-9) for t in leaves)
        pieces = found
        if settled:
            break
    record = {"unit": "examples", "split": split, "seed": seed, "num_documents": num_documents,
              "documents_measured": {t: len(lengths[t]) for t in leaves},
              "mean_tokens_per_document": {t: float(lengths[t].mean()) for t in leaves},
              "raw_length": raw, "concat_text": concat, "chunk_size": chunk,
              "vocab_size": int(getattr(tokenizer, "vocab_size", 0)) or None,
              "pieces_per_document": pieces, "document_probabilities": document_probabilities(target, pieces)}
    return mixture._with(sampling=record)


def document_probabilities(target: Mapping[str, float], pieces: Mapping[str, float]) -> dict[str, float]:
    """Document probabilities that give ``target`` shares of examples when leaf t's documents give ``pieces[t]``
    examples each (1 if absent): for weights that change during training, with ``sampling["pieces_per_document"]``.

    >>> document_probabilities({"text": 2 / 3, "qa": 1 / 3}, {"text": 8.0})
    {'text': 0.2, 'qa': 0.8}
    """
    weights = {t: q / pieces.get(t, 1.0) for t, q in target.items()}
    total = math.fsum(weights.values())
    return {t: w / total for t, w in weights.items()}


def example_shares(document_probabilities: Mapping[str, float], pieces: Mapping[str, float]) -> dict[str, float]:
    """The shares of training examples that drawing documents with ``document_probabilities`` gives.

    >>> example_shares({"text": 0.2, "qa": 0.8}, {"text": 8.0})
    {'text': 0.6666666666666666, 'qa': 0.3333333333333333}
    """
    weights = {t: p * pieces.get(t, 1.0) for t, p in document_probabilities.items()}
    total = math.fsum(weights.values())
    return {t: w / total for t, w in weights.items()}


__all__ = ["DEFAULT_NUM_DOCUMENTS", "document_lengths", "document_probabilities", "example_shares", "per_example",
           "pieces_per_document"]
