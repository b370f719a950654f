"""Shared fixtures: a tiny SentencePiece model trained once per session, and a fake resumable stream."""

from __future__ import annotations

import numpy as np
import pytest

from mixlab.text import load_tokenizer, train_sentencepiece

WORDS = ("the cat dog sat ran on under a mat big small red blue green house tree river stone bird fish "
         "quick slow happy sad jumps over lazy fox walks talks sees hears eats drinks water bread").split()


def make_sentences(num: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    return [" ".join(rng.choice(WORDS, size=int(rng.integers(3, 15)))) for _ in range(num)]


@pytest.fixture(scope="session")
def sp_model(tmp_path_factory):
    return train_sentencepiece(make_sentences(400), tmp_path_factory.mktemp("sp") / "tiny", vocab_size=64, seed=0)


@pytest.fixture(scope="session")
def tokenizer(sp_model):
    return load_tokenizer(sp_model)


class FakeStream:
    """A list of stream items with the MixtureStream protocol (iterate, state_dict, load_state_dict)."""

    def __init__(self, items, shard=(0, 1), task_names=None):
        self.items = list(items)[shard[0]::shard[1]]
        self.position = 0
        self.task_names = task_names if task_names is not None else sorted({item["task"] for item in items})

    def __iter__(self):
        while self.position < len(self.items):
            self.position += 1
            yield self.items[self.position - 1]

    def state_dict(self):
        return {"position": self.position}

    def load_state_dict(self, state):
        self.position = state["position"]


class FakeMixture:
    def __init__(self, items):
        self.items = items
        names = sorted({item["task"] for item in items})
        self.probabilities = {name: 1 / len(names) for name in names}

    def stream(self, seed, shard=(0, 1), **kwargs):
        return FakeStream(self.items, shard=shard, task_names=list(self.probabilities))


def make_items(num: int, seed: int = 0) -> list[dict]:
    """Supervised items of tasks sup/a, sup/b and self-supervised text of ss/text, in a seeded order."""
    sentences = make_sentences(3 * num, seed)
    items = []
    for i in range(num):
        kind = i % 3
        if kind == 2:
            items.append({"task": "ss/text", "index": i, "text": " ".join(sentences[3 * i:3 * i + 3])})
        else:
            items.append({"task": "sup/a" if kind == 0 else "sup/b", "index": i,
                          "inputs": sentences[3 * i], "targets": sentences[3 * i + 1]})
    return items
