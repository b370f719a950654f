from __future__ import annotations

from collections import Counter

import pytest

from mixlab.text import BatchConfig
from tests.text.conftest import FakeMixture, make_sentences

torch = pytest.importorskip("torch")


def supervised_items(num):
    sentences = make_sentences(2 * num, seed=11)
    return [{"task": f"sup/{'ab'[i % 2]}", "index": i, "inputs": sentences[2 * i], "targets": sentences[2 * i + 1]}
            for i in range(num)]


def collect(loader):
    seen = Counter()
    for batch in loader:
        assert isinstance(batch["input_ids"], torch.Tensor) and batch["input_ids"].dtype == torch.int32
        assert batch["task_names"] == ["sup/a", "sup/b"]
        for row, seg in zip(batch["input_ids"], batch["encoder_segment_ids"]):
            if seg.any():
                seen[tuple(row[seg > 0].tolist())] += 1
    return seen


def expected(tokenizer, items):
    return Counter(tuple(tokenizer.encode(item["inputs"]) + [1]) for item in items)


def test_workers_and_ranks_get_disjoint_complete_shards(tokenizer):
    from torch.utils.data import DataLoader

    from mixlab.text import MixtureDataset

    items = supervised_items(60)
    config = BatchConfig(batch_size=4, input_length=32, target_length=32, chunk_size=4)
    seen = Counter()
    for rank in (0, 1):
        dataset = MixtureDataset(FakeMixture(items), tokenizer, config, seed=0, rank=rank, world_size=2)
        part = collect(DataLoader(dataset, batch_size=None, num_workers=2))
        assert 0 < sum(part.values()) < 60
        seen += part
    assert seen == expected(tokenizer, items)  # every example exactly once over 2 ranks x 2 workers


def test_shard_without_workers_and_from_environment(tokenizer, monkeypatch):
    from mixlab.text import MixtureDataset

    config = BatchConfig(batch_size=2, input_length=32, target_length=32)
    assert MixtureDataset(FakeMixture(supervised_items(4)), tokenizer, config).shard() == (0, 1)
    monkeypatch.setenv("RANK", "3")
    monkeypatch.setenv("WORLD_SIZE", "4")
    dataset = MixtureDataset(FakeMixture(supervised_items(8)), tokenizer, config)
    assert dataset.shard() == (3, 4)
    assert sum(collect(dataset).values()) == 2


def test_real_mixture_over_two_workers(tokenizer):
    samplers = pytest.importorskip("mixlab.samplers")
    from torch.utils.data import DataLoader

    from mixlab import CallableSource, Task
    from mixlab.text import MixtureDataset

    sentences = make_sentences(80, seed=5)
    tasks = [Task(name=f"t/{name}", family="f", collection="c", num_examples={"train": 40},
                  source=CallableSource(fn=lambda split, o=offset: [{"q": s} for s in sentences[o:o + 40]]),
                  formatter=lambda row: {"inputs": row["q"], "targets": "big red"})
             for name, offset in (("a", 0), ("b", 40))]
    mixture = samplers.Mixture.of([(task, 1.0) for task in tasks], name="m")
    config = BatchConfig(batch_size=4, input_length=32, target_length=8, chunk_size=4)
    dataset = MixtureDataset(mixture, tokenizer, config, seed=3, rank=0, world_size=1, exhaustion="all")
    seen = Counter()
    for batch in DataLoader(dataset, batch_size=None, num_workers=2):
        assert batch["task_names"] == ["t/a", "t/b"]
        for row, seg in zip(batch["input_ids"], batch["encoder_segment_ids"]):
            if seg.any():
                seen[tuple(row[seg > 0].tolist())] += 1
    assert seen == Counter(tuple(tokenizer.encode(s) + [1]) for s in sentences)
