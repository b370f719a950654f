"""Tokenisers with T5's id conventions: pad 0, eos 1, unk 2, 100 sentinels at the top.

A SentencePiece model gets its 100 sentinels appended after its own pieces, exactly as
HF's ``T5Tokenizer`` does, so sentinel k (``<extra_id_k>``) is ``vocab_size - 1 - k``.
A HF tokenizer directory (loaded from a local path only) must already follow the
same conventions; it is checked on load.

>>> import tempfile, pathlib
>>> out = pathlib.Path(tempfile.mkdtemp()) / "sp"
>>> tok = load_tokenizer(train_sentencepiece(["a cat sat on a mat"] * 50, out, vocab_size=12))
>>> tok.vocab_size, tok.sentinel_id(0), tok.pad_id, tok.eos_id
(112, 111, 0, 1)
>>> tok.decode(tok.encode("a cat <extra_id_0> mat"))
'a cat<extra_id_0> mat'
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mixlab.errors import ConfigError, DataError

NUM_SENTINELS = 100
PAD_ID, EOS_ID, UNK_ID = 0, 1, 2
_SENTINEL_RE = re.compile(r"<extra_id_(\d+)>")


class Tokenizer:
    """Text <-> ids with T5 conventions; wraps a SentencePiece processor or a HF tokenizer.

    ``encode`` adds no EOS (the pipeline adds it); ``<extra_id_k>`` in the text encodes to
    sentinel k; ``decode`` drops pad and EOS and renders sentinels as ``<extra_id_k>``.
    """

    def __init__(self, backend: Any, *, kind: str, path: str | os.PathLike[str] | None = None) -> None:
        assert kind in ("sentencepiece", "hf"), kind
        self._backend = backend
        self.kind = kind
        self.path = None if path is None else str(path)
        self.pad_id, self.eos_id, self.unk_id = PAD_ID, EOS_ID, UNK_ID
        if kind == "sentencepiece":
            self._num_pieces = backend.get_piece_size()
            self.vocab_size = self._num_pieces + NUM_SENTINELS
        else:
            self.vocab_size = len(backend)
            self._num_pieces = self.vocab_size - NUM_SENTINELS
        self._check_conventions()

    def __repr__(self) -> str:
        return f"Tokenizer(kind={self.kind!r}, vocab_size={self.vocab_size}, path={self.path!r})"

    def __getstate__(self) -> dict:  # DataLoader workers under "spawn" pickle the tokenizer
        state = dict(self.__dict__)
        if self.kind == "sentencepiece":
            state["_backend"] = self._backend.serialized_model_proto()
        return state

    def __setstate__(self, state: dict) -> None:
        if state["kind"] == "sentencepiece":
            import sentencepiece as spm

            state["_backend"] = spm.SentencePieceProcessor(model_proto=state["_backend"])
        self.__dict__.update(state)

    def _check_conventions(self) -> None:
        where = f"tokenizer {self.path or self.kind!r}"
        if self.kind == "sentencepiece":
            got = (self._backend.pad_id(), self._backend.eos_id(), self._backend.unk_id())
        else:
            got = (self._backend.pad_token_id, self._backend.eos_token_id, self._backend.unk_token_id)
            sentinel = self._backend.convert_tokens_to_ids("<extra_id_0>")
            if sentinel != self.vocab_size - 1:
                raise ConfigError(
                    f"{where}: <extra_id_0> has id {sentinel}, expected vocab_size - 1 = {self.vocab_size - 1}; "
                    "fix: use a T5 tokenizer with 100 <extra_id_k> sentinels at the top of the vocabulary"
                )
        if tuple(got) != (PAD_ID, EOS_ID, UNK_ID):
            raise ConfigError(
                f"{where}: (pad, eos, unk) ids are {tuple(got)}, expected (0, 1, 2) as in T5; "
                "fix: retrain with mixlab.text.train_sentencepiece or use a T5 tokenizer"
            )

    def sentinel_id(self, k: int) -> int:
        """Id of ``<extra_id_k>``: ``vocab_size - 1 - k``."""
        if not 0 <= k < NUM_SENTINELS:
            raise ValueError(f"sentinel index {k} out of range; valid: 0..{NUM_SENTINELS - 1}")
        return self.vocab_size - 1 - k

    def encode(self, text: str) -> list[int]:
        """Ids of ``text`` (no EOS)."""
        return self.encode_batch([text])[0].tolist()

    def encode_batch(self, texts: Sequence[str]) -> list[np.ndarray]:
        """Ids of many texts at once (int32 arrays, no EOS); one backend call for all texts."""
        texts = list(texts)
        if not texts:
            return []
        with_sentinels = [i for i, text in enumerate(texts) if "<extra_id_" in text]
        if self.kind == "sentencepiece":
            ids = self._backend.encode(texts, out_type=int)
        else:
            ids = self._backend(texts, add_special_tokens=False)["input_ids"]
        out = [np.asarray(row, dtype=np.int32) for row in ids]
        for i in with_sentinels:  # rare: split around the sentinel markers
            out[i] = self._encode_with_sentinels(texts[i])
        return out

    def _encode_with_sentinels(self, text: str) -> np.ndarray:
        parts = _SENTINEL_RE.split(text)  # text, k, text, k, ...
        pieces: list[np.ndarray] = []
        for i, part in enumerate(parts):
            if i % 2:
                pieces.append(np.array([self.sentinel_id(int(part))], dtype=np.int32))
            elif part:
                pieces.append(np.asarray(self._plain_encode(part), dtype=np.int32))
        return np.concatenate(pieces) if pieces else np.zeros(0, np.int32)

    def _plain_encode(self, text: str) -> list[int]:
        if self.kind == "sentencepiece":
            return self._backend.encode(text, out_type=int)
        return self._backend(text, add_special_tokens=False)["input_ids"]

    def decode(self, ids: Iterable[int]) -> str:
        """Text of ``ids``: pad and EOS dropped, sentinels rendered as ``<extra_id_k>``."""
        ids = [int(i) for i in np.asarray(list(ids) if not isinstance(ids, np.ndarray) else ids).ravel()]
        bad = [i for i in ids if not 0 <= i < self.vocab_size and i != -100]
        if bad:
            raise DataError(f"decode: ids {bad[:5]} outside the vocabulary 0..{self.vocab_size - 1}")
        out: list[str] = []
        run: list[int] = []
        for i in ids:  # a loop per token is fine here: decode is for people, not the hot path
            if i in (PAD_ID, EOS_ID, -100):
                continue
            if i >= self._num_pieces:
                out.append(self._decode_run(run, after_sentinel=bool(out)))
                run = []
                out.append(f"<extra_id_{self.vocab_size - 1 - i}>")
            else:
                run.append(i)
        out.append(self._decode_run(run, after_sentinel=bool(out)))
        return "".join(out)

    def _decode_run(self, run: list[int], after_sentinel: bool) -> str:
        if not run:
            return ""
        if self.kind == "sentencepiece":
            text = self._backend.decode(run)
            # SentencePiece drops a run's leading word boundary; keep it after a sentinel
            return " " + text if after_sentinel and self._backend.id_to_piece(run[0]).startswith("\u2581") else text
        return self._backend.decode(run, skip_special_tokens=True)


def load_tokenizer(path: str | os.PathLike[str]) -> Tokenizer:
    """Load a SentencePiece ``.model`` file, a directory holding ``spiece.model``, or a HF tokenizer directory."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"tokenizer path {str(path)!r} does not exist; fix: pass a SentencePiece .model file "
                          "or a local HF tokenizer directory")
    if path.is_dir():
        if (path / "tokenizer.json").exists() or (path / "tokenizer_config.json").exists():
            return _load_hf(path)
        if (path / "spiece.model").exists():
            path = path / "spiece.model"
        else:
            raise ConfigError(f"tokenizer directory {str(path)!r} holds neither tokenizer.json, "
                              "tokenizer_config.json nor spiece.model")
    import sentencepiece as spm

    try:
        processor = spm.SentencePieceProcessor(model_file=str(path))
    except (RuntimeError, OSError) as exc:
        raise ConfigError(f"cannot load SentencePiece model {str(path)!r}: {exc}") from exc
    return Tokenizer(processor, kind="sentencepiece", path=path)


def _load_hf(path: Path) -> Tokenizer:
    from transformers import AutoTokenizer

    backend = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    return Tokenizer(backend, kind="hf", path=path)


def train_sentencepiece(
    texts_or_files: Iterable[str | os.PathLike[str]] | os.PathLike[str],
    out_prefix: str | os.PathLike[str],
    vocab_size: int = 8000,
    *,
    seed: int = 0,
    character_coverage: float = 1.0,
    hard_vocab_limit: bool = True,
) -> Path:
    """Train a unigram SentencePiece model with T5 ids (pad 0, eos 1, unk 2, no bos); return the ``.model`` path.

    Items that are ``os.PathLike`` are read as text files (one sentence a line); ``str`` items are
    texts. Training is single-threaded with the given seed, so it is deterministic.
    ``vocab_size`` counts the SentencePiece pieces (exactly, unless ``hard_vocab_limit=False``, which
    lets a small corpus give fewer); the tokenizer adds 100 sentinels on top.
    """
    import sentencepiece as spm

    items = [texts_or_files] if isinstance(texts_or_files, os.PathLike) else list(texts_or_files)
    lines = list(_iter_lines(items))
    if not lines:
        raise DataError("train_sentencepiece: no non-empty text given; fix: pass texts or files with text")
    out_prefix = Path(out_prefix)
    out_prefix.parent.mkdir(parents=True, exist_ok=True)
    spm.set_random_generator_seed(seed)
    try:
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(lines), model_prefix=str(out_prefix), vocab_size=vocab_size,
            model_type="unigram", pad_id=PAD_ID, eos_id=EOS_ID, unk_id=UNK_ID, bos_id=-1,
            num_threads=1, shuffle_input_sentence=False, hard_vocab_limit=hard_vocab_limit,
            character_coverage=character_coverage, minloglevel=2,
        )
    except RuntimeError as exc:
        raise DataError(f"train_sentencepiece({str(out_prefix)!r}, vocab_size={vocab_size}) failed: {exc}; fix: "
                        "a smaller vocab_size, more text, or hard_vocab_limit=False") from exc
    return out_prefix.with_name(out_prefix.name + ".model")


def _iter_lines(items: Sequence[str | os.PathLike[str]]) -> Iterable[str]:
    for item in items:
        if isinstance(item, os.PathLike):
            with open(item, encoding="utf-8") as handle:
                yield from (line.rstrip("\n") for line in handle if line.strip())
        else:
            yield from (line for line in str(item).splitlines() if line.strip())
