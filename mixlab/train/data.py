"""Batch sources for the training loop, and a background prefetcher.

A batch source has ``task_names`` and ``iterate(state)``, which yields ``(batch, state_after)``
pairs: ``batch`` in ``mixlab.text.batches``' format, ``state_after`` a small dict that, passed back
to ``iterate``, continues with the next batch. Checkpoints store the state of the last batch
trained on, so a resumed run sees exactly the batches an uninterrupted one would.

- ``MixtureBatches``: a mixture's stream (sharded by rank) through ``mixlab.text.batches``.
- ``SyntheticBatches``: seeded random copy-task batches of the same format (tests, benchmarks).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator, Sequence
from typing import Any, Protocol

import numpy as np

from mixlab.errors import ResumeError

Batch = dict[str, Any]
STATE_VERSION = 1


class BatchSource(Protocol):
    task_names: list[str]

    def iterate(self, state: dict[str, Any] | None = None) -> Iterator[tuple[Batch, dict[str, Any]]]: ...


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

    def iterate(self, state: dict[str, Any] | None = None) -> Iterator[tuple[Batch, dict[str, Any]]]:
        position = _check_state(state, self.kind, self.shard)["position"] if state else 0
        while True:
            batch = self.batch(position)
            position += 1
            yield batch, {"version": STATE_VERSION, "kind": self.kind, "shard": list(self.shard),
                          "position": position}


def _empty_batch(batch_size: int, input_length: int, target_length: int) -> Batch:
    batch = {k: np.zeros((batch_size, input_length), np.int32)
             for k in ("input_ids", "encoder_segment_ids", "encoder_positions")}
    batch.update({k: np.zeros((batch_size, target_length), np.int32)
                  for k in ("decoder_input_ids", "decoder_segment_ids", "decoder_positions")})
    batch["labels"] = np.full((batch_size, target_length), -100, np.int32)
    batch["decoder_task_ids"] = np.full((batch_size, target_length), -1, np.int32)
    return batch


def _check_state(state: dict[str, Any], kind: str, shard: tuple[int, int]) -> dict[str, Any]:
    if state.get("version") != STATE_VERSION or state.get("kind") != kind:
        raise ResumeError(f"data state {state.get('kind')!r} v{state.get('version')} cannot resume a {kind!r} "
                          f"source v{STATE_VERSION}; start a new run (--out elsewhere) or use the same data source")
    if tuple(state.get("shard", ())) != tuple(shard):
        raise ResumeError(f"data state was saved by shard {tuple(state['shard'])} but this process is shard "
                          f"{tuple(shard)}; resume with the same number of processes")
    return state


class MixtureBatches:
    """A mixture's sharded stream through ``mixlab.text.batches``.

    Resume: when the batch iterator has ``state_dict``/``load_state_dict`` its state is saved
    after every batch; otherwise the state is the stream's state where this iteration began plus
    the number of batches taken, and resuming replays (re-tokenises) those batches.
    """

    kind = "mixture"

    def __init__(self, mixture: Any, tokenizer: Any, batch_config: Any, *, seed: int,
                 shard: tuple[int, int] = (0, 1), exhaustion: str = "repeat", data: Any = None,
                 on_bad_row: str = "error") -> None:
        self.mixture, self.tokenizer, self.batch_config = mixture, tokenizer, batch_config
        self.seed, self.shard, self.exhaustion, self.data = seed, shard, exhaustion, data
        self.on_bad_row = on_bad_row
        self.task_names = list(mixture.rates)
        self._live: tuple[Any, Any] | None = None  # (stream, batch iterator) of the current iteration

    @property
    def stats(self) -> dict[str, int]:
        """Counters of the current iteration: the batch iterator's (``num_truncated``, ``num_skipped``,
        ``num_empty``, ...) plus ``num_bad_rows`` (rows skipped with ``on_bad_row="skip"``)."""
        if self._live is None:
            return {}
        stream, batches = self._live
        out = {k: int(v) for k, v in getattr(batches, "stats", {}).items()}
        skipped = getattr(stream, "skipped_rows", None)
        if skipped is not None:
            out["num_bad_rows"] = int(sum(skipped.values()))
        return out

    def _batches(self, stream: Any) -> Any:
        from mixlab.text import batches

        return batches(stream, self.tokenizer, self.batch_config, seed=self.seed, task_names=self.task_names)

    def iterate(self, state: dict[str, Any] | None = None) -> Iterator[tuple[Batch, dict[str, Any]]]:
        stream = self.mixture.stream(self.seed, shard=self.shard, exhaustion=self.exhaustion, data=self.data,
                                     on_bad_row=self.on_bad_row)
        skip = 0
        if state:
            _check_state(state, self.kind, self.shard)
            if "stream" in state:
                stream.load_state_dict(state["stream"])
                skip = int(state["skip"])
        anchor = stream.state_dict()
        batches = self._batches(stream)
        self._live = (stream, batches)
        resumable = hasattr(batches, "state_dict") and hasattr(batches, "load_state_dict")
        if state and "iterator" in state:
            if not resumable:
                raise ResumeError("data state holds a batch-iterator state but mixlab.text.batches returned an "
                                  "iterator without load_state_dict; resume with the mixlab version that saved it")
            batches.load_state_dict(state["iterator"])
        head = {"version": STATE_VERSION, "kind": self.kind, "shard": list(self.shard)}
        iterator = iter(batches)
        for _ in range(skip):
            next(iterator)
        for batch in iterator:
            if batch["task_names"] != self.task_names:
                raise AssertionError(f"batch task_names {batch['task_names'][:3]}... differ from the mixture's")
            skip += 1
            tail = {"iterator": batches.state_dict()} if resumable else {"stream": anchor, "skip": skip}
            yield batch, {**head, **tail}


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
        except BaseException as exc:  # handed to the consumer thread, which re-raises it
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

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
