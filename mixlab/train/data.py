"""Batch sources for the training loop, and a background prefetcher.

A batch source is a resumable stage (:mod:`mixlab.resumable`) with ``task_names``: iterating it
yields batches in ``mixlab.text.batches``' format, ``state_dict()`` says where it is (after the last
batch yielded) and ``load_state_dict(state)`` continues there. The loop pairs each batch with the
state after it inside the prefetch thread (:func:`with_states`), so a checkpoint stores the state of
the last batch trained on however far ahead the prefetcher reads, and a resumed run sees exactly the
batches an uninterrupted one would.

- ``MixtureBatches``: a mixture's stream (sharded by rank, one split) through ``mixlab.text.batches``.
- ``SyntheticBatches``: seeded random copy-task batches of the same format (tests, benchmarks).
"""

from __future__ import annotations

import queue
import threading
import warnings
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Protocol

import numpy as np

from mixlab.resumable import Resumable, check_fields, check_state, header

Batch = dict[str, Any]
STATE_VERSION = 2  # 2: mixlab.resumable header; synthetic states record their settings; no replay states
_SAME_WORLD = "resume with the same number of processes"


class BatchSource(Resumable, Protocol):
    """What the training loop reads: a resumable iterable of batches that names its tasks."""

    task_names: list[str]


def with_states(source: BatchSource) -> Iterator[tuple[Batch, dict[str, Any]]]:
    """``(batch, state)`` pairs, ``state`` being ``source.state_dict()`` right after ``batch``."""
    for batch in source:
        yield batch, source.state_dict()


def as_source(source: Any, where: str = "data factory") -> BatchSource:
    """``source`` as a :class:`BatchSource`; one with only the old ``iterate(state)`` is adapted (deprecated)."""
    missing = [n for n in ("__iter__", "state_dict", "load_state_dict", "task_names") if not hasattr(source, n)]
    if not missing:
        return source
    if hasattr(source, "iterate") and hasattr(source, "task_names"):
        warnings.warn(f"{where}: {type(source).__name__} has only iterate(state), the old batch-source interface; "
                      "fix: give it __iter__, state_dict() and load_state_dict(state) (see mixlab.resumable); "
                      "iterate() support will be removed", DeprecationWarning, stacklevel=3)
        return _IterateSource(source)
    raise TypeError(f"{where} returned a {type(source).__name__}, which lacks {', '.join(missing)}; fix: return a "
                    "batch source (mixlab.train.data.BatchSource: task_names, __iter__, state_dict, load_state_dict)")


class _IterateSource:
    """A source written against ``iterate(state) -> (batch, state_after)`` pairs, as a :class:`BatchSource`."""

    def __init__(self, source: Any) -> None:
        self._source, self._state = source, None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._source, name)

    def __iter__(self) -> Iterator[Batch]:
        for batch, state in self._source.iterate(self._state):
            self._state = state
            yield batch

    def state_dict(self) -> Any:
        return self._state

    def load_state_dict(self, state: Any) -> None:
        self._state = state


class SyntheticBatches:
    """Random-access batches: batch ``i`` of shard ``rank`` is drawn from ``(seed, rank, i)``.

    Each example copies a prefix of its inputs into its targets (so a model can learn it); with
    ``pack`` two or three examples share a row.
    """

    kind = "synthetic"

    def __init__(self, task_names: Sequence[str], *, batch_size: int, input_length: int, target_length: int,
                 vocab_size: int, seed: int = 0, shard: tuple[int, int] = (0, 1), pack: bool = True) -> None:
        self.task_names = list(task_names)
        self.batch_size, self.input_length, self.target_length = batch_size, input_length, target_length
        self.vocab_size, self.seed, self.shard, self.pack = vocab_size, seed, shard, pack
        self._position = 0  # the next batch's index

    def batch(self, index: int) -> Batch:
        """Batch ``index`` of this shard (same arrays every call)."""
        rank, world = self.shard
        rng = np.random.default_rng([self.seed, rank, world, index])
        per_row = 2 if self.pack else 1
        num_examples = self.batch_size * per_row
        max_in, max_out = self.input_length // per_row, self.target_length // per_row
        in_lens = rng.integers(2, max_in + 1, num_examples)
        out_lens = np.minimum(in_lens, max_out)  # copy (out_len - 1) tokens, then EOS
        tokens = rng.integers(3, self.vocab_size, (num_examples, max_in), dtype=np.int32)
        tasks = rng.integers(0, len(self.task_names), num_examples).astype(np.int32)
        batch = _empty_batch(self.batch_size, self.input_length, self.target_length)
        for k in range(num_examples):  # one placement per example, whole slices per copy
            row, seg = divmod(k, per_row)
            i0, t0 = seg * max_in, seg * max_out
            n, m = int(in_lens[k]), int(out_lens[k])
            targets = np.append(tokens[k, : m - 1], 1)
            batch["input_ids"][row, i0:i0 + n] = tokens[k, :n]
            batch["input_ids"][row, i0 + n - 1] = 1
            batch["encoder_segment_ids"][row, i0:i0 + n] = seg + 1
            batch["encoder_positions"][row, i0:i0 + n] = np.arange(n)
            batch["labels"][row, t0:t0 + m] = targets
            batch["decoder_input_ids"][row, t0 + 1:t0 + m] = targets[:-1]
            batch["decoder_segment_ids"][row, t0:t0 + m] = seg + 1
            batch["decoder_positions"][row, t0:t0 + m] = np.arange(m)
            batch["decoder_task_ids"][row, t0:t0 + m] = tasks[k]
        batch["attention_mask"] = (batch["encoder_segment_ids"] > 0).astype(np.int32)
        batch["task_names"] = list(self.task_names)
        return batch

    def __iter__(self) -> Iterator[Batch]:
        while True:
            batch = self.batch(self._position)
            self._position += 1
            yield batch

    def _settings(self) -> dict[str, Any]:
        return {"seed": self.seed, "task_names": list(self.task_names), "batch_size": self.batch_size,
                "input_length": self.input_length, "target_length": self.target_length,
                "vocab_size": self.vocab_size, "pack": self.pack}

    def state_dict(self) -> dict[str, Any]:
        return {**header(self.kind, STATE_VERSION), "shard": list(self.shard), **self._settings(),
                "position": self._position}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Continue after the batch ``state`` was taken at; refuses another shard or other settings."""
        state = check_state(state, self.kind, STATE_VERSION)
        check_fields(state, {"shard": list(self.shard)}, f"{self.kind} batches", _SAME_WORLD)
        check_fields(state, self._settings(), f"{self.kind} batches", "resume with the saved run's data "
                     "settings (see <run>/config.yaml), or start a new run")
        self._position = int(state["position"])


def _empty_batch(batch_size: int, input_length: int, target_length: int) -> Batch:
    batch = {k: np.zeros((batch_size, input_length), np.int32)
             for k in ("input_ids", "encoder_segment_ids", "encoder_positions")}
    batch.update({k: np.zeros((batch_size, target_length), np.int32)
                  for k in ("decoder_input_ids", "decoder_segment_ids", "decoder_positions")})
    batch["labels"] = np.full((batch_size, target_length), -100, np.int32)
    batch["decoder_task_ids"] = np.full((batch_size, target_length), -1, np.int32)
    return batch


class MixtureBatches:
    """A mixture's sharded stream of one ``split`` through ``mixlab.text.batches``.

    Its state is the batch iterator's (which holds the stream's): resuming is exact. Each ``iter()``
    continues from the current position; :meth:`load_state_dict` rewinds to a saved one.
    """

    kind = "mixture"

    def __init__(self, mixture: Any, tokenizer: Any, batch_config: Any, *, seed: int,
                 shard: tuple[int, int] = (0, 1), split: str = "train", exhaustion: str = "repeat",
                 data: Any = None, on_bad_row: str = "error") -> None:
        self.mixture, self.tokenizer, self.batch_config = mixture, tokenizer, batch_config
        self.seed, self.shard, self.split, self.exhaustion = seed, shard, split, exhaustion
        self.data, self.on_bad_row = data, on_bad_row
        self.task_names = list(mixture.probabilities)
        self._live: tuple[Any, Any] | None = None  # (stream, batch iterator), made on first use

    @property
    def stats(self) -> dict[str, int]:
        """Counters so far: the batch iterator's (``num_truncated``, ``num_skipped``, ``num_empty``, ...)
        plus ``num_bad_rows`` (rows skipped with ``on_bad_row="skip"``)."""
        if self._live is None:
            return {}
        stream, batches = self._live
        out = {k: int(v) for k, v in batches.stats.items()}
        skipped = getattr(stream, "skipped_rows", None)
        if skipped is not None:
            out["num_bad_rows"] = int(sum(skipped.values()))
        return out

    def _open(self) -> tuple[Any, Any]:
        from mixlab.text import batches

        loaded = {} if self._live is None else self._live[0].loaded_rows()  # a restart reads no file again
        stream = self.mixture.stream(self.seed, shard=self.shard, split=self.split, exhaustion=self.exhaustion,
                                     data={**loaded, **(self.data or {})}, on_bad_row=self.on_bad_row)
        return stream, batches(stream, self.tokenizer, self.batch_config, seed=self.seed, task_names=self.task_names)

    def _batches(self) -> Any:
        if self._live is None:
            self._live = self._open()
        return self._live[1]

    def __iter__(self) -> Iterator[Batch]:
        for batch in self._batches():
            assert batch["task_names"] == self.task_names, "batch task_names differ from the mixture's"
            yield batch

    def state_dict(self) -> dict[str, Any]:
        """Where the source is; the batch iterator's stream state (taken when its oldest live chunk was read)
        learns the weight changes set since, so a resume replays them."""
        iterator = self._batches().state_dict()
        assert self._live is not None
        iterator = {**iterator, "stream": self._live[0].with_changes(iterator["stream"])}
        return {**header(self.kind, STATE_VERSION), "shard": list(self.shard), "split": self.split,
                "iterator": iterator}

    # -- weights that change (mixlab.train.mixing) -------------------------------------------------
    def prepare_change(self, state: Mapping[str, Any] | None) -> int:
        """Continue from ``state`` (``None``: the start) and read the stream items it still refers to; return the
        stream's global position there: the earliest a weight change can take effect without touching them."""
        if state is not None:
            self.load_state_dict(state)
        self._batches()
        assert self._live is not None
        stream, batches = self._live
        batches.read_saved_chunks()
        return int(stream.position)

    def set_probabilities(self, probabilities: Mapping[str, float], at_position: int) -> None:
        """Draw with ``probabilities`` from global stream position ``at_position`` on (see
        ``MixtureStream.set_probabilities``). They are shares of training examples, as the mixture's own
        probabilities are: when the mixture measured how many examples a self-supervised document gives
        (``Mixture.sampling``, rmix ``unit="examples"``), the stream draws documents less often by that factor."""
        sampling = getattr(self.mixture, "sampling", None)
        if sampling:
            from mixlab.samplers.units import document_probabilities

            probabilities = document_probabilities(probabilities, sampling["pieces_per_document"])
        self._batches()
        assert self._live is not None
        self._live[0].set_probabilities(probabilities, at_position=at_position)

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Continue after the batch ``state`` was taken at; refuses another shard, split or batch settings."""
        state = check_state(state, self.kind, STATE_VERSION)
        check_fields(state, {"shard": list(self.shard)}, f"{self.kind} batches", _SAME_WORLD)
        check_fields(state, {"split": self.split}, f"{self.kind} batches", "resume on the split that was saved")
        live = self._open()
        live[1].load_state_dict(state["iterator"])
        self._live = live


class Prefetcher:
    """Runs an iterator in a background thread, ``depth`` items ahead, order preserved.

    Exceptions from the iterator re-raise in the consumer. ``close()`` stops the thread.
    """

    _DONE = object()

    def __init__(self, iterator: Iterator[Any], depth: int = 2) -> None:
        self._queue: queue.Queue = queue.Queue(maxsize=max(depth, 1))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(iterator,), daemon=True, name="mixlab-prefetch")
        self._thread.start()

    def _run(self, iterator: Iterator[Any]) -> None:
        try:
            for item in iterator:
                while not self._stop.is_set():
                    try:
                        self._queue.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if self._stop.is_set():
                    return
            self._queue.put(self._DONE)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer thread, which re-raises it
            self._queue.put(exc)

    def __iter__(self) -> Prefetcher:
        return self

    def __next__(self) -> Any:
        item = self._queue.get()
        if item is self._DONE:
            raise StopIteration
        if isinstance(item, BaseException):
            raise item
        return item

    def close(self, wait: bool = False) -> None:
        """Stop the thread; ``wait``: until it has stopped (before the source is touched again), else 5 s at most."""
        self._stop.set()
        self._thread.join(timeout=None if wait else 5)
