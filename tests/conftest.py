"""Shared test settings: one torch thread, hypothesis profile without deadlines, CPU only.

The suite pins CPU semantics (bit-identical resume, exact losses), so CUDA is hidden even on a GPU
machine; ``MIXLAB_TEST_CUDA=1`` shows it, for ``tests/train/test_cuda.py`` (skipped without CUDA).
"""

import os

if os.environ.get("MIXLAB_TEST_CUDA") != "1":
    os.environ["CUDA_VISIBLE_DEVICES"] = ""

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from hypothesis import settings

settings.register_profile("mixlab", deadline=None, max_examples=60)
settings.load_profile("mixlab")
