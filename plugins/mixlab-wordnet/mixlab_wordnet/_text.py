"""Text helpers shared by the build script and the formatters (so both mark words the same way)."""

from __future__ import annotations

import re

POS_NAMES = {"n": "noun", "v": "verb", "a": "adjective", "s": "adjective", "r": "adverb"}
BLANK = "___"


def word_pattern(word: str) -> re.Pattern[str]:
    """Whole-word, case-insensitive pattern for ``word`` (hyphens and letters count as word characters)."""
    return re.compile(r"(?<![\w-])" + re.escape(word) + r"(?![\w-])", re.IGNORECASE)


def find_word(sentence: str, word: str) -> tuple[int, int] | None:
    """``(start, end)`` of the first whole-word occurrence of ``word`` in ``sentence``, or None."""
    match = word_pattern(word).search(sentence)
    return None if match is None else match.span()


def mark_word(sentence: str, word: str, left: str = "*", right: str = "*") -> str:
    """``sentence`` with the first occurrence of ``word`` wrapped in ``left``/``right``."""
    span = find_word(sentence, word)
    if span is None:
        raise ValueError(f"word {word!r} does not occur in sentence {sentence!r}")
    start, end = span
    return sentence[:start] + left + sentence[start:end] + right + sentence[end:]


def blank_word(sentence: str, word: str) -> str:
    """``sentence`` with the first occurrence of ``word`` replaced by ``___``."""
    span = find_word(sentence, word)
    if span is None:
        raise ValueError(f"word {word!r} does not occur in sentence {sentence!r}")
    start, end = span
    return sentence[:start] + BLANK + sentence[end:]
