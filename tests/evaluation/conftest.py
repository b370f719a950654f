"""A tiny model trained briefly on the embedded WordNet data, shared by the decoding and evaluation tests."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def wordnet_run(tmp_path_factory):
    """40 steps of the tiny model on ``wordnet-ext5`` (batch 16, 64 input / 16 target tokens): a run folder with
    config.yaml, mixture_manifest.json and checkpoints at steps 20 and 40 (about 6 s on one CPU thread)."""
    import mixlab_wordnet

    from mixlab.train import PretrainConfig, train

    out = tmp_path_factory.mktemp("wordnet") / "run"
    config = PretrainConfig(name="tiny-wordnet", model="tiny", mixture="wordnet-ext5",
                            tokenizer=mixlab_wordnet.tokenizer_path(), batch_size=16, input_length=64,
                            target_length=16, steps=40, warmup_steps=10, learning_rate=0.01, log_interval=20,
                            checkpoint_interval=20, keep_checkpoints=2, out_dir=str(out),
                            backend={"precision": "fp32"})
    train(config, progress=False)
    return out
