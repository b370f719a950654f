"""``batches``: a mixture stream -> tokenised, span-corrupted, padded or packed batches.

Work happens in chunks of ``config.chunk_size`` stream items: one ``encode_batch`` call for
all their texts, one ``span_corrupt`` call for all their self-supervised pieces. Supervised items
give ``inputs + EOS`` / ``targets + EOS``; self-supervised texts of one task are concatenated (as
T5's ``reduce_concat_tokens``; ``concat_text=False`` keeps one document per example), cut into
``raw_length`` pieces, and each piece is corrupted into one example owned by the item holding its
first token. A chunk's random draws come from a generator seeded by
``(seed, chunk number, first item's task and index)``, so they depend on neither timing nor
batch boundaries, and differ between stream shards.

**Resume.** ``state_dict()`` holds the stream state at the start of the oldest chunk that still
has unused examples, that chunk's number, and which buffered examples were already used
(a prefix count plus a list per live chunk). ``load_state_dict`` rewinds the stream there and
re-reads those chunks, so resuming is exact: the same batches follow. Exact resume needs a
stream with ``state_dict`` / ``load_state_dict`` whose ``iter()`` continues from the loaded state.
With ``single_task_batches=True`` the buffer holds other tasks' examples until their task's batch
is built, so state and memory grow with how rare the rarest task is.
"""

from __future__ import annotations

import zlib
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from mixlab.errors import DataError, ResumeError
from mixlab.resumable import check_fields, check_state, header
from mixlab.text.batching import BatchConfig, Placement, assemble
from mixlab.text.ragged import Ragged, append_token
from mixlab.text.span_corruption import span_corrupt

STATE_VERSION = 1
KIND = "mixlab.text.batches"


class _Chunk:
    """Examples made from ``chunk_size`` consecutive stream items."""

    def __init__(self, number: int, stream_state: Any, inputs: Ragged, targets: Ragged, task_ids: np.ndarray):
        self.number, self.stream_state = number, stream_state
        self.inputs, self.targets, self.task_ids = inputs, targets, task_ids
        self.used = np.zeros(len(task_ids), dtype=bool)
        self.stats_before: dict[str, int] = {}

    def used_state(self) -> list:
        prefix = int(np.argmin(self.used)) if not self.used.all() else len(self.used)
        return [prefix, (np.flatnonzero(self.used[prefix:]) + prefix).tolist()]


def _cut_rows(rows: Ragged, new_lengths: np.ndarray) -> Ragged:
    """Each row's first ``new_lengths[i]`` tokens."""
    within = np.arange(len(rows.values)) - np.repeat(rows.offsets[:-1], rows.lengths)
    return Ragged(rows.values[within < np.repeat(new_lengths, rows.lengths)], new_lengths)


class BatchIterator(Iterator[dict]):
    """Iterator of batch dicts with ``state_dict`` / ``load_state_dict`` and counters in ``stats``."""

    def __init__(self, stream: Iterable[Mapping[str, Any]], tokenizer: Any, config: BatchConfig,
                 seed: int = 0, task_names: Sequence[str] | None = None) -> None:
        self.stream: Any = stream  # resuming needs state_dict / load_state_dict, checked where they are used
        self.tokenizer, self.config, self.seed = tokenizer, config, seed
        self.task_names = _resolve_task_names(stream, task_names)
        self._task_index = {name: i for i, name in enumerate(self.task_names)}
        self._raw_length = config.raw_length
        self._items = iter(stream)
        self._buffer: deque[_Chunk] = deque()
        self._next_chunk = 0
        self._replay: list[list] = []
        self._exhausted = False
        self.stats = {"num_items": 0, "num_examples": 0, "num_truncated": 0, "num_skipped": 0, "num_empty": 0,
                      "num_batches": 0}

    def __iter__(self) -> BatchIterator:
        return self

    # -- chunks ---------------------------------------------------------------------------------------------
    def _read_chunk(self) -> bool:
        """Append the next chunk to the buffer; False at the end of the stream."""
        if self._exhausted:
            return False
        state = self.stream.state_dict() if hasattr(self.stream, "state_dict") else None
        items = []
        for item in self._items:
            items.append(item)
            if len(items) == self.config.chunk_size:
                break
        if not items:
            self._exhausted = True
            return False
        counted = dict(self.stats)  # the counters before this chunk: what a resume that re-reads it starts from
        chunk = self._make_chunk(items, self._next_chunk, state)
        chunk.stats_before = counted
        if self._replay:
            prefix, extra = self._replay.pop(0)
            chunk.used[:prefix] = True
            chunk.used[extra] = True
        self._buffer.append(chunk)
        self._next_chunk += 1
        return True

    def _make_chunk(self, items: list[Mapping[str, Any]], number: int, state: Any) -> _Chunk:
        self.stats["num_items"] += len(items)
        first = items[0]
        rng = np.random.default_rng([self.seed, number, zlib.crc32(str(first["task"]).encode()), int(first["index"])])
        tasks = np.array([self._task_id(item) for item in items], dtype=np.int32)
        is_text = np.array(["text" in item for item in items], dtype=bool)
        sup = np.flatnonzero(~is_text)
        txt = np.flatnonzero(is_text)
        texts = [items[i]["inputs"] for i in sup] + [items[i]["targets"] for i in sup] + [items[i]["text"] for i in txt]
        encoded = Ragged.from_rows(self.tokenizer.encode_batch(texts)) if texts else Ragged.from_rows([])
        n = len(sup)
        sup_in, sup_tgt, sup_keep = self._supervised(encoded.take(np.arange(n)), encoded.take(np.arange(n, 2 * n)),
                                                      [items[i] for i in sup])
        txt_in, txt_tgt, txt_owner = self._self_supervised(encoded.take(np.arange(2 * n, len(encoded))), tasks[txt],
                                                           rng)
        owner = np.concatenate([sup[sup_keep], txt[txt_owner]])
        order = np.argsort(owner, kind="stable")
        inputs = Ragged.concat([sup_in, txt_in]).take(order)
        targets = Ragged.concat([sup_tgt, txt_tgt]).take(order)
        self.stats["num_examples"] += len(order)
        return _Chunk(number, state, inputs, targets, tasks[owner[order]])

    def _task_id(self, item: Mapping[str, Any]) -> int:
        try:
            return self._task_index[item["task"]]
        except KeyError:
            raise DataError(f"stream item {item.get('task')!r}#{item.get('index')} names a task outside task_names "
                            f"{self.task_names[:5]}...; fix: pass task_names= listing every leaf task") from None

    def _supervised(self, inputs: Ragged, targets: Ragged, items: list) -> tuple[Ragged, Ragged, np.ndarray]:
        cfg = self.config
        too_long = (inputs.lengths + 1 > cfg.input_length) | (targets.lengths + 1 > cfg.target_length)
        keep = np.ones(len(inputs), dtype=bool)
        if too_long.any():
            if cfg.truncate == "error":
                i = int(np.argmax(too_long))
                raise DataError(
                    f"example {items[i]['task']!r}#{items[i]['index']} has {int(inputs.lengths[i]) + 1} input / "
                    f"{int(targets.lengths[i]) + 1} target tokens (with EOS), over {cfg.input_length} / "
                    f"{cfg.target_length}; fix: set truncate='truncate' or 'skip', or raise the lengths")
            if cfg.truncate == "skip":
                keep = ~too_long
                self.stats["num_skipped"] += int(too_long.sum())
                inputs, targets = inputs.take(np.flatnonzero(keep)), targets.take(np.flatnonzero(keep))
            else:
                self.stats["num_truncated"] += int(too_long.sum())
                inputs = _cut_rows(inputs, np.minimum(inputs.lengths, cfg.input_length - 1))
                targets = _cut_rows(targets, np.minimum(targets.lengths, cfg.target_length - 1))
        eos = self.tokenizer.eos_id
        return (append_token(inputs.values, inputs.lengths, eos), append_token(targets.values, targets.lengths, eos),
                keep)

    def _self_supervised(self, texts: Ragged, tasks: np.ndarray,
                         rng: np.random.Generator) -> tuple[Ragged, Ragged, np.ndarray]:
        """Cut texts into raw-length pieces and corrupt them; return (inputs, targets, owning text of each piece)."""
        raw = self._raw_length
        self.stats["num_empty"] += int((texts.lengths == 0).sum())
        order = np.arange(len(texts))
        if self.config.concat_text:  # one token run per task, documents back to back (T5's reduce_concat_tokens)
            order = np.argsort(tasks, kind="stable")
            texts = texts.take(order)
            firsts = np.flatnonzero(np.r_[True, np.diff(tasks[order]) != 0]) if len(texts) else np.zeros(0, int)
            units = Ragged(texts.values, np.add.reduceat(texts.lengths, firsts) if len(texts) else np.zeros(0))
        else:
            units = texts
        num_pieces = -(-units.lengths // raw)
        unit = np.repeat(np.arange(len(units)), num_pieces)
        piece_no = np.arange(len(unit)) - np.repeat(np.cumsum(num_pieces) - num_pieces, num_pieces)
        pieces = Ragged(units.values, np.minimum(units.lengths[unit] - piece_no * raw, raw))
        # the text holding a piece's first token owns the piece (empty texts own nothing)
        owner = order[np.searchsorted(texts.offsets[1:], pieces.offsets[:-1], side="right")]
        if not len(pieces):
            empty = Ragged.from_rows([])
            return empty, empty, owner
        out = span_corrupt(pieces, vocab_size=self.tokenizer.vocab_size, rng=rng,
                           noise_density=self.config.noise_density,
                           mean_noise_span_length=self.config.mean_noise_span_length,
                           t5_compatible=self.config.t5_compatible_noise, eos_id=self.tokenizer.eos_id)
        return out.inputs, out.targets, owner

    # -- batches --------------------------------------------------------------------------------------------
    def _candidates(self) -> Iterator[tuple[_Chunk, int]]:
        """Unused buffered examples in stream order (of the batch's task if single-task), reading on demand."""
        task = None
        position = 0
        while True:
            while position >= len(self._buffer):
                if not self._read_chunk():
                    return
            chunk = self._buffer[position]
            free = np.flatnonzero(~chunk.used)
            if task is None and self.config.single_task_batches and len(free):
                task = int(chunk.task_ids[free[0]])
            if task is not None:
                free = free[chunk.task_ids[free] == task]
            for i in free:
                yield chunk, int(i)
            position += 1

    def __next__(self) -> dict:
        placement = Placement()
        chosen: list[tuple[_Chunk, int]] = []
        for chunk, i in self._candidates():
            if not placement.try_add(int(chunk.inputs.lengths[i]), int(chunk.targets.lengths[i]), self.config):
                break
            chosen.append((chunk, i))
        if not chosen or (self.config.drop_remainder and self._exhausted and len(chosen) and
                          placement.rows[-1] + 1 < self.config.batch_size):
            raise StopIteration
        inputs, targets, task_ids = self._gather(chosen)
        while self._buffer and self._buffer[0].used.all():
            self._buffer.popleft()
        self.stats["num_batches"] += 1
        return assemble(inputs, targets, task_ids, placement, self.config, self.task_names)

    def _gather(self, chosen: list[tuple[_Chunk, int]]) -> tuple[Ragged, Ragged, np.ndarray]:
        inputs, targets, task_ids = [], [], []
        start = 0
        while start < len(chosen):  # one vectorised take per run of examples from the same chunk
            chunk = chosen[start][0]
            end = start
            while end < len(chosen) and chosen[end][0] is chunk:
                end += 1
            index = np.array([i for _, i in chosen[start:end]], dtype=np.int64)
            chunk.used[index] = True
            inputs.append(chunk.inputs.take(index))
            targets.append(chunk.targets.take(index))
            task_ids.append(chunk.task_ids[index])
            start = end
        return Ragged.concat(inputs), Ragged.concat(targets), np.concatenate(task_ids)

    def read_saved_chunks(self) -> None:
        """Read now the chunks a loaded state refers to (the next batches would read them anyway): afterwards
        the stream stands at its first item that no saved position depends on."""
        while self._replay and self._read_chunk():
            pass

    # -- state ----------------------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """Stream state at the oldest live chunk + used-example marks; see the module docstring."""
        if not hasattr(self.stream, "state_dict"):
            raise ResumeError(f"{type(self.stream).__name__} has no state_dict(); fix: batch a mixlab MixtureStream "
                              "(or any stream with state_dict / load_state_dict) to resume")
        stats = dict(self.stats)
        if self._buffer:
            stream_state, number = self._buffer[0].stream_state, self._buffer[0].number
            used = [chunk.used_state() for chunk in self._buffer]
            # the live chunks are read again on resume and count their items again: save the counters from
            # before the oldest one (batches already emitted are not emitted again, so num_batches stays)
            stats = {**self._buffer[0].stats_before, "num_batches": self.stats["num_batches"]}
        else:
            stream_state, number, used = self.stream.state_dict(), self._next_chunk, []
        return {**header(KIND, STATE_VERSION), "seed": self.seed,
                "config": self.config.model_dump(), "task_names": list(self.task_names), "stream": stream_state,
                "chunk": number, "used": used + self._replay, "exhausted": self._exhausted and not self._buffer,
                "stats": stats}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Rewind to ``state``; refuses a state from another version, seed, config or task list."""
        state = check_state(state, KIND, STATE_VERSION)
        if not hasattr(self.stream, "load_state_dict"):
            raise ResumeError(f"{type(self.stream).__name__} has no load_state_dict(); fix: batch a mixlab "
                              "MixtureStream (or any stream with state_dict / load_state_dict) to resume")
        saved, now = state["config"], self.config.model_dump()
        changed = [f"{key} {saved.get(key)!r} -> {value!r}" for key, value in now.items() if saved.get(key) != value]
        if changed:
            raise ResumeError(f"cannot resume: the checkpoint's batches were made with other settings "
                              f"({', '.join(changed)}); fix: resume with the saved run's settings (see "
                              f"<run>/config.yaml) or start a new run (init_from: keeps the weights)")
        check_fields(state, {"seed": self.seed, "task_names": list(self.task_names)}, "batches",
                     "resume with the settings of the saved run")
        self.stream.load_state_dict(state["stream"])
        self._items = iter(self.stream)
        self._buffer.clear()
        self._next_chunk = int(state["chunk"])
        self._replay = [list(x) for x in state["used"]]
        self._exhausted = bool(state["exhausted"])
        self.stats = dict(state["stats"])


def _resolve_task_names(stream: Any, task_names: Sequence[str] | None) -> list[str]:
    if task_names is not None:
        return sorted(task_names)
    names = getattr(stream, "task_names", None)
    if names is None and getattr(stream, "mixture", None) is not None:
        names = list(stream.mixture.probabilities)
    if names is None:
        raise DataError(f"cannot tell the task names of {type(stream).__name__}; fix: pass "
                        "task_names=sorted(mixture.probabilities) to batches()")
    return sorted(names)


def batches(stream: Iterable[Mapping[str, Any]], tokenizer: Any, config: BatchConfig, seed: int = 0,
            task_names: Sequence[str] | None = None) -> BatchIterator:
    """Batch dicts (numpy int32, fixed shapes, see the contract) from a mixture stream; resumable."""
    return BatchIterator(stream, tokenizer, config, seed=seed, task_names=task_names)
