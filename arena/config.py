"""Tournament configuration: a TOML or YAML file, validated with errors that name the bad key.

A minimal config (TOML)::

    name = "quickstart"
    episodes = 4            # per seating: every agent plays every role on the same seeds
    concurrency = 16

    [agents]
    random = "random"
    fair = { spec = "scripted:negotiation/fair", games = ["negotiation"] }

    [[games]]
    id = "negotiation-v0"
    args = { max_turns = 6 }

``agents`` is a table name -> spec (or name -> ``{spec, games, args}``), or a list of
``{name, spec, ...}`` tables. ``games`` is a list of env ids or ``{id, name, args, episodes,
seeds}`` tables. See ``docs/arena.md`` for every key.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from palaestra.envs import make, spec

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def game_roles(game: GameConfig) -> list[str]:
    """The roles of a configured game, in seat order."""
    return list(make(game.id, wrappers=False, **game.args).possible_agents)


class ConfigError(ValueError):
    """A tournament config that does not validate; the message names every bad key."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AgentConfig(_Strict):
    """One contestant.

    Attributes:
        spec: An agent spec (``random``, ``scripted:<game>/<name>``, ``hf:<model>``, ...).
        games: Game names or env ids this agent plays (default: every game).
        roles: The roles it may take (default: any), e.g. ``["judge"]`` for a scripted judge.
            Role names of games it does not play are ignored.
        args: Extra keyword arguments for :func:`palaestra.agents.make_agent`.
    """

    spec: str = Field(min_length=1)
    games: list[str] | None = None
    roles: list[str] | None = None
    args: dict[str, Any] = Field(default_factory=dict)


class GameConfig(_Strict):
    """One game of the tournament.

    Attributes:
        id: A registered env id.
        name: Label used in episode ids and by ``agents.*.games`` (default: the id). Two
            entries with the same id need different names.
        args: Game and adapter arguments (``palaestra.envs.make`` keywords).
        episodes: Seeds per seating for this game (default: the top-level ``episodes``).
        seeds: Explicit seeds for this game (overrides ``episodes``).
    """

    id: str
    name: str | None = None
    args: dict[str, Any] = Field(default_factory=dict)
    episodes: int | None = Field(default=None, ge=1)
    seeds: list[int] | None = None

    @field_validator("id")
    @classmethod
    def _registered(cls, value: str) -> str:
        try:
            spec(value)
        except KeyError as err:
            raise ValueError(str(err)) from None
        return value

    @model_validator(mode="after")
    def _buildable(self) -> GameConfig:
        try:
            make(self.id, wrappers=False, **self.args)
        except (TypeError, ValueError) as err:
            raise ValueError(f"args {self.args} do not build {self.id}: {err}") from None
        return self

    @property
    def label(self) -> str:
        return self.name or self.id

    def matches(self, name: str) -> bool:
        """Whether ``name`` (a label, env id or game name without version) means this game."""
        return name in (self.label, self.id, self.id.rsplit("-v", 1)[0])


class RayConfig(_Strict):
    """Settings of the Ray backend.

    Attributes:
        address: A cluster address (``"auto"``, ``"ray://host:10001"``); none starts a
            local cluster.
        num_cpus: CPUs of the local cluster (ignored when connecting to one).
        workers: Worker actors (default: the cluster's CPUs).
        runtime_env: Ray's ``runtime_env`` for the workers (e.g. ``{"pip": [...]}``,
            ``{"env_vars": {...}}``), to ship what a cluster's nodes lack.
    """

    address: str | None = None
    num_cpus: int | None = Field(default=None, ge=1)
    workers: int | None = Field(default=None, ge=1)
    runtime_env: dict[str, Any] | None = None


class RatingsConfig(_Strict):
    """How ``ratings.json``, the tables and the report estimate (every method alike).

    Attributes:
        confidence: Level of every confidence interval (Bradley–Terry, Elo, OpenSkill and the
            mean returns).
        bootstrap_rounds: Resampling rounds of the Bradley–Terry and Elo intervals.
        ties: Bradley–Terry tie model, ``"half"`` or ``"davidson"``.
        seed: Seed of the resampling.
    """

    confidence: float = Field(default=0.95, gt=0, lt=1)
    bootstrap_rounds: int = Field(default=200, ge=1)
    ties: Literal["half", "davidson"] = "half"
    seed: int = 0


class TournamentConfig(_Strict):
    """A whole tournament.

    Attributes:
        name: The tournament's name (default output directory ``runs/<name>``).
        agents: name -> :class:`AgentConfig` (at least two, or one with ``self_play``).
        games: The games.
        episodes: Seeds per seating (pairing and seat order), ``seed, seed+1, ...``.
        seed: First seed.
        seeds: Explicit seeds (overrides ``episodes`` and ``seed``).
        seating: ``"rotations"``: every agent plays every seat once per group of agents
            (n seatings for n seats); ``"permutations"``: every seat order (n!).
        self_play: Whether an agent may also play against itself.
        concurrency: Episodes in play at once (per worker with Ray).
        on_error: ``"forfeit"`` or ``"abort"`` (see :class:`~palaestra.arena.runner.MatchRunner`).
        agent_timeout: Seconds one ``act`` call may take (none: no limit).
        output: The run directory (default ``runs/<name>``).
        backend: ``"local"`` or ``"ray"``.
        ray: Ray settings.
        ratings: Rating settings (:class:`RatingsConfig`).
    """

    name: str = "tournament"
    agents: dict[str, AgentConfig]
    games: list[GameConfig] = Field(min_length=1)
    episodes: int = Field(default=4, ge=1)
    seed: int = 0
    seeds: list[int] | None = None
    seating: Literal["rotations", "permutations"] = "rotations"
    self_play: bool = False
    concurrency: int = Field(default=16, ge=1)
    on_error: Literal["forfeit", "abort"] = "forfeit"
    agent_timeout: float | None = Field(default=None, gt=0)
    output: str | None = None
    backend: Literal["local", "ray"] = "local"
    ray: RayConfig = Field(default_factory=RayConfig)
    ratings: RatingsConfig = Field(default_factory=RatingsConfig)

    @field_validator("agents", mode="before")
    @classmethod
    def _agent_table(cls, value: Any) -> Any:
        # Accept a list of {name, spec, ...} tables and bare spec strings as well as a table.
        if isinstance(value, list):
            table: dict[str, Any] = {}
            for i, item in enumerate(value):
                if isinstance(item, str):
                    name, item = item, {"spec": item}
                elif isinstance(item, dict) and isinstance(item.get("name"), str):
                    item = dict(item)
                    name = item.pop("name")
                else:
                    raise ValueError(f"agents[{i}] needs a 'name' and a 'spec', got {item!r}")
                if name in table:
                    raise ValueError(f"agents[{i}]: duplicate agent name {name!r}")
                table[name] = item
            return table
        if isinstance(value, dict):
            return {k: ({"spec": v} if isinstance(v, str) else v) for k, v in value.items()}
        return value

    @field_validator("games", mode="before")
    @classmethod
    def _game_list(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [{"id": v} if isinstance(v, str) else v for v in value]
        return value

    @model_validator(mode="after")
    def _consistent(self) -> TournamentConfig:
        labels = [g.label for g in self.games]
        dupes = sorted({x for x in labels if labels.count(x) > 1})
        if dupes:
            raise ValueError(f"games: duplicate game names {dupes}; give each a distinct 'name'")
        for name, agent in self.agents.items():
            for game in agent.games or ():
                if not any(g.matches(game) for g in self.games):
                    raise ValueError(
                        f"agents.{name}.games: {game!r} is not a game of this tournament "
                        f"(games: {labels})"
                    )
        for game in self.games:
            roles = game_roles(game)
            seats = len(roles)
            players = self.players(game)
            if len(players) < (1 if self.self_play else seats):
                raise ValueError(
                    f"games: {game.label} has {seats} seats but only {len(players)} agents "
                    f"play it ({players}); add agents or set self_play = true"
                )
            for role in roles:
                takers = [
                    n
                    for n in players
                    if self.agents[n].roles is None or role in self.agents[n].roles
                ]
                if not takers:
                    raise ValueError(f"games: no agent of {game.label} may take the role {role!r}")
        for name, agent in self.agents.items():
            known = {r for g in self.games if name in self.players(g) for r in game_roles(g)}
            for role in agent.roles or ():
                if role not in known:
                    raise ValueError(
                        f"agents.{name}.roles: {role!r} is not a role of its games "
                        f"(roles: {sorted(known)})"
                    )
        return self

    def players(self, game: GameConfig) -> list[str]:
        """The agent names that play ``game`` (and may take one of its roles), in order."""
        roles = set(game_roles(game))
        return [
            n
            for n, a in self.agents.items()
            if (a.games is None or any(game.matches(g) for g in a.games))
            and (a.roles is None or roles & set(a.roles))
        ]

    def allowed_roles(self) -> dict[str, list[str] | None]:
        """agent name -> the roles it may take (``None``: any)."""
        return {n: a.roles for n, a in self.agents.items()}

    def seeds_for(self, game: GameConfig) -> list[int]:
        if game.seeds is not None:
            return list(game.seeds)
        if game.episodes is not None:
            return [self.seed + i for i in range(game.episodes)]
        if self.seeds is not None:
            return list(self.seeds)
        return [self.seed + i for i in range(self.episodes)]

    @property
    def run_dir(self) -> Path:
        return Path(self.output or Path("runs") / self.name)

    def identity(self) -> dict[str, Any]:
        """What decides the episodes (not where or how fast they run): resume checks it."""
        return self.model_dump(
            mode="json",
            include={"name", "agents", "games", "episodes", "seed", "seeds", "seating",
                     "self_play", "on_error"},
        )  # fmt: skip


def _format_errors(err: ValidationError) -> str:
    lines = []
    for e in err.errors():
        key = ".".join(str(p) for p in e["loc"]) or "(top level)"
        message = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            message = "unknown key"
        lines.append(f"  {key}: {message}")
    return "\n".join(lines)


def parse_config(data: Any, source: str = "config") -> TournamentConfig:
    """Validate a config already read into Python objects.

    Raises:
        ConfigError: Naming every bad key (e.g. ``games.0.id: unknown env id ...``).
    """
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a table of settings, got {type(data).__name__}")
    try:
        return TournamentConfig.model_validate(data)
    except ValidationError as err:
        raise ConfigError(f"{source}: invalid tournament config:\n{_format_errors(err)}") from None


def load_config(path: str | Path, overrides: dict[str, Any] | None = None) -> TournamentConfig:
    """Read and validate a TOML (``.toml``) or YAML (``.yaml``/``.yml``) tournament config.

    Args:
        path: The config file.
        overrides: Top-level keys to replace (command-line options), validated too.

    Raises:
        FileNotFoundError: No such file.
        ConfigError: The file does not parse or does not validate.
    """
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    suffix = path.suffix.lower()
    try:
        if suffix == ".toml":
            data = tomllib.loads(text)
        elif suffix in (".yaml", ".yml"):
            data = yaml.safe_load(text)
        elif suffix == ".json":
            data = json.loads(text)
        else:
            raise ConfigError(f"{path}: expected a .toml, .yaml or .yml file")
    except (tomllib.TOMLDecodeError, yaml.YAMLError, json.JSONDecodeError) as err:
        raise ConfigError(f"{path}: cannot parse: {err}") from None
    if isinstance(data, dict) and overrides:
        data = dict(data)
        for key, value in overrides.items():
            if isinstance(value, dict) and isinstance(data.get(key), dict):
                data[key] = {**data[key], **value}
            elif value is not None:
                data[key] = value
    return parse_config(data, str(path))
