from __future__ import annotations

import pickle

import numpy as np
import pytest

from mixlab.errors import ConfigError, DataError
from mixlab.text import Tokenizer, load_tokenizer, train_sentencepiece
from tests.text.conftest import make_sentences


def test_t5_conventions(tokenizer):
    assert (tokenizer.pad_id, tokenizer.eos_id, tokenizer.unk_id) == (0, 1, 2)
    assert tokenizer.vocab_size == 64 + 100
    assert tokenizer.sentinel_id(0) == 163 and tokenizer.sentinel_id(99) == 64
    with pytest.raises(ValueError, match="sentinel index 100 out of range"):
        tokenizer.sentinel_id(100)


def test_encode_batch_matches_encode(tokenizer):
    texts = ["the cat sat on a mat", "", "blue river", "the <extra_id_0> sat <extra_id_7>"]
    batch = tokenizer.encode_batch(texts)
    assert [b.dtype for b in batch] == [np.int32] * 4
    assert [b.tolist() for b in batch] == [tokenizer.encode(t) for t in texts]
    assert batch[1].size == 0
    assert batch[3][-1] == tokenizer.sentinel_id(7) and tokenizer.sentinel_id(0) in batch[3]


def test_decode_round_trip_renders_sentinels(tokenizer):
    ids = tokenizer.encode("the cat sat") + [tokenizer.sentinel_id(0)] + tokenizer.encode("mat") + [1, 0, 0]
    assert tokenizer.decode(ids) == "the cat sat<extra_id_0> mat"
    assert tokenizer.decode(np.array(tokenizer.encode("big red house"))) == "big red house"
    with pytest.raises(DataError, match=r"outside the vocabulary 0\.\.163"):
        tokenizer.decode([164])


def test_training_is_deterministic(tmp_path):
    sentences = make_sentences(200, seed=3)
    first = train_sentencepiece(sentences, tmp_path / "a", vocab_size=50, seed=1)
    second = train_sentencepiece(sentences, tmp_path / "b", vocab_size=50, seed=1)
    pieces = [[(sp.id_to_piece(i), sp.get_score(i)) for i in range(sp.get_piece_size())]
              for sp in (load_tokenizer(first)._backend, load_tokenizer(second)._backend)]
    assert pieces[0] == pieces[1] and len(pieces[0]) == 50


def test_train_from_files(tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(make_sentences(200)))
    tok = load_tokenizer(train_sentencepiece([corpus], tmp_path / "f", vocab_size=50))
    assert tok.vocab_size == 150
    assert tok.decode(tok.encode("the quick fox")) == "the quick fox"


def test_load_directory_with_spiece_and_pickle(sp_model, tmp_path):
    (tmp_path / "spiece.model").write_bytes(sp_model.read_bytes())
    tok = load_tokenizer(tmp_path)
    assert tok.kind == "sentencepiece" and tok.vocab_size == 164
    clone = pickle.loads(pickle.dumps(tok))
    assert clone.encode("the cat") == tok.encode("the cat") and clone.vocab_size == 164


def test_load_errors(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_tokenizer(tmp_path / "missing.model")
    with pytest.raises(ConfigError, match=r"neither tokenizer\.json"):
        load_tokenizer(tmp_path)
    with pytest.raises(DataError, match=r"vocab_size=5000\) failed: .*fix: a smaller vocab_size"):
        train_sentencepiece(make_sentences(20), tmp_path / "y", vocab_size=5000)
    with pytest.raises(DataError, match="no non-empty text"):
        train_sentencepiece(["", "  "], tmp_path / "x", vocab_size=50)


def test_rejects_non_t5_ids(tmp_path):
    import sentencepiece as spm

    spm.SentencePieceTrainer.train(sentence_iterator=iter(make_sentences(200)), model_prefix=str(tmp_path / "m"),
                                   vocab_size=60, num_threads=1, minloglevel=2)  # default ids: unk 0, bos 1, eos 2
    with pytest.raises(ConfigError, match=r"\(pad, eos, unk\) ids are .* expected \(0, 1, 2\)"):
        load_tokenizer(tmp_path / "m.model")


def test_hf_tokenizer_directory(sp_model, tmp_path):
    transformers = pytest.importorskip("transformers")
    sp = load_tokenizer(sp_model)
    processor = sp._backend
    vocab = [(processor.id_to_piece(i), processor.get_score(i)) for i in range(processor.get_piece_size())]
    # transformers 5 numbers fresh extra ids upwards (<extra_id_0> = 64): mixlab refuses that layout
    transformers.T5Tokenizer(vocab=vocab, extra_ids=100).save_pretrained(tmp_path / "up")
    with pytest.raises(ConfigError, match="<extra_id_0> has id 64, expected vocab_size - 1 = 163"):
        load_tokenizer(tmp_path / "up")
    # T5's layout: sentinels at the top, <extra_id_0> last
    sentinels = [f"<extra_id_{k}>" for k in reversed(range(100))]
    transformers.T5Tokenizer(vocab=vocab, extra_ids=0, additional_special_tokens=sentinels).save_pretrained(tmp_path)
    tok = load_tokenizer(tmp_path)
    assert tok.kind == "hf" and tok.vocab_size == sp.vocab_size
    assert tok.sentinel_id(0) == sp.sentinel_id(0)
    assert tok.encode("the cat sat") == sp.encode("the cat sat")
    assert tok.decode(tok.encode("the cat") + [tok.sentinel_id(2), 1]) == "the cat<extra_id_2>"
    assert isinstance(tok, Tokenizer)
