"""The embedded WordNet plugin: declared sizes, pinned formatted rows, provenance, tokenizer, budget."""

import importlib.metadata as md
from pathlib import Path

import mixlab_wordnet
import pytest
from mixlab_wordnet import mixtures

import mixlab

SUPERVISED = ["wordnet/antonym", "wordnet/cloze", "wordnet/define", "wordnet/hypernym", "wordnet/pos",
              "wordnet/reverse_dictionary", "wordnet/supersense"]


@pytest.fixture(scope="module")
def registry():
    return mixlab.load_registry(plugins=["wordnet"], strict=True)


def test_tasks_are_registered_with_metadata(registry):
    tasks = registry.select(collection="wordnet")
    assert [t.name for t in tasks] == sorted([*SUPERVISED, "wordnet/text"])
    assert [t.name for t in registry.select(collection="wordnet", tag="supervised")] == SUPERVISED
    for task in tasks:
        assert task.version == "1.0.0" and task.collection == "wordnet"
        assert set(task.num_examples) == {"train", "validation"}
        assert task.license.startswith("WordNet-3.0") and "Miller" in task.citation
        assert task.metrics or task.self_supervised
    families = {t.family for t in tasks if not t.self_supervised}
    assert families == {"Classification", "Closed-Book QA", "Commonsense", "Generation",
                        "Reading Comprehension", "Semantic relations"}
    text = registry.get("wordnet/text")
    assert text.self_supervised and text.text_field == "text" and text.family == "Self-supervised"


def test_sizes_differ_by_an_order_of_magnitude(registry):
    sizes = [registry.get(name).num_train for name in SUPERVISED]
    assert max(sizes) >= 10_000 and min(sizes) <= 1_000


@pytest.mark.parametrize("name", [*SUPERVISED, "wordnet/text"])
def test_row_counts_equal_declared_sizes_and_every_row_formats(registry, name):
    task = registry.get(name)
    for split, declared in task.num_examples.items():
        rows = task.load(split)
        assert len(rows) == declared, (name, split)
        formatted = [task.format(row) for row in rows]
        key = "text" if task.self_supervised else "targets"
        assert all(ex[key] for ex in formatted)


def test_validation_inputs_never_appear_in_train(registry):
    for name in SUPERVISED:
        task = registry.get(name)
        train = {task.format(r)["inputs"] for r in task.load("train")}
        validation = [task.format(r)["inputs"] for r in task.load("validation")]
        assert not train & set(validation), name
        assert len(set(validation)) == len(validation), name


PINNED = {
    ("wordnet/antonym", 0): ("antonym: dominant (adjective)", "subordinate"),
    ("wordnet/antonym", 7): ("antonym: orderliness (noun)", "disorderliness"),
    ("wordnet/cloze", 0): ("fill in the blank: gave me a ___ reason for not going hint: ludicrous, foolish",
                           "cockamamie"),
    ("wordnet/cloze", 7): ("fill in the blank: ___ rumors and falsehoods hint: deliberately causing harm or damage",
                           "mischievous"),
    ("wordnet/define", 0): ("define: hand cream (noun)", "moisturizing cream for the hands"),
    ("wordnet/hypernym", 0): ("hypernym: cadmium sulfide (noun)", "sulfide"),
    ("wordnet/hypernym", 7): ("hypernym: remilitarize (verb)", "militarize"),
    ("wordnet/pos", 0): ("part of speech: the *effulgent* daffodils", "adjective"),
    ("wordnet/pos", 7): ("part of speech: *strategic* bombing missions", "adjective"),
    ("wordnet/reverse_dictionary", 0): ("word for: let drop or droop (verb)", "hang"),
    ("wordnet/reverse_dictionary", 7): ("word for: a plectrum used to pluck a guitar (noun)", "guitar pick"),
    ("wordnet/supersense", 0): ("supersense: white snapdragon (noun): California plant with slender racemes of "
                                "white flowers", "noun.plant"),
    ("wordnet/supersense", 7): ("supersense: rusher (noun): a person who rushes; someone in a hurry; someone who "
                                "acts precipitously", "noun.person"),
}


@pytest.mark.parametrize("name,index", sorted(PINNED))
def test_formatters_on_pinned_real_rows(registry, name, index):
    task = registry.get(name)
    inputs, targets = PINNED[(name, index)]
    assert task.format(task.load("train")[index]) == {"inputs": inputs, "targets": targets}


def test_corpus_rows_are_long_paragraphs(registry):
    task = registry.get("wordnet/text")
    rows = task.load("train")
    assert task.format(rows[0])["text"].startswith("Factory, mill, manufacturing plant, manufactory (noun): a plant ")
    assert min(len(r["text"].split()) for r in rows) >= 250


def test_formatter_errors_name_the_task_and_row(registry):
    task = registry.get("wordnet/pos")
    with pytest.raises(mixlab.DataError, match=r"task 'wordnet/pos': formatter failed .*does not occur"):
        task.format({"sentence": "no such word here", "word": "absent", "pos": "noun"})


def test_provenance_names_the_distribution(registry):
    info = registry.provenance("wordnet/define")
    assert info.distribution == "mixlab-wordnet"
    assert info.value == "mixlab_wordnet:tasks"


def test_named_mixtures(registry):
    points = {ep.name: ep.value for ep in md.entry_points(group="mixlab.mixtures")}
    assert points["wordnet"] == "mixlab_wordnet.mixtures:wordnet"
    assert points["wordnet-ext5"] == "mixlab_wordnet.mixtures:wordnet_ext5"
    assert mixtures.wordnet.__mixlab_plugin_api__ == mixtures.wordnet_ext5.__mixlab_plugin_api__ == 1
    assert mixtures.wordnet_ext5() == {
        "name": "wordnet-ext5",
        "rmix": {"self_supervised": "wordnet/text", "supervised": "wordnet", "R": 2, "unit": "examples"}}
    mix = mixlab.get_mixture("wordnet", registry=registry)
    total = sum(registry.get(n).num_train for n in SUPERVISED)
    assert total == 33_500
    assert list(mix.probabilities) == SUPERVISED
    assert mix.probabilities["wordnet/hypernym"] == pytest.approx(16_000 / total)
    ext5 = mixlab.get_mixture("wordnet-ext5", registry=registry)
    assert ext5.probabilities["wordnet/text"] == pytest.approx(2 / 3)
    assert ext5.probabilities["wordnet/antonym"] == pytest.approx(1_000 / total / 3)


def test_tokenizer_loads_and_round_trips():
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_file=mixlab_wordnet.tokenizer_path())
    assert (sp.get_piece_size(), sp.pad_id(), sp.eos_id(), sp.unk_id(), sp.bos_id()) == (2000, 0, 1, 2, -1)
    sentence = "The patient is respiring; a dog barked all night."
    ids = sp.encode(sentence)
    assert sp.unk_id() not in ids
    assert sp.decode(ids) == sentence
    assert len(ids) < len(sentence) / 2  # real subwords, not characters


def test_package_data_budget_and_licence():
    data = mixlab_wordnet.data_dir()
    total = sum(p.stat().st_size for p in data.iterdir() if p.is_file())
    assert total < 4_000_000
    assert "WordNet 3.0 Copyright 2006 by Princeton University" in (data / "LICENSE.wordnet").read_text()
    provenance = (data / "PROVENANCE.md").read_text()
    assert "wordnet-base" in provenance and "1:3.0-37" in provenance and "build_data.py" in provenance
    shipped = {p.name for p in data.iterdir()}
    expected = {f"{n}.{s}.jsonl" for n in mixlab_wordnet.SIZES for s in ("train", "validation")}
    assert expected | {"spm.model", "LICENSE.wordnet", "PROVENANCE.md"} == shipped
    assert Path(mixlab_wordnet.tokenizer_path()).parent == data
