"""Build the embedded WordNet data set shipped in ``mixlab_wordnet/data/``.

```
data.{noun,verb,adj,adv} -> parse_data_line -> Synset list -> build_<task> (candidate rows)
    -> split_rows (seeded by seed + task name) -> <task>.{train,validation}.jsonl
    -> build_corpus -> text.{train,validation}.jsonl -> train_tokenizer -> spm.model
```

Input: WordNet 3.0 from Debian's ``wordnet-base`` package, e.g.::

    apt-get update && apt-get download wordnet-base
    dpkg-deb -x wordnet-base_*.deb /tmp/wn
    python plugins/mixlab-wordnet/build_data.py --wordnet-dir /tmp/wn/usr/share/wordnet \\
        --copyright /tmp/wn/usr/share/doc/wordnet-base/copyright

Output is deterministic: candidates are sorted before a seeded ``numpy`` permutation, and
SentencePiece trains with one thread and a fixed seed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from mixlab_wordnet._text import POS_NAMES, find_word  # noqa: E402

DATA_FILES = ("data.noun", "data.verb", "data.adj", "data.adv")
FILE_POS = {"data.noun": "n", "data.verb": "v", "data.adj": "a", "data.adv": "r"}
# lexnames(5WN): lexicographer file number -> name.
LEXNAMES = (
    "adj.all adj.pert adv.all noun.Tops noun.act noun.animal noun.artifact noun.attribute noun.body "
    "noun.cognition noun.communication noun.event noun.feeling noun.food noun.group noun.location "
    "noun.motive noun.object noun.person noun.phenomenon noun.plant noun.possession noun.process "
    "noun.quantity noun.relation noun.shape noun.state noun.substance noun.time verb.body verb.change "
    "verb.cognition verb.communication verb.competition verb.consumption verb.contact verb.creation "
    "verb.emotion verb.motion verb.perception verb.possession verb.social verb.stative verb.weather adj.ppl"
).split()

# Rows per task: (train, validation). Sizes differ ~10x so capped mixing is visible; the
# total stays under the 4 MB package-data budget.
SIZES: dict[str, tuple[int, int]] = {
    "hypernym": (16000, 400),
    "define": (6000, 300),
    "pos": (4000, 200),
    "reverse_dictionary": (3000, 200),
    "cloze": (2000, 200),
    "supersense": (1500, 150),
    "antonym": (1000, 100),
}
CORPUS_SIZES = (300, 12)  # paragraphs (train, validation)
PARAGRAPH_WORDS = 250  # a paragraph closes once it holds at least this many words
VOCAB_SIZE = 2000


@dataclass(frozen=True)
class Synset:
    """One WordNet synset, as parsed from a data file line."""

    offset: str
    file_pos: str  # n, v, a, r: which data file (and pointer key)
    pos: str  # n, v, a, s, r
    lexname: str
    lemmas: tuple[str, ...]  # display form: spaces for underscores, adjective markers removed
    pointers: tuple[tuple[str, str, str, str], ...]  # (symbol, offset, pos, source/target hex)
    definition: str
    examples: tuple[str, ...]

    @property
    def key(self) -> tuple[str, str]:
        return (self.file_pos, self.offset)


# ------------------------------------------------------------------------------------------ parsing
def parse_data_line(line: str, file_pos: str) -> Synset | None:
    """Parse one line of a WordNet ``data.*`` file (wndb(5WN)); licence header lines give None."""
    if not line.strip() or line.startswith("  "):
        return None
    head, _, gloss = line.partition(" | ")
    fields = head.split()
    offset, lex_filenum, pos = fields[0], int(fields[1]), fields[2]
    num_words = int(fields[3], 16)
    lemmas = tuple(_display(fields[4 + 2 * i]) for i in range(num_words))
    at = 4 + 2 * num_words
    num_pointers = int(fields[at])
    pointers = tuple(tuple(fields[at + 1 + 4 * i: at + 5 + 4 * i]) for i in range(num_pointers))
    definition, examples = split_gloss(gloss)
    return Synset(offset=offset, file_pos=file_pos, pos=pos, lexname=LEXNAMES[lex_filenum], lemmas=lemmas,
                  pointers=pointers, definition=definition, examples=examples)  # type: ignore[arg-type]


def _display(word: str) -> str:
    return re.sub(r"\((a|p|ip)\)$", "", word).replace("_", " ")


def split_gloss(gloss: str) -> tuple[str, tuple[str, ...]]:
    """Split a gloss into its definition and its quoted usage examples."""
    gloss = gloss.strip()
    cut = gloss.find('"')
    definition = (gloss if cut < 0 else gloss[:cut]).strip().rstrip(";").strip()
    examples = () if cut < 0 else tuple(e.strip() for e in re.findall(r'"([^"]*)"', gloss[cut:]) if e.strip())
    return definition, examples


def read_wordnet(wordnet_dir: Path) -> list[Synset]:
    """All synsets of the four data files, in file order."""
    synsets = []
    for name in DATA_FILES:
        with open(wordnet_dir / name, encoding="utf-8") as handle:
            for line in handle:
                synset = parse_data_line(line, FILE_POS[name])
                if synset is not None:
                    synsets.append(synset)
    return synsets


# ------------------------------------------------------------------------------------------ tasks
def sense_counts(synsets: Iterable[Synset]) -> Counter[tuple[str, str]]:
    """How many synsets each (lower-cased lemma, data file) appears in."""
    return Counter((lemma.lower(), s.file_pos) for s in synsets for lemma in s.lemmas)


def build_define(synsets: Sequence[Synset]) -> list[dict]:
    """Monosemous first lemma + POS -> definition."""
    senses = sense_counts(synsets)
    return [{"word": s.lemmas[0], "pos": POS_NAMES[s.pos], "definition": s.definition}
            for s in synsets if s.definition and senses[(s.lemmas[0].lower(), s.file_pos)] == 1]


def build_reverse_dictionary(synsets: Sequence[Synset]) -> list[dict]:
    """Definition + POS -> the word of a single-lemma synset (so the answer is unique)."""
    return [{"definition": s.definition, "pos": POS_NAMES[s.pos], "word": s.lemmas[0]}
            for s in synsets if s.definition and len(s.lemmas) == 1]


def usage_examples(synsets: Sequence[Synset]) -> list[tuple[Synset, str, str]]:
    """(synset, example, surface form) for examples that contain one of the synset's lemmas verbatim."""
    found = []
    for s in synsets:
        for example in s.examples:
            for lemma in s.lemmas:
                span = find_word(example, lemma)
                if span is not None:
                    found.append((s, example, example[span[0]:span[1]]))
                    break
    return found


def build_pos(synsets: Sequence[Synset]) -> list[dict]:
    """Usage example with the word marked -> part of speech."""
    return [{"sentence": ex, "word": word, "pos": POS_NAMES[s.pos]} for s, ex, word in usage_examples(synsets)]


def build_cloze(synsets: Sequence[Synset]) -> list[dict]:
    """Usage example with the word blanked + definition -> the word."""
    return [{"sentence": ex, "definition": s.definition, "word": word}
            for s, ex, word in usage_examples(synsets) if s.definition]


def build_supersense(synsets: Sequence[Synset]) -> list[dict]:
    """Noun or verb + definition -> lexicographer file (e.g. noun.animal)."""
    return [{"word": s.lemmas[0], "pos": POS_NAMES[s.pos], "definition": s.definition, "supersense": s.lexname}
            for s in synsets if s.pos in "nv" and s.definition and s.lexname != "noun.Tops"]


def build_hypernym(synsets: Sequence[Synset]) -> list[dict]:
    """Noun or verb -> first lemma of its first hypernym (class or instance) present in ``synsets``."""
    by_key = {s.key: s for s in synsets}
    rows = []
    for s in synsets:
        parent = next((by_key.get((p[2], p[1])) for p in s.pointers if p[0] in ("@", "@i")), None)
        if parent is not None and parent.lemmas[0].lower() != s.lemmas[0].lower():
            rows.append({"word": s.lemmas[0], "pos": POS_NAMES[s.pos], "hypernym": parent.lemmas[0]})
    return rows


def build_antonym(synsets: Sequence[Synset]) -> list[dict]:
    """Word -> its direct antonym (lexical '!' pointers), one row per direction."""
    by_key = {s.key: s for s in synsets}
    rows, seen = [], set()
    for s in synsets:
        for symbol, offset, pos, source_target in s.pointers:
            target = by_key.get(("a" if pos == "s" else pos, offset))
            if symbol != "!" or target is None:  # None only for a partial input (tests)
                continue
            word = s.lemmas[int(source_target[:2], 16) - 1]
            antonym = target.lemmas[int(source_target[2:], 16) - 1]
            if (word, antonym) not in seen:
                seen.add((word, antonym))
                rows.append({"word": word, "pos": POS_NAMES[s.pos], "antonym": antonym})
    return rows


BUILDERS = {
    "define": build_define, "reverse_dictionary": build_reverse_dictionary, "pos": build_pos,
    "cloze": build_cloze, "supersense": build_supersense, "hypernym": build_hypernym, "antonym": build_antonym,
}


def rng_for(seed: int, name: str) -> np.random.Generator:
    """A generator derived from the run seed and a name (never from list position)."""
    digest = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "little")
    return np.random.default_rng([seed, digest])


def split_rows(rows: Sequence[dict], key: str, num_train: int, num_validation: int, seed: int,
               name: str) -> dict[str, list[dict]]:
    """Deduplicate, sort, permute with the task's own generator, and cut validation then train.

    Rows sharing the input field ``key`` go to one split only, so validation never repeats a
    train input.
    """
    fields = list(rows[0])
    unique = sorted({json.dumps([r[f] for f in fields], ensure_ascii=False) for r in rows})
    order = rng_for(seed, name).permutation(len(unique))
    picked = [dict(zip(fields, json.loads(unique[i]), strict=True)) for i in order]
    validation: list[dict] = []
    held: set[str] = set()
    for row in picked:
        if len(validation) == num_validation:
            break
        if row[key] not in held:
            validation.append(row)
            held.add(row[key])
    chosen = {id(r) for r in validation}
    train = [r for r in picked if id(r) not in chosen and r[key] not in held][:num_train]
    if len(train) < num_train or len(validation) < num_validation:
        raise ValueError(f"task {name!r}: {len(unique)} candidate rows give {len(train)} train and "
                         f"{len(validation)} validation rows; lower SIZES[{name!r}]")
    return {"train": train, "validation": validation}


# Input field per task: rows sharing it stay in one split.
SPLIT_KEYS = {"define": "word", "reverse_dictionary": "definition", "pos": "sentence", "cloze": "sentence",
              "supersense": "word", "hypernym": "word", "antonym": "word"}


def build_tasks(synsets: Sequence[Synset], seed: int, sizes: dict[str, tuple[int, int]] = SIZES) -> dict:
    """Every supervised task: name -> split -> rows."""
    return {name: split_rows(BUILDERS[name](synsets), SPLIT_KEYS[name], *sizes[name], seed=seed, name=name)
            for name in sorted(sizes)}


# ------------------------------------------------------------------------------------------ corpus
def synset_sentence(s: Synset) -> str:
    """Plain English for one synset: its words, definition and usage examples."""
    words = ", ".join(s.lemmas)
    text = f"{words[0].upper()}{words[1:]} ({POS_NAMES[s.pos]}): {s.definition}."
    for example in s.examples:
        example = example[0].upper() + example[1:]
        text += " " + (example if example[-1] in ".!?" else example + ".")
    return text


def build_corpus(synsets: Sequence[Synset], seed: int, num_train: int, num_validation: int,
                 min_words: int = PARAGRAPH_WORDS) -> dict[str, list[dict]]:
    """Paragraphs of at least ``min_words`` words, each from synsets of one lexicographer file."""
    by_lexname: dict[str, list[Synset]] = defaultdict(list)
    for s in synsets:
        if s.definition:
            by_lexname[s.lexname].append(s)
    paragraphs = []
    for lexname in sorted(by_lexname):
        group = by_lexname[lexname]
        sentences, words = [], 0
        for i in rng_for(seed, "corpus/" + lexname).permutation(len(group)):
            sentence = synset_sentence(group[i])
            sentences.append(sentence)
            words += len(sentence.split())
            if words >= min_words:
                paragraphs.append(" ".join(sentences))
                sentences, words = [], 0
    order = rng_for(seed, "corpus").permutation(len(paragraphs))
    if len(order) < num_train + num_validation:
        raise ValueError(f"corpus: {len(order)} paragraphs, CORPUS_SIZES asks for {num_train + num_validation}")
    rows = [{"text": paragraphs[i]} for i in order[: num_train + num_validation]]
    return {"train": rows[num_validation:], "validation": rows[:num_validation]}


# ------------------------------------------------------------------------------------------ output
def write_jsonl(path: Path, rows: Iterable[dict]) -> None:
    """Compact JSON lines, UTF-8, ``\\n`` endings."""
    with open(path, "w", encoding="utf-8", newline="\n") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n")


def train_tokenizer(corpus: Sequence[str], out_dir: Path, vocab_size: int = VOCAB_SIZE, seed: int = 0) -> Path:
    """Unigram SentencePiece with T5 ids (pad 0, eos 1, unk 2, no bos), one thread, fixed seed."""
    import io

    import sentencepiece as spm

    spm.set_random_generator_seed(seed)
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(corpus), model_writer=model, vocab_size=vocab_size, model_type="unigram",
        pad_id=0, eos_id=1, unk_id=2, bos_id=-1, num_threads=1, character_coverage=0.9999,
        max_sentence_length=16384, shuffle_input_sentence=False, minloglevel=2)
    path = out_dir / "spm.model"
    path.write_bytes(model.getvalue())
    return path


def build_all(wordnet_dir: Path, out_dir: Path, seed: int) -> dict[str, dict[str, int]]:
    """Write every task's splits, the corpus and the tokenizer; return row counts."""
    synsets = read_wordnet(wordnet_dir)
    counts: dict[str, dict[str, int]] = {}
    splits = {**build_tasks(synsets, seed), "text": build_corpus(synsets, seed, *CORPUS_SIZES)}
    for name, by_split in sorted(splits.items()):
        for split, rows in by_split.items():
            write_jsonl(out_dir / f"{name}.{split}.jsonl", rows)
        counts[name] = {split: len(rows) for split, rows in by_split.items()}
    train_tokenizer([r["text"] for r in splits["text"]["train"]], out_dir, seed=seed)
    return counts


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--wordnet-dir", type=Path, default=Path("/usr/share/wordnet"),
                        help="folder holding data.noun, data.verb, data.adj, data.adv")
    parser.add_argument("--copyright", type=Path, default=Path("/usr/share/doc/wordnet-base/copyright"),
                        help="the package's copyright file (its WordNet licence goes to LICENSE.wordnet)")
    parser.add_argument("--out", type=Path, default=HERE / "mixlab_wordnet" / "data")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    counts = build_all(args.wordnet_dir, args.out, args.seed)
    (args.out / "LICENSE.wordnet").write_text(wordnet_license(args.copyright.read_text(encoding="utf-8")))
    print(json.dumps(counts, indent=1, sort_keys=True))
    return 0


def wordnet_license(copyright_text: str) -> str:
    """The WordNet 3.0 licence paragraph of a Debian copyright file, as plain text."""
    match = re.search(r"^License: WordNet3\.0\n((?: .*\n?)+)", copyright_text, re.MULTILINE)
    if match is None:
        raise ValueError("no 'License: WordNet3.0' paragraph in the copyright file")
    lines = [line[1:] for line in match.group(1).splitlines()]
    return "\n".join("" if line == "." else line for line in lines).strip() + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
