"""A tiny random-weight chat model, built locally in about a second, for tests and demos.

No hub is needed: the tokenizer is a byte-level BPE trained here on a small built-in corpus of
game words, and the model is a two-layer :class:`~transformers.LlamaForCausalLM` with seeded
random weights. Both are saved with ``save_pretrained`` so that ``AutoTokenizer`` and
``AutoModelForCausalLM`` load them like any other checkpoint. Its replies are gibberish; what
matters is that every code path of a real chat model (chat template, padding, sampling,
log-probs, LoRA) runs on it in milliseconds.

>>> from palaestra.agents.tiny import build_tiny_model
>>> path = build_tiny_model(tmp_dir)  # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

#: Special tokens of the tiny tokenizer (ChatML-like framing, as SmolLM2 uses).
PAD_TOKEN = "<|pad|>"
EOS_TOKEN = "<|im_end|>"
BOS_TOKEN = "<|im_start|>"

#: Chat template: ``<|im_start|>role\ncontent<|im_end|>\n`` per message.
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)

_CORPUS = """
You are alice. You are bob. You are the judge. The game master says: your turn.
OFFER: book=1 hat=2 ball=0. OFFER: book=0 hat=1 ball=3. ACCEPT. NO DEAL.
I take the books and you take the hats and the balls. Deal? No deal. Maybe.
Your values: book=2 hat=3 ball=1. The pool has 3 books, 2 hats and 1 ball.
Invalid move: every item type must be named. Try again. Reply with one move.
<think>I should ask for the items I value most.</think> I propose a fair split.
The debate: argue for answer A or answer B. Quote the passage. The judge decides.
Rock paper scissors. Guess the secret word. Yes no why because the answer is 42.
Round 1 of 10. Points, score, reward, win, lose, draw, agreement, proposal, counter offer.
abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789 .,;:!?'"()[]{}<>=+-*/_
"""


def _train_tokenizer(vocab_size: int):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[PAD_TOKEN, BOS_TOKEN, EOS_TOKEN],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    # Repetition gives frequent game words their own tokens; the byte alphabet covers the rest.
    tok.train_from_iterator([_CORPUS] * 8, trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        pad_token=PAD_TOKEN,
        eos_token=EOS_TOKEN,
        bos_token=BOS_TOKEN,
        padding_side="left",
        model_max_length=8192,
    )
    fast.chat_template = CHAT_TEMPLATE
    return fast


def build_tiny_model(
    directory: str | os.PathLike[str],
    *,
    seed: int = 0,
    hidden_size: int = 64,
    num_layers: int = 2,
    vocab_size: int = 512,
) -> Path:
    """Build and save a tiny random-weight Llama chat model with its own tokenizer.

    The result depends only on the arguments (seeded weights, deterministic tokenizer
    training), and the global torch random state is left untouched.

    Args:
        directory: Where to save it (created; an existing model there is overwritten).
        seed: Seed of the random weights.
        hidden_size: Width of the model.
        num_layers: Number of decoder layers.
        vocab_size: Size of the byte-level BPE vocabulary (at least 259).

    Returns:
        The directory, loadable with ``AutoModelForCausalLM.from_pretrained`` and
        ``AutoTokenizer.from_pretrained``.
    """
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    if vocab_size < 259:
        raise ValueError(f"vocab_size must be at least 259 (bytes + 3 specials), got {vocab_size}")
    directory = Path(directory)
    tokenizer = _train_tokenizer(vocab_size)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=2 * hidden_size,
        num_hidden_layers=num_layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=8192,
        # A wide init makes next-token distributions peaked, so greedy choices are not near
        # ties that float noise (batching, padding) could flip.
        initializer_range=0.3,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        tie_word_embeddings=True,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = LlamaForCausalLM(config).eval()
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    directory.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    (directory / "palaestra.json").write_text(
        json.dumps({"kind": "tiny", "seed": seed, "hidden_size": hidden_size}) + "\n"
    )
    return directory


def ensure_tiny_model(directory: str | os.PathLike[str]) -> Path:
    """Build the tiny model into ``directory`` unless it is already there.

    Safe when several processes race: each builds into a temporary sibling folder and renames
    it into place; the loser's copy is discarded.
    """
    directory = Path(directory)
    if (directory / "config.json").exists():
        return directory
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".tiny-", dir=directory.parent))
    try:
        build_tiny_model(tmp)
        try:
            tmp.rename(directory)
        except OSError:  # another process won the race
            if not (directory / "config.json").exists():
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return directory
