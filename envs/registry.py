"""The env registry: ids, lazy modules, PettingZoo and Gymnasium registration.

Every game is registered once with :func:`register`. That makes it available as

* ``palaestra.envs.make("negotiation-v0")`` (AEC, with default wrappers) and
  ``make(..., parallel=True)`` where the game is simultaneous;
* ``pettingzoo.make("aec", "palaestra/negotiation-v0")``;
* ``gymnasium.make("palaestra/Negotiation-v0", role=..., opponents=...)`` (one seat, the other
  roles played by agents; see :mod:`palaestra.envs.single_agent`).
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from palaestra.envs.core import Game

#: Arguments that configure the adapter; every other keyword goes to the game.
ADAPTER_KWARGS = frozenset(
    {"invalid_move", "max_retries", "invalid_penalty", "max_message_chars", "max_cycles",
     "render_mode", "max_text", "action_mode"}
)  # fmt: skip


class UnknownEnvError(KeyError):
    """An env id that is not registered; the message suggests the closest ids."""

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True)
class EnvSpec:
    """One registered env.

    Attributes:
        id: The env id, ``<game>-v<N>``.
        module: Import path of the versioned module (its docstring is the game's docs page);
            it defines ``GAME`` (the :class:`Game` class) and ``SCRIPTED`` (name -> agent class).
        gym_name: Gymnasium name, registered as ``palaestra/<gym_name>-v<N>``.
        kwargs: Default game arguments of this id (variants share a module).
        default_opponents: Scripted agent name per role, for the single-agent view.
        requires: A module the game needs that is an optional extra (e.g. ``"pyspiel"``);
            without it the id is listed as unavailable, with ``install_hint``.
        install_hint: How to install what ``requires`` names.
    """

    id: str
    module: str
    gym_name: str
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    default_opponents: Mapping[str, str] = field(default_factory=dict)
    requires: str = ""
    install_hint: str = ""

    @property
    def available(self) -> bool:
        """Whether what the game needs is installed (found without importing it)."""
        if not self.requires:
            return True
        try:
            return importlib.util.find_spec(self.requires) is not None
        except (ImportError, ValueError):  # a module set to None in sys.modules, or broken
            return False

    @property
    def version(self) -> str:
        return self.id.rsplit("-", 1)[1]

    @property
    def gym_id(self) -> str:
        return f"palaestra/{self.gym_name}-{self.version}"

    def load(self) -> ModuleType:
        # sys.modules first, as import_module does, without its import machinery: make()
        # runs once per episode, and that machinery cost more than building the game.
        module = sys.modules.get(self.module)
        return module if module is not None else importlib.import_module(self.module)

    @property
    def game_class(self) -> type[Game]:
        return self.load().GAME

    @property
    def scripted(self) -> Mapping[str, type]:
        return getattr(self.load(), "SCRIPTED", {})

    def make_game(self, **kwargs: Any) -> Game:
        return self.game_class(**({**self.kwargs, **kwargs} if self.kwargs else kwargs))


_REGISTRY: dict[str, EnvSpec] = {}


def register(
    env_id: str,
    module: str,
    gym_name: str,
    kwargs: Mapping[str, Any] | None = None,
    default_opponents: Mapping[str, str] | None = None,
    requires: str = "",
    install_hint: str = "",
) -> EnvSpec:
    """Register a game under ``env_id`` (and with PettingZoo and Gymnasium).

    ``requires`` names a module from an optional extra; without it the id is left out of
    :func:`list_envs` (``palaestra envs`` lists it as unavailable, with ``install_hint``).
    """
    if "-v" not in env_id:
        raise ValueError(f"env ids look like 'name-v0', got {env_id!r}")
    spec = EnvSpec(
        env_id, module, gym_name, dict(kwargs or {}), dict(default_opponents or {}),
        requires, install_hint,
    )  # fmt: skip
    _REGISTRY[env_id] = spec
    _register_external(spec)
    return spec


def _register_external(spec: EnvSpec) -> None:
    import gymnasium
    import pettingzoo

    pettingzoo.register("aec", f"palaestra/{spec.id}", entry_point=_entry(spec.id, parallel=False))
    gymnasium.register(
        spec.gym_id,
        entry_point="palaestra.envs.single_agent:SingleAgentEnv",
        kwargs={"env_id": spec.id},
        disable_env_checker=True,
    )


def _entry(env_id: str, parallel: bool):
    def build(**kwargs: Any):
        return make(env_id, parallel=parallel, **kwargs)

    return build


def list_envs(include_unavailable: bool = False) -> list[str]:
    """The registered env ids, sorted; those whose optional extra is missing only with
    ``include_unavailable``."""
    return sorted(k for k, s in _REGISTRY.items() if include_unavailable or s.available)


def spec(env_id: str) -> EnvSpec:
    """The :class:`EnvSpec` of ``env_id``; unknown ids raise with the closest suggestions."""
    try:
        return _REGISTRY[env_id]
    except KeyError:
        pass
    candidates = list(_REGISTRY) + [s.gym_id for s in _REGISTRY.values()]
    by_gym = {s.gym_id: s for s in _REGISTRY.values()}
    if env_id in by_gym:
        return by_gym[env_id]
    close = difflib.get_close_matches(env_id, candidates, n=3, cutoff=0.4)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    raise UnknownEnvError(f"unknown env id {env_id!r}.{hint} Registered: {', '.join(list_envs())}")


def find_game(name: str) -> EnvSpec:
    """The spec for a game name (``"negotiation"``) or an env id (``"negotiation-v0"``)."""
    if name in _REGISTRY:
        return _REGISTRY[name]
    for env_id in sorted(_REGISTRY, reverse=True):  # newest version first
        if env_id.rsplit("-v", 1)[0] == name:
            return _REGISTRY[env_id]
    return spec(name)  # raises with suggestions


def make(env_id: str, parallel: bool = False, wrappers: bool = True, **kwargs: Any):
    """Build an env by id.

    Args:
        env_id: A registered id (see :func:`list_envs`).
        parallel: Return the PettingZoo Parallel env (only for simultaneous games).
        wrappers: Apply PettingZoo's default wrappers to the AEC env (``raw_env`` if False).
        **kwargs: Adapter arguments (``invalid_move``, ``max_retries``, ``invalid_penalty``,
            ``max_message_chars``, ``max_cycles``, ``render_mode``, ``max_text``,
            ``action_mode``); all others go to the game.
    """
    # The adapter (and PettingZoo) load on first use; a function-level `from ... import`
    # cost more per call than building the game.
    adapter = sys.modules.get("palaestra.envs.adapter")
    if adapter is None:
        adapter = importlib.import_module("palaestra.envs.adapter")
    env_spec = _REGISTRY.get(env_id) or spec(env_id)
    if ADAPTER_KWARGS.isdisjoint(kwargs):
        adapter_kwargs, game_kwargs = {}, kwargs
    else:
        adapter_kwargs = {k: v for k, v in kwargs.items() if k in ADAPTER_KWARGS}
        game_kwargs = {k: v for k, v in kwargs.items() if k not in ADAPTER_KWARGS}
    try:
        game = env_spec.make_game(**game_kwargs)
    except TypeError as err:
        raise TypeError(f"{env_id}: bad game argument: {err}") from err
    if parallel:
        if not game.info.simultaneous:
            raise ValueError(
                f"{env_id} is a sequential game and has no parallel env; "
                "use make(env_id) for the AEC env"
            )
        return adapter.TextGameParallelEnv(game, env_spec.id, **adapter_kwargs)
    env = adapter.TextGameEnv(game, env_spec.id, **adapter_kwargs)
    if wrappers:
        env = _order_enforcing()(env)
    return env


_ORDER_ENFORCING: list[type] = []


def _order_enforcing() -> type:
    """PettingZoo's ``OrderEnforcingWrapper``, with ``last()`` and the attributes every move
    reads served directly instead of through its ``__getattr__`` (about a quarter of a move's
    time on the PettingZoo path). Same checks, errors and ``str``; built on first use so that
    importing the registry does not import PettingZoo's wrappers."""
    if _ORDER_ENFORCING:
        return _ORDER_ENFORCING[0]
    from pettingzoo.utils.wrappers import OrderEnforcingWrapper

    def forwarded(name: str) -> property:
        def get(self: Any) -> Any:
            if not self._has_reset:
                raise AttributeError(f"{name} cannot be accessed before reset")
            return getattr(self.env, name)

        return property(get, doc=f"The wrapped env's ``{name}`` (after reset).")

    class OrderEnforcing(OrderEnforcingWrapper):
        agent_selection = forwarded("agent_selection")
        agents = forwarded("agents")
        rewards = forwarded("rewards")
        terminations = forwarded("terminations")
        truncations = forwarded("truncations")
        infos = forwarded("infos")

        def last(self, observe: bool = True) -> tuple[Any, float, bool, bool, dict[str, Any]]:
            env = self.env
            agent = self.agent_selection  # raises before reset, as PettingZoo's does
            observation = env.observe(agent) if observe else None
            return (
                observation,
                env._cumulative_rewards[agent],
                env.terminations[agent],
                env.truncations[agent],
                env.infos[agent],
            )

        def __str__(self) -> str:
            return str(self.env)  # as PettingZoo's prints itself

    # Named as PettingZoo's prints, and findable here by pickle (as _OrderEnforcing).
    OrderEnforcing.__name__, OrderEnforcing.__qualname__ = (
        "OrderEnforcingWrapper",
        "_OrderEnforcing",
    )
    globals()["_OrderEnforcing"] = OrderEnforcing
    _ORDER_ENFORCING.append(OrderEnforcing)
    return OrderEnforcing


def env_functions(env_id: str):
    """``(env, raw_env, parallel_env)`` constructors for a PettingZoo-style game module."""

    def env(**kwargs: Any):
        return make(env_id, **kwargs)

    def raw_env(**kwargs: Any):
        return make(env_id, wrappers=False, **kwargs)

    def parallel_env(**kwargs: Any):
        return make(env_id, parallel=True, **kwargs)

    env.__doc__ = f"The {env_id} AEC env with PettingZoo's default wrappers."
    raw_env.__doc__ = f"The bare {env_id} AEC env."
    parallel_env.__doc__ = f"The {env_id} Parallel env (simultaneous games only)."
    return env, raw_env, parallel_env
