"""Text-to-text formatters: one raw WordNet row -> ``{"inputs", "targets"}``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mixlab_wordnet._text import blank_word, mark_word

Row = Mapping[str, Any]


def define(row: Row) -> dict[str, str]:
    """``define: semitone (noun)`` -> the definition."""
    return {"inputs": f"define: {row['word']} ({row['pos']})", "targets": row["definition"]}


def reverse_dictionary(row: Row) -> dict[str, str]:
    """``word for: valuable goods (noun)`` -> ``swag``."""
    return {"inputs": f"word for: {row['definition']} ({row['pos']})", "targets": row["word"]}


def pos(row: Row) -> dict[str, str]:
    """``part of speech: excessive *charges*`` -> ``noun`` (the word is marked with asterisks)."""
    return {"inputs": f"part of speech: {mark_word(row['sentence'], row['word'])}", "targets": row["pos"]}


def supersense(row: Row) -> dict[str, str]:
    """``supersense: Serrasalmus (noun): piranhas`` -> ``noun.animal``."""
    return {"inputs": f"supersense: {row['word']} ({row['pos']}): {row['definition']}", "targets": row["supersense"]}


def hypernym(row: Row) -> dict[str, str]:
    """``hypernym: ride (verb)`` -> ``travel``."""
    return {"inputs": f"hypernym: {row['word']} ({row['pos']})", "targets": row["hypernym"]}


def antonym(row: Row) -> dict[str, str]:
    """``antonym: dominant (adjective)`` -> ``subordinate``."""
    return {"inputs": f"antonym: {row['word']} ({row['pos']})", "targets": row["antonym"]}


def cloze(row: Row) -> dict[str, str]:
    """``fill in the blank: he lost his ___ hint: the ability to speak`` -> ``voice``."""
    blanked = blank_word(row["sentence"], row["word"])
    return {"inputs": f"fill in the blank: {blanked} hint: {row['definition']}", "targets": row["word"]}
