from __future__ import annotations

import os

# Tests never touch a hub: the transformers/huggingface clients must stay offline.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# Tiny test models gain nothing from a second thread; on a busy 2-core machine its spin-waits
# make them many times slower. Set before torch is imported anywhere.
os.environ.setdefault("OMP_NUM_THREADS", "1")
