"""A local transformers model as an agent (``hf:<model id | local path | alias>?k=v``).

>>> agent = make_agent("hf:tiny?temperature=0&max_new_tokens=8")  # doctest: +SKIP
>>> agent.act([observation])[0].text  # doctest: +SKIP

One :meth:`HFAgent.act` call answers a whole batch of observations with one left-padded
``generate`` call. Each observation becomes a chat: its :attr:`~Observation.preamble` (rules,
role, private facts) is the system message and the rest of its text the user message, framed
by the tokenizer's chat template (plain text when the tokenizer has none).

**Training data.** With ``train=True`` every action carries ``prompt_ids``, ``completion_ids``
and ``logprobs``: the log-probability of each sampled token under the model's next-token
distribution at the sampling temperature, ``log_softmax(logits / temperature)`` (temperature 1
for greedy decoding). They are taken from the logits of the generation pass itself, recorded
before any top-k/top-p truncation, so a trainer's own forward pass over
``prompt_ids + completion_ids`` with the same temperature reproduces them.

**Sharing.** Models load once per process (:func:`load_model` keeps a cache keyed by path,
device and dtype), so two agents for the same spec, e.g. the policy in two seats, share one
model. Generation always uses whatever module is in :attr:`HFAgent.model` at call time: a
trainer may replace it with a peft-wrapped copy.

**Cache reuse.** By default (``reuse_cache=True``) the agent keeps, per episode seat, the keys and
values of the seat's last prompt and prefills only what is new on its next turn, and decodes
with a lean loop over preallocated buffers (:mod:`palaestra.agents.fastgen`,
:mod:`palaestra.agents.kvcache`). Caches are dropped by :meth:`HFAgent.end_episode` (the arena
calls it), by :meth:`HFAgent.reset`, when the model's weights change, and least recently used
first beyond ``cache_mb``. Seats also share common prefixes, the game's rules above all, with
each other and with later episodes (``share_prefixes``).

**Reproducibility.** Sampling draws from a generator seeded by ``seed``, the agent's call count
and the batch's observations, inside a forked torch RNG state: a run with the same seed and the
same sequence of calls gives the same text, and the global torch random state is untouched.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from palaestra.agents.chat import observation_messages
from palaestra.agents.kvcache import DEFAULT_CACHE_MB, SeatCacheStore
from palaestra.agents.models import load_pretrained, resolve_device, resolve_model
from palaestra.agents.sampling import SAMPLING_OPTIONS, CountedCalls
from palaestra.envs.protocol import Action, Observation

__all__ = ["HFAgent", "agent_from_spec", "clear_model_cache", "load_model", "resolve_device"]

# One generate() at a time per process: sampling seeds the (forked) global torch RNG, and two
# threads doing that at once would interleave their draws.
_GENERATE_LOCK = threading.RLock()
_CACHE_LOCK = threading.Lock()
_MODEL_CACHE: dict[tuple[str, str, str], tuple[Any, Any]] = {}


def load_model(name_or_path: str, device: str | None = None, dtype: Any = None) -> tuple[Any, Any]:
    """Load a causal LM and its tokenizer once per process; later calls get the same objects.

    Args:
        name_or_path: A model alias (see :mod:`palaestra.agents.models`, pulled on first use),
            a local directory, or a hub id.
        device: See :func:`~palaestra.agents.models.resolve_device`.
        dtype: See :func:`~palaestra.agents.models.resolve_device`.

    Returns:
        ``(model, tokenizer)``, the model in eval mode on ``device``
        (:func:`~palaestra.agents.models.load_pretrained`, shared).
    """
    dev, torch_dtype = resolve_device(device, dtype)
    path = resolve_model(name_or_path)
    if os.path.isdir(path):  # the same folder named two ways is one model
        path = os.path.realpath(path)
    key = (path, str(dev), str(torch_dtype))
    with _CACHE_LOCK:
        if key not in _MODEL_CACHE:
            try:
                _MODEL_CACHE[key] = load_pretrained(path, dev, torch_dtype)
            except FileNotFoundError as err:  # name the model as the caller spelled it
                raise FileNotFoundError(str(err).replace(repr(path), repr(name_or_path))) from err
        return _MODEL_CACHE[key]


def clear_model_cache() -> None:
    """Forget every cached model (agents that hold one keep it)."""
    with _CACHE_LOCK:
        _MODEL_CACHE.clear()


@dataclass
class _ScoreRow:
    """One forward row of :meth:`HFAgent.score`: a prompt plus a candidate stem (the candidate
    less its last token), and the candidates ``(observation, index, last token)`` it scores."""

    ids: list[int]
    stem: int
    finals: list[tuple[int, int, int]]


@dataclass(frozen=True)
class Prompt:
    """One observation rendered for the model."""

    text: str
    ids: list[int]


class _LogprobRecorder:
    """Logits processor that records the log-prob of each sampled token, one step late.

    At each step it keeps ``log_softmax(raw logits / temperature)``; at the next step the token
    just sampled is the last column of ``input_ids``, and its log-prob is gathered then. Only one
    step's distribution is held at a time (the full per-step logits of a long batched generation
    would take gigabytes).
    """

    def __init__(self, temperature: float) -> None:
        self.temperature = temperature
        self.pending: Any = None
        self.steps: list[Any] = []

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        import torch

        if self.pending is not None:
            self.steps.append(self.pending.gather(1, input_ids[:, -1:]).squeeze(1))
        self.pending = torch.log_softmax(scores.float() / self.temperature, dim=-1)
        return scores

    def finish(self, new_tokens: Any) -> Any:
        """Log-probs of ``new_tokens`` (batch, steps) as a (batch, steps) tensor."""
        import torch

        if self.pending is not None and len(self.steps) < new_tokens.shape[1]:
            last = new_tokens[:, len(self.steps)].unsqueeze(1)
            self.steps.append(self.pending.gather(1, last).squeeze(1))
            self.pending = None
        if not self.steps:
            return torch.zeros(new_tokens.shape, dtype=torch.float32)
        return torch.stack(self.steps, dim=1)


class _StopOnStrings:
    """Stopping criterion: a row is done once its completion contains one of the stop strings.

    Only the last few tokens are decoded at each step (enough to hold the longest stop string
    even at one byte per token), and the step at which each row first stopped is remembered.
    """

    def __init__(self, tokenizer: Any, stops: Sequence[str], prompt_len: int, batch: int) -> None:
        self.tokenizer = tokenizer
        self.stops = list(stops)
        self.prompt_len = prompt_len
        self.window = 4 * max(len(s.encode()) for s in self.stops) + 2
        self.stopped_at: list[int | None] = [None] * batch

    def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
        import torch

        step = input_ids.shape[1] - self.prompt_len - 1
        start = max(self.prompt_len, input_ids.shape[1] - self.window)
        done = []
        for row, tail in enumerate(input_ids[:, start:].tolist()):
            if self.stopped_at[row] is None:
                text = self.tokenizer.decode(tail, skip_special_tokens=True)
                if any(stop in text for stop in self.stops):
                    self.stopped_at[row] = step
            done.append(self.stopped_at[row] is not None)
        return torch.tensor(done, dtype=torch.bool, device=input_ids.device)


def _options_error(options: dict[str, Any]) -> str:
    return (
        f"unknown hf agent option(s) {sorted(options)}; expected some of temperature, top_p, "
        "top_k, max_new_tokens, stop, seed, train, device, dtype, batch_size, reuse_cache, "
        "cache_mb, share_prefixes, name"
    )


class HFAgent(CountedCalls):
    """A transformers causal LM that plays by generating text.

    Args:
        model: An alias (``"smollm2-135m"``, ``"tiny"``), a local directory, a hub id, or an
            already loaded model (then pass ``tokenizer`` too).
        tokenizer: The tokenizer for a model object (default: loaded with the model).
        name: Agent name (default ``"hf:<model>"``).
        temperature: Sampling temperature; 0 means greedy decoding.
        top_p: Nucleus sampling mass (1.0 = off).
        top_k: Keep only the k most likely tokens (0 = off).
        max_new_tokens: Cap on the completion length in tokens.
        stop: Stop strings (a string or a list). Generation stops once one appears, and the
            text is cut before it.
        seed: Base seed of sampling.
        train: Attach ``prompt_ids``, ``completion_ids`` and ``logprobs`` to every action.
        device: Torch device (default: CUDA if available, else CPU).
        dtype: Torch dtype (default: bf16 on CUDA, fp32 elsewhere).
        batch_size: Generate at most this many observations at once (default: all).
        reuse_cache: Keep each seat's KV cache across turns and prefill only new tokens
            (see the module docstring); ``False`` uses plain ``generate``.
        cache_mb: Cap on the memory of the kept caches, in MiB (least recently used seats
            go first).
        share_prefixes: Let seats reuse each other's common prefixes (the game's rules), across
            episodes too (:mod:`palaestra.agents.kvcache`); only with ``reuse_cache``.

    Raises:
        ValueError: A setting is out of range.
    """

    def __init__(
        self,
        model: Any = "smollm2-135m",
        tokenizer: Any = None,
        *,
        name: str | None = None,
        temperature: float = 0.7,
        top_p: float = 1.0,
        top_k: int = 0,
        max_new_tokens: int = 128,
        stop: str | Sequence[str] | None = None,
        seed: int = 0,
        train: bool = False,
        device: str | None = None,
        dtype: Any = None,
        batch_size: int | None = None,
        reuse_cache: bool = True,
        cache_mb: float = DEFAULT_CACHE_MB,
        share_prefixes: bool = True,
    ) -> None:
        if temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {temperature}")
        if not 0 < top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {top_p}")
        if top_k < 0:
            raise ValueError(f"top_k must be >= 0, got {top_k}")
        if max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be >= 1, got {max_new_tokens}")
        if batch_size is not None and batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if isinstance(model, str):
            self.model_name = model
            self.model, loaded_tokenizer = load_model(model, device=device, dtype=dtype)
            self.tokenizer = tokenizer or loaded_tokenizer
        else:
            if tokenizer is None:
                raise TypeError("HFAgent(model=<model object>) needs tokenizer= as well")
            self.model_name = (
                getattr(getattr(model, "config", None), "name_or_path", "") or type(model).__name__
            )
            self.model, self.tokenizer = model, tokenizer
            if device is not None or dtype is not None:
                dev, torch_dtype = resolve_device(device, dtype)
                self.model.to(device=dev, dtype=torch_dtype)
        self.name = name or f"hf:{self.model_name}"
        self.temperature = float(temperature)
        self.top_p = float(top_p)
        self.top_k = int(top_k)
        self.max_new_tokens = int(max_new_tokens)
        self.stop = [stop] if isinstance(stop, str) else list(stop or [])
        if any(not s for s in self.stop):
            raise ValueError(f"stop strings must be non-empty, got {self.stop!r}")
        self.seed = int(seed)
        self.train = bool(train)
        self.batch_size = batch_size
        self._calls = 0
        if cache_mb < 0:
            raise ValueError(f"cache_mb must be >= 0, got {cache_mb}")
        self.kv_store = (
            SeatCacheStore(int(cache_mb * 2**20), share_prefixes=share_prefixes)
            if reuse_cache
            else None
        )
        self._fast: Any = None
        #: Returns a key of the weights this agent computes with; its seat caches and shared
        #: prefixes are dropped when the key changes. ``None``: every weight of the model
        #: counts. A trainer narrows it for a frozen adapter on a model that keeps training.
        self.weights_key: Callable[[], Any] | None = None

    # -- prompts ---------------------------------------------------------------------------

    def messages(self, obs: Observation) -> list[dict[str, str]]:
        """The chat for one observation: the preamble as system message, the rest as user."""
        return observation_messages(obs)

    def render(self, obs: Observation) -> Prompt:
        """Token ids of the prompt for ``obs`` (chat template when the tokenizer has one)."""
        tok = self.tokenizer
        if getattr(tok, "chat_template", None):
            text = tok.apply_chat_template(
                self.messages(obs), tokenize=False, add_generation_prompt=True
            )
            ids = tok(text, add_special_tokens=False)["input_ids"]
        else:
            text = obs.text
            ids = tok(text)["input_ids"]
        return Prompt(text, list(ids))

    # -- generation ------------------------------------------------------------------------

    def act(self, observations: Sequence[Observation]) -> list[Action]:
        """Generate one reply per observation (batched; see the module docstring)."""
        observations = list(observations)
        if not observations:
            return []
        size = self.batch_size or len(observations)
        out: list[Action] = []
        for start in range(0, len(observations), size):
            out.extend(self._generate(observations[start : start + size]))
        return out

    def _generate(self, observations: Sequence[Observation]) -> list[Action]:
        import torch

        tok = self.tokenizer
        model = self.model
        device = next(model.parameters()).device
        prompts = [self.render(obs) for obs in observations]
        pad_id = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
        eos_ids = self.eos_ids()
        width = max(len(p.ids) for p in prompts)
        input_ids = torch.full((len(prompts), width), pad_id, dtype=torch.long)
        attention = torch.zeros((len(prompts), width), dtype=torch.long)
        for row, prompt in enumerate(prompts):  # left padding: prompts end where generation starts
            input_ids[row, width - len(prompt.ids) :] = torch.tensor(prompt.ids)
            attention[row, width - len(prompt.ids) :] = 1

        from transformers import (
            LogitsProcessorList,
            StoppingCriteriaList,
            TemperatureLogitsWarper,
            TopKLogitsWarper,
            TopPLogitsWarper,
        )

        sampling = self.temperature > 0
        recorder = _LogprobRecorder(self.temperature if sampling else 1.0)
        processors: list[Any] = [recorder]
        if sampling:
            # Our own warpers, after the recorder, so that the recorded log-probs are those of
            # the tempered full distribution; generate()'s own warpers are switched off below.
            processors.append(TemperatureLogitsWarper(self.temperature))
            if self.top_k:
                processors.append(TopKLogitsWarper(self.top_k))
            if self.top_p < 1:
                processors.append(TopPLogitsWarper(self.top_p))
        # Neutral values override any sampling defaults in the model's generation_config.
        sampling_flags: dict[str, Any] = {"do_sample": sampling}
        if sampling:
            sampling_flags.update(temperature=1.0, top_p=1.0, top_k=0)
        # The fast path hands the stopper only the generated tokens (no prompt in front).
        fast = self._fast_generator(pad_id)
        stop_offset = 0 if fast is not None else width
        stopper = _StopOnStrings(tok, self.stop, stop_offset, len(prompts)) if self.stop else None
        reused = [0] * len(prompts)

        self._calls += 1
        seed = self.seed_of(observations)
        was_training = model.training
        started = time.perf_counter()
        with _GENERATE_LOCK, torch.random.fork_rng(devices=_rng_devices(device)):
            torch.manual_seed(seed)
            model.eval()
            try:
                with torch.no_grad():
                    if fast is not None:
                        out = fast.generate(
                            [obs.seat for obs in observations],
                            [p.ids for p in prompts],
                            max_new_tokens=self.max_new_tokens,
                            sample=sampling,
                            eos_ids=eos_ids,
                            processors=LogitsProcessorList(processors),
                            stopper=stopper,
                        )
                        sequences, reused = out.tokens, out.reused
                    else:
                        sequences = model.generate(
                            input_ids=input_ids.to(device),
                            attention_mask=attention.to(device),
                            max_new_tokens=self.max_new_tokens,
                            **sampling_flags,
                            repetition_penalty=1.0,
                            num_beams=1,
                            pad_token_id=pad_id,
                            eos_token_id=eos_ids or None,
                            logits_processor=LogitsProcessorList(processors),
                            stopping_criteria=StoppingCriteriaList([stopper] if stopper else []),
                        )[:, width:]
            finally:
                model.train(was_training)
        latency = time.perf_counter() - started
        new_tokens = sequences.cpu()
        logprobs = recorder.finish(new_tokens).cpu() if self.train else None

        actions = []
        for row, prompt in enumerate(prompts):
            tokens = new_tokens[row].tolist()
            length, reason = len(tokens), "length"
            for i, token in enumerate(tokens):
                if token in eos_ids:
                    length, reason = i + 1, "eos"
                    break
            stopped_at = stopper.stopped_at[row] if stopper is not None else None
            if stopped_at is not None and stopped_at + 1 <= length:
                length, reason = stopped_at + 1, "stop"
            completion = tokens[:length]
            text = tok.decode(completion, skip_special_tokens=True)
            if self.stop:
                cuts = [text.find(s) for s in self.stop if s in text]
                if cuts:
                    text = text[: min(cuts)]
            meta = {
                "model": self.model_name,
                "tokens": len(completion),
                "prompt_tokens": len(prompt.ids),
                "finish_reason": reason,
                "latency": latency,
                "batch": len(prompts),
            }
            if fast is not None:
                meta["reused_tokens"] = reused[row]
            action = Action(text, meta=meta)
            if logprobs is not None:
                action.prompt_ids = list(prompt.ids)
                action.completion_ids = completion
                action.logprobs = logprobs[row, :length].tolist()
                meta["logprob_temperature"] = recorder.temperature
            actions.append(action)
        return actions

    def eos_ids(self) -> list[int]:
        """Token ids that end a reply (the model's generation config, then the tokenizer's)."""
        ids: list[int] = []
        config_eos = getattr(getattr(self.model, "generation_config", None), "eos_token_id", None)
        for value in (config_eos, self.tokenizer.eos_token_id):
            if isinstance(value, int):
                value = [value]
            for token in value or []:
                if token not in ids:
                    ids.append(int(token))
        return ids

    # -- scoring ---------------------------------------------------------------------------

    def score(
        self,
        observations: Sequence[Observation],
        candidates: Sequence[Sequence[str]],
        *,
        end: bool = False,
        batch_rows: int = 16,
    ) -> list[list[float]]:
        """Log-probability that the reply to each observation begins with each candidate text.

        ``candidates[i][j]`` is tokenized on its own (as a completion starts right after the
        chat template's generation prompt) and scored token by token under the distribution the
        agent samples from: ``log_softmax`` of ``logits / temperature`` after the agent's
        top-k / top-p truncation, so ``exp(score)`` is the probability that :meth:`act`'s first
        ``len(tokens)`` sampled tokens are exactly these. At temperature 0 (greedy decoding)
        the scores are those of temperature 1, as for the training log-probs. Other
        tokenizations of the same text are not counted.

        Cost: one row per observation and distinct candidate stem (the candidate less its last
        token; single-token candidates share one row), and the prefix that every prompt shares
        (the game's rules) is run once per call, its keys and values reused by every row.

        Args:
            observations: The prompts, rendered as in :meth:`act`.
            candidates: One list of candidate reply texts per observation.
            end: Score the candidate followed by the end-of-reply token (the probability of
                exactly that reply) instead of the candidate as the reply's beginning.
            batch_rows: Rows per forward pass.

        Returns:
            ``scores[i][j]``, a log-probability (``<= 0``; ``-inf`` when top-k/top-p
            truncation rules a token out).

        Raises:
            ValueError: The lengths disagree, a candidate is empty, or ``batch_rows < 1``.
        """
        observations = list(observations)
        if len(candidates) != len(observations):
            raise ValueError(
                f"expected one candidate list per observation, got {len(candidates)} lists for "
                f"{len(observations)} observations"
            )
        if batch_rows < 1:
            raise ValueError(f"batch_rows must be >= 1, got {batch_rows}")
        tok = self.tokenizer
        eos = self.eos_ids()
        if end and not eos:
            raise ValueError("end=True needs an end-of-reply token; the tokenizer has none")
        rows: list[_ScoreRow] = []
        for i, (obs, texts) in enumerate(zip(observations, candidates)):
            prompt = self.render(obs).ids
            stems: dict[tuple[int, ...], _ScoreRow] = {}
            for j, text in enumerate(texts):
                if not isinstance(text, str) or not text:
                    raise ValueError(f"candidate {j} of observation {i} must be text, got {text!r}")
                reply = list(tok(text, add_special_tokens=False)["input_ids"])
                if end:
                    reply.append(eos[0])
                stem = tuple(reply[:-1])
                if stem not in stems:
                    stems[stem] = _ScoreRow(prompt + list(stem), len(stem), [])
                    rows.append(stems[stem])
                stems[stem].finals.append((i, j, reply[-1]))
        out: list[list[float]] = [[0.0] * len(texts) for texts in candidates]
        if not rows:
            return out
        model = self.model
        device = next(model.parameters()).device
        temperature = self.temperature if self.temperature > 0 else 1.0
        # The shared prefix, less at least one token of every row (its logits are needed).
        shared = min(len(r.ids) - r.stem - 1 for r in rows)
        first = rows[0].ids
        for r in rows[1:]:
            while shared and r.ids[:shared] != first[:shared]:
                shared = next((k for k in range(shared) if r.ids[k] != first[k]), shared)
        was_training = model.training
        with _GENERATE_LOCK:
            model.eval()
            try:
                prefix = self._prefix_cache(rows[0].ids[:shared], device) if shared else None
                for start in range(0, len(rows), batch_rows):
                    chunk = rows[start : start + batch_rows]
                    for (i, j), value in self._score_rows(
                        chunk, shared, prefix, temperature, device
                    ):
                        out[i][j] = value
            finally:
                model.train(was_training)
        return out

    def _prefix_cache(self, ids: list[int], device: Any) -> Any:
        import torch
        from transformers.cache_utils import DynamicCache

        from palaestra.agents.fastgen import forward_keywords

        cache = DynamicCache()
        with torch.no_grad():
            self.model(
                input_ids=torch.tensor([ids], device=device),
                use_cache=True,
                logits_to_keep=1,
                **{forward_keywords(self.model)[0]: cache},
            )
        return cache

    def _score_rows(
        self,
        rows: Sequence[_ScoreRow],
        shared: int,
        prefix: Any,
        temperature: float,
        device: Any,
    ) -> list[tuple[tuple[int, int], float]]:
        """One forward pass over ``rows`` after the shared prefix (its cache expanded to the
        batch): each row's suffix is left-padded, so every row ends at the last column."""
        import copy

        import torch

        tok = self.tokenizer
        pad_id = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
        suffixes = [r.ids[shared:] for r in rows]
        width = max(len(s) for s in suffixes)
        keep = max(r.stem for r in rows) + 1  # logits needed: the last `keep` positions
        input_ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for row, ids in enumerate(suffixes):
            input_ids[row, width - len(ids) :] = torch.tensor(ids)
            mask[row, width - len(ids) :] = 1
        # Positions count real tokens only, as generate() numbers left-padded prompts.
        positions = shared + (mask.cumsum(1) - 1).clamp(min=0)
        attention = torch.cat([torch.ones((len(rows), shared), dtype=torch.long), mask], dim=1)
        kwargs: dict[str, Any] = {}
        if prefix is not None:
            cache = copy.deepcopy(prefix)
            cache.batch_repeat_interleave(len(rows))
            from palaestra.agents.fastgen import forward_keywords

            kwargs[forward_keywords(self.model)[0]] = cache
        with torch.no_grad():
            logits = self.model(
                input_ids=input_ids.to(device),
                attention_mask=attention.to(device),
                position_ids=positions.to(device),
                logits_to_keep=keep,
                **kwargs,
            ).logits[:, -keep:]
        # logits[:, t] predicts the token after suffix column width - keep + t.
        flat = (logits.float() / temperature).reshape(-1, logits.shape[-1])
        if self.top_k or self.top_p < 1:
            from transformers import TopKLogitsWarper, TopPLogitsWarper

            # The same warpers, in the same order, as sampling applies after the temperature.
            if self.top_k:
                flat = TopKLogitsWarper(self.top_k)(None, flat)
            if self.top_p < 1:
                flat = TopPLogitsWarper(self.top_p)(None, flat)
        logp = torch.log_softmax(flat, dim=-1).reshape(logits.shape).cpu()
        out = []
        for row, r in enumerate(rows):
            stem_ids = r.ids[len(r.ids) - r.stem :] if r.stem else []
            stem_logp = sum(
                float(logp[row, keep - 1 - r.stem + k, t]) for k, t in enumerate(stem_ids)
            )
            for i, j, final in r.finals:
                out.append(((i, j), stem_logp + float(logp[row, keep - 1, final])))
        return out

    def _fast_generator(self, pad_id: int) -> Any:
        """The cache-reusing generator, or ``None`` for plain ``generate`` (reuse off, or a
        generation config asking for processors that only ``generate`` applies)."""
        from palaestra.agents.fastgen import FastGenerator, unsupported_settings

        if self.kv_store is None or unsupported_settings(self.model):
            return None
        # Rebuilt when a trainer swaps the module in self.model (e.g. for a peft wrapper).
        if self._fast is None or self._fast.model is not self.model:
            self._fast = FastGenerator(self.model, self.kv_store, pad_id)
        self._fast.weights_key = self.weights_key
        return self._fast

    def end_episode(self, episode: str) -> None:
        """Free the seat caches of a finished episode (a no-op without ``reuse_cache``)."""
        if self.kv_store is not None:
            self.kv_store.end_episode(episode)

    def reset(self, keep_prefixes: bool = False) -> None:
        """Drop the seat caches, and the shared prefixes unless ``keep_prefixes`` (the call
        counter keeps runs reproducible)."""
        if self.kv_store is not None:
            self.kv_store.clear(shared=not keep_prefixes)


def _rng_devices(device: Any) -> list[Any]:
    return [device] if device.type == "cuda" else []


_OPTIONS = {
    *SAMPLING_OPTIONS,
    "device",
    "batch_size",
    "reuse_cache",
    "cache_mb",
    "share_prefixes",
    "tokenizer",
}


def agent_from_spec(rest: str, options: dict[str, Any]) -> HFAgent:
    """Factory for ``hf:<model>?k=v`` specs (see :mod:`palaestra.agents.specs`).

    Raises:
        AgentSpecError: No model named, or an unknown option.
    """
    from palaestra.agents.specs import AgentSpecError

    if not rest:
        raise AgentSpecError(
            "expected 'hf:<model id | local path | alias>', e.g. 'hf:smollm2-135m'"
        )
    unknown = {k: v for k, v in options.items() if k not in _OPTIONS}
    if unknown:
        raise AgentSpecError(_options_error(unknown))
    options = dict(options)
    if "name" in options and not isinstance(options["name"], str):
        options["name"] = str(options["name"])
    try:
        return HFAgent(rest, **options)
    except (TypeError, ValueError) as err:
        raise AgentSpecError(f"cannot build 'hf:{rest}' with {options}: {err}") from err
