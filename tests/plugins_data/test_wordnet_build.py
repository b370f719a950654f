"""The WordNet build script on a few real data-file lines: parser, task builders, determinism."""

import importlib.util
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "plugins" / "mixlab-wordnet" / "build_data.py"

# Lines of WordNet 3.0's data files (wordnet-base 1:3.0-37), verbatim; the first is licence header.
LINES = {
    "data.noun": [
        "  1 This software and database is being provided to you, the LICENSEE, by  ",
        "00001740 03 n 01 entity 0 003 ~ 00001930 n 0000 ~ 00002137 n 0000 ~ 04424418 n 0000 | that which is "
        "perceived or known or inferred to have its own distinct existence (living or nonliving)  ",
        "02083346 05 n 02 canine 0 canid 0 011 @ 02075296 n 0000 #m 02083038 n 0000 + 02677704 a 0101 ~ 02083672 n "
        "0000 ~ 02084071 n 0000 ~ 02114100 n 0000 ~ 02115096 n 0000 ~ 02115335 n 0000 ~ 02117135 n 0000 ~ 02118333 n "
        "0000 %p 02439929 n 0000 | any of various fissiped mammals with nonretractile claws and typically long "
        "muzzles  ",
        "02084071 05 n 03 dog 0 domestic_dog 0 Canis_familiaris 0 023 @ 02083346 n 0000 @ 01317541 n 0000 #m 02083863 "
        "n 0000 #m 07994941 n 0000 ~ 01322604 n 0000 ~ 02084732 n 0000 ~ 02084861 n 0000 ~ 02085272 n 0000 ~ 02085374 "
        "n 0000 ~ 02087122 n 0000 ~ 02103406 n 0000 ~ 02110341 n 0000 ~ 02110806 n 0000 ~ 02110958 n 0000 ~ 02111129 "
        "n 0000 ~ 02111277 n 0000 ~ 02111500 n 0000 ~ 02111626 n 0000 ~ 02112497 n 0000 ~ 02112826 n 0000 ~ 02113335 "
        "n 0000 ~ 02113978 n 0000 %p 02158846 n 0000 | a member of the genus Canis (probably descended from the "
        "common wolf) that has been domesticated by man since prehistoric times; occurs in many breeds; \"the dog "
        "barked all night\"  ",
    ],
    "data.verb": [
        "00001740 29 v 04 breathe 0 take_a_breath 0 respire 0 suspire 3 021 * 00005041 v 0000 * 00004227 v 0000 + "
        "03110323 a 0301 + 00831191 n 0303 + 04080833 n 0301 + 04250850 n 0105 + 00831191 n 0101 ^ 00004227 v 0103 ^ "
        "00005041 v 0103 $ 00002325 v 0000 $ 00002573 v 0000 ~ 00002573 v 0000 ~ 00002724 v 0000 ~ 00002942 v 0000 ~ "
        "00003826 v 0000 ~ 00004032 v 0000 ~ 00004227 v 0000 ~ 00005041 v 0000 ~ 00006697 v 0000 ~ 00007328 v 0000 ~ "
        "00017031 v 0000 02 + 02 00 + 08 00 | draw air into, and expel out of, the lungs; \"I can breathe better when "
        "the air is clean\"; \"The patient is respiring\"  ",
        "00002325 29 v 01 respire 1 005 $ 00001740 v 0000 @ 02108395 v 0000 + 03110323 a 0101 + 00831191 n 0103 + "
        "00830811 n 0101 01 + 02 00 | undergo the biomedical and metabolic processes of respiration by taking up "
        "oxygen and producing carbon monoxide  ",
    ],
    "data.adj": [
        "00001740 00 a 01 able 0 005 = 05200169 n 0000 = 05616246 n 0000 + 05616246 n 0101 + 05200169 n 0101 ! "
        "00002098 a 0101 | (usually followed by `to') having the necessary means or skill or know-how or authority "
        "to do something; \"able to swim\"; \"she was able to program her computer\"; \"we were at last able to buy "
        "a car\"; \"able to get a grant for the project\"  ",
        "00002098 00 a 01 unable 0 002 = 05200169 n 0000 ! 00001740 a 0101 | (usually followed by `to') not having "
        "the necessary means or skill or know-how; \"unable to get to town without a car\"; \"unable to obtain "
        "funds\"  ",
        "00003553 00 s 02 emergent 0 emerging 0 003 & 00003356 a 0000 + 02625016 v 0102 + 00050693 n 0101 | coming "
        "into existence; \"an emergent republic\"  ",
    ],
    "data.adv": [
        "00001740 02 r 01 a_cappella 0 000 | without musical accompaniment; \"they performed a cappella\"  ",
    ],
}


@pytest.fixture(scope="module")
def build():
    spec = importlib.util.spec_from_file_location("wordnet_build_data", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    saved_path = list(sys.path)  # the script puts its own folder on sys.path
    sys.modules[spec.name] = module  # dataclasses resolve annotations through sys.modules
    spec.loader.exec_module(module)
    yield module
    del sys.modules[spec.name]
    sys.path[:] = saved_path


@pytest.fixture(scope="module")
def synsets(build, tmp_path_factory):
    folder = tmp_path_factory.mktemp("wordnet")
    for name, lines in LINES.items():
        (folder / name).write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return build.read_wordnet(folder)


def test_parser_reads_fields_and_skips_the_licence_header(build, synsets):
    assert len(synsets) == 9
    dog = next(s for s in synsets if s.lemmas[0] == "dog")
    assert dog.lemmas == ("dog", "domestic dog", "Canis familiaris")
    assert (dog.offset, dog.file_pos, dog.pos, dog.lexname) == ("02084071", "n", "n", "noun.animal")
    assert len(dog.pointers) == 23 and dog.pointers[0] == ("@", "02083346", "n", "0000")
    assert dog.definition.endswith("since prehistoric times; occurs in many breeds")
    assert dog.examples == ("the dog barked all night",)
    breathe = next(s for s in synsets if s.lemmas[0] == "breathe")
    assert breathe.lexname == "verb.body" and breathe.lemmas[-1] == "suspire" and len(breathe.pointers) == 21
    assert breathe.examples == ("I can breathe better when the air is clean", "The patient is respiring")
    emergent = next(s for s in synsets if s.lemmas[0] == "emergent")
    assert (emergent.pos, emergent.file_pos, emergent.lexname) == ("s", "a", "adj.all")
    assert build.parse_data_line("  2 Princeton University under the following license.  ", "n") is None


def test_split_gloss(build):
    assert build.split_gloss('in the Christian era; used before dates; "in AD 200"  ') == (
        "in the Christian era; used before dates", ("in AD 200",))
    assert build.split_gloss("an entity that has physical existence  ") == ("an entity that has physical existence", ())
    assert build.split_gloss('"quoted only"') == ("", ("quoted only",))


def test_task_builders_on_real_lines(build, synsets):
    assert build.build_hypernym(synsets) == [{"word": "dog", "pos": "noun", "hypernym": "canine"}]
    assert build.build_antonym(synsets) == [{"word": "able", "pos": "adjective", "antonym": "unable"},
                                            {"word": "unable", "pos": "adjective", "antonym": "able"}]
    pos_rows = build.build_pos(synsets)
    assert {"sentence": "I can breathe better when the air is clean", "word": "breathe", "pos": "verb"} in pos_rows
    assert {"sentence": "an emergent republic", "word": "emergent", "pos": "adjective"} in pos_rows
    assert not any(r["sentence"] == "The patient is respiring" for r in pos_rows)  # inflected: no verbatim lemma
    assert {r["word"] for r in build.build_define(synsets)} >= {"dog", "able", "entity"}
    assert "respire" not in {r["word"] for r in build.build_define(synsets)}  # two senses: not monosemous
    assert [r["supersense"] for r in build.build_supersense(synsets)] == ["noun.animal", "noun.animal",
                                                                           "verb.body", "verb.body"]
    sentence = build.synset_sentence(synsets[-1])
    assert sentence == "A cappella (adverb): without musical accompaniment. They performed a cappella."


def test_build_is_deterministic_and_splits_are_disjoint(build, synsets):
    sizes = {"pos": (4, 2), "define": (4, 2), "antonym": (1, 1)}
    first = build.build_tasks(synsets, seed=0, sizes=sizes)
    assert first == build.build_tasks(synsets, seed=0, sizes=sizes)
    assert [len(first["pos"][s]) for s in ("train", "validation")] == [4, 2]
    for name, splits in first.items():
        key = build.SPLIT_KEYS[name]
        assert not {r[key] for r in splits["train"]} & {r[key] for r in splits["validation"]}
    orders = {tuple(r["sentence"] for r in build.build_tasks(synsets, seed=s, sizes=sizes)["pos"]["train"])
              for s in range(6)}
    assert len(orders) > 1  # the seed matters
    with pytest.raises(ValueError, match=r"task 'pos': .*lower SIZES\['pos'\]"):
        build.build_tasks(synsets, seed=0, sizes={"pos": (50, 2)})


def test_corpus_paragraphs_are_deterministic(build, synsets):
    corpus = build.build_corpus(synsets, seed=0, num_train=2, num_validation=1, min_words=10)
    assert corpus == build.build_corpus(synsets, seed=0, num_train=2, num_validation=1, min_words=10)
    assert all(len(r["text"].split()) >= 10 for rows in corpus.values() for r in rows)


def test_tokenizer_training_is_deterministic(build, synsets, tmp_path):
    corpus = [build.synset_sentence(s) for s in synsets] * 20
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = build.train_tokenizer(corpus, tmp_path / "a", vocab_size=120).read_bytes()
    assert first == build.train_tokenizer(corpus, tmp_path / "b", vocab_size=120).read_bytes()


def test_licence_extraction(build):
    text = ("Files: *\nLicense: WordNet3.0\n This software is provided.\n .\n WordNet 3.0 Copyright 2006.\n\n"
            "Files: debian/*\nLicense: GPL-2+\n")
    assert build.wordnet_license(text) == "This software is provided.\n\nWordNet 3.0 Copyright 2006.\n"
    with pytest.raises(ValueError, match=r"no 'License: WordNet3\.0' paragraph"):
        build.wordnet_license("License: MIT\n")
