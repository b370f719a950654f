"""WordNet 3.0 as a small embedded mixlab data set: seven supervised tasks, a corpus, a tokenizer.

```
data/<task>.{train,validation}.jsonl --FileSource--> Task(formatter) --> mixlab registry
data/text.*.jsonl  (paragraphs of glosses and examples) --> wordnet/text (span corruption)
data/spm.model     (unigram SentencePiece, 2000 pieces, T5 ids) --> tokenizer_path()
mixtures.py        named mixtures "wordnet" (proportional) and "wordnet-ext5" (R = 2)
```

The data are built from Debian's ``wordnet-base`` by ``build_data.py`` (see
``data/PROVENANCE.md``); the WordNet licence is in ``data/LICENSE.wordnet``.
"""

from __future__ import annotations

from pathlib import Path

import mixlab
from mixlab_wordnet import formatters

__all__ = ["SIZES", "data_dir", "tasks", "tokenizer_path"]

# Rows per split, as written by build_data.py (tests check them against the files).
SIZES: dict[str, dict[str, int]] = {
    "antonym": {"train": 1000, "validation": 100},
    "cloze": {"train": 2000, "validation": 200},
    "define": {"train": 6000, "validation": 300},
    "hypernym": {"train": 16000, "validation": 400},
    "pos": {"train": 4000, "validation": 200},
    "reverse_dictionary": {"train": 3000, "validation": 200},
    "supersense": {"train": 1500, "validation": 150},
    "text": {"train": 300, "validation": 12},
}

# name -> (family, metrics, description)
_SUPERVISED_SPECS = {
    "define": ("Generation", ("bleu", "rouge"), "word and part of speech -> its WordNet definition"),
    "reverse_dictionary": ("Closed-Book QA", ("exact_match",), "definition -> the word (single-word synsets)"),
    "pos": ("Classification", ("accuracy",), "usage example with the word marked -> part of speech"),
    "supersense": ("Classification", ("accuracy", "macro_f1"),
                   "noun or verb with its definition -> lexicographer file (e.g. noun.animal)"),
    "hypernym": ("Commonsense", ("exact_match",), "noun or verb -> its first hypernym"),
    "antonym": ("Semantic relations", ("exact_match",), "word -> its direct antonym"),
    "cloze": ("Reading Comprehension", ("exact_match",), "usage example with the word blanked + definition -> word"),
}

CITATION = ("George A. Miller (1995). WordNet: A Lexical Database for English. Communications of the ACM 38(11): "
            "39-41. Christiane Fellbaum (1998, ed.) WordNet: An Electronic Lexical Database. MIT Press.")
LICENSE = "WordNet-3.0 (Princeton University; see mixlab_wordnet/data/LICENSE.wordnet)"


def data_dir() -> Path:
    """The folder holding the shipped JSONL files, the tokenizer and the licence."""
    return Path(__file__).resolve().parent / "data"


def tokenizer_path() -> str:
    """Path of the shipped SentencePiece model (unigram, pad 0, eos 1, unk 2, no bos)."""
    return str(data_dir() / "spm.model")


def _source(name: str) -> mixlab.FileSource:
    return mixlab.FileSource(format="jsonl", root=str(data_dir()),
                             files={split: [f"{name}.{split}.jsonl"] for split in SIZES[name]})


@mixlab.task_plugin(api=1)
def tasks() -> list[mixlab.Task]:
    """The seven supervised WordNet tasks and the ``wordnet/text`` corpus."""
    common = {"collection": "wordnet", "citation": CITATION, "license": LICENSE, "version": "1.0.0"}
    out = [
        mixlab.Task(name=f"wordnet/{name}", family=family, num_examples=dict(SIZES[name]), source=_source(name),
                    formatter=getattr(formatters, name), metrics=metrics, tags=frozenset({"supervised", "wordnet"}),
                    description=description, **common)
        for name, (family, metrics, description) in sorted(_SUPERVISED_SPECS.items())
    ]
    out.append(mixlab.Task(
        name="wordnet/text", family="Self-supervised", num_examples=dict(SIZES["text"]), source=_source("text"),
        self_supervised=True, text_field="text", tags=frozenset({"self-supervised", "corpus", "wordnet"}),
        description="paragraphs (>= 250 words) of WordNet words, definitions and usage examples", **common))
    return out
