from __future__ import annotations

import os

# Tests never touch a hub: the transformers/huggingface clients must stay offline.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
