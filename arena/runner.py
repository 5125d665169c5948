"""The match runner: many episodes in lockstep, one ``act`` call per agent per tick.

At every tick the runner collects the seat on turn in every live episode, groups those
pending turns by agent *object* (identity, not name), and hands each agent the whole group in
one :meth:`~palaestra.envs.protocol.Agent.act` call. A local model therefore generates for
all of its pending turns at once, which is where the arena's throughput comes from.
Episodes finish independently; a new one starts as soon as a slot frees up.

>>> from palaestra.agents import make_agent
>>> jobs = [EpisodeJob("negotiation-v0", seed, {"alice": make_agent("random"),
...         "bob": make_agent("scripted:negotiation/fair")}) for seed in range(3)]
>>> records = list(MatchRunner(concurrency=2).run(jobs))
>>> sorted(r.seed for r in records)
[0, 1, 2]

Agent failures (an exception in ``act``, an :class:`~palaestra.envs.protocol.Action` with
``error`` set, a wrong number of actions, or a call that outlives ``agent_timeout``) follow
``on_error``: ``"forfeit"`` records the error and ends that episode as a forfeit of the failing
seat (the game's :meth:`~palaestra.envs.core.Game.forfeit` payoffs); ``"abort"`` raises
:class:`AgentFailure` out of :meth:`MatchRunner.run`. Records already yielded are never lost.
When a batched call raises, the runner asks the agent again one observation at a time, so
only the episodes whose turn really fails are forfeited.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from palaestra.arena.records import EpisodeRecord, Turn
from palaestra.envs import make
from palaestra.envs.protocol import Action, Agent, Observation

ON_ERROR_POLICIES = ("forfeit", "abort")


@dataclass
class EpisodeJob:
    """One episode to play.

    Attributes:
        env_id: A registered env id, e.g. ``"negotiation-v0"``.
        seed: Reset seed (``None`` draws one; records then hold ``-1``).
        agents: role -> agent. The same agent object may sit in many jobs (and seats); its
            pending turns are then batched into one ``act`` call.
        env_kwargs: Game and adapter arguments for :func:`palaestra.envs.make`.
        episode_id: Unique within a run; passed to the env (``Observation.episode``) and
            copied to the record. Defaults to ``"<env_id>/<seed>/<n>"``.
        meta: Copied into :attr:`EpisodeRecord.meta`.
    """

    env_id: str
    seed: int | None
    agents: dict[str, Agent]
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    episode_id: str = ""
    meta: dict[str, Any] = field(default_factory=dict)


class AgentFailure(RuntimeError):
    """An agent failed under ``on_error="abort"``.

    Attributes:
        episode_id: The episode whose turn failed.
        role: The seat on turn.
        agent: The agent's name.
        error: What went wrong.
    """

    def __init__(self, episode_id: str, role: str, agent: str, error: str) -> None:
        super().__init__(f"agent {agent!r} failed as {role} in episode {episode_id!r}: {error}")
        self.episode_id, self.role, self.agent, self.error = episode_id, role, agent, error

    def __reduce__(self) -> tuple[type, tuple[str, str, str, str]]:
        # Picklable, so that it crosses process boundaries (Ray workers) intact.
        return type(self), (self.episode_id, self.role, self.agent, self.error)


def _tokens(action: Action) -> int:
    if action.completion_ids is not None:
        return len(action.completion_ids)
    for key in ("completion_tokens", "tokens", "generated_tokens"):
        if isinstance(action.meta.get(key), int):
            return int(action.meta[key])
    return 0


def _train_fields(action: Action) -> dict[str, list[Any]] | None:
    fields = {
        k: list(v)
        for k, v in (
            ("prompt_ids", action.prompt_ids),
            ("completion_ids", action.completion_ids),
            ("logprobs", action.logprobs),
        )
        if v is not None
    }
    return fields or None


class LiveEpisode:
    """One episode in play: the env, the seats, and the record being built."""

    def __init__(self, job: EpisodeJob, episode_id: str) -> None:
        self.job = job
        self.episode_id = episode_id
        self.env = make(job.env_id, wrappers=False, **job.env_kwargs)
        roles = list(self.env.possible_agents)
        missing = [r for r in roles if r not in job.agents]
        extra = [r for r in job.agents if r not in roles]
        if missing or extra:
            raise ValueError(
                f"episode {episode_id!r}: {job.env_id} has roles {roles}; got agents for "
                f"{sorted(job.agents)} (missing {missing}, unknown {extra})"
            )
        self.roles = roles
        self.env.reset(seed=job.seed, options={"episode": episode_id})
        self.returns = dict.fromkeys(roles, 0.0)
        self.turns: list[Turn] = []
        self.last_turn: dict[str, Turn] = {}
        self.errors: list[dict[str, str]] = []
        self.stats: dict[str, dict[str, float]] = {}
        self.final_infos: dict[str, dict[str, Any]] = {}
        self.started = time.perf_counter()
        for agent in job.agents.values():
            self.stats.setdefault(agent.name, {"tokens": 0, "seconds": 0.0, "calls": 0})

    def pending(self) -> str | None:
        """The role on turn, after passing dead seats; ``None`` once the episode is over."""
        env = self.env
        while env.agents:
            role = env.agent_selection
            if env.terminations[role] or env.truncations[role]:
                self.final_infos[role] = dict(env.infos[role])
                env.step(None)
                continue
            return role
        return None

    def _credit(self) -> None:
        # A reward belongs to the acting seat's latest turn: what followed from that reply.
        for role, reward in self.env.rewards.items():
            self.returns[role] += reward
            if role in self.last_turn:
                self.last_turn[role].reward += reward

    def play(self, role: str, obs: Observation, action: Action, seconds: float) -> None:
        """Step the env with ``action``'s text and record the turn."""
        agent = self.job.agents[role]
        logged = len(self.env.moves)
        self.env.step(action.text)
        new = self.env.moves[logged:]
        move = new[-1] if new else None
        turn = Turn(
            role=role,
            agent=agent.name,
            turn=obs.turn,
            prompt=obs.text,
            text=move.text if move else "",
            reasoning=move.reasoning if move else "",
            valid=move.valid if move else True,
            reason=move.reason if move else "",
            tokens=_tokens(action),
            seconds=seconds,
            train=_train_fields(action),
        )
        self.turns.append(turn)
        self.last_turn[role] = turn
        stats = self.stats[agent.name]
        stats["tokens"] += turn.tokens
        stats["seconds"] += seconds
        stats["calls"] += 1
        self._credit()

    def fail(self, role: str, error: str, seconds: float) -> None:
        """Record an agent failure and end the episode as a forfeit by ``role``."""
        agent = self.job.agents[role]
        self.errors.append({"role": role, "agent": agent.name, "error": error})
        stats = self.stats[agent.name]
        stats["seconds"] += seconds
        stats["calls"] += 1
        self.env.forfeit(role, f"agent error by {role}: {error}")
        self._credit()

    def record(self) -> EpisodeRecord:
        env = self.env
        state = env.state
        return EpisodeRecord(
            episode_id=self.episode_id,
            env_id=self.job.env_id,
            seed=-1 if self.job.seed is None else int(self.job.seed),
            seating={r: self.job.agents[r].name for r in self.roles},
            returns=dict(self.returns),
            outcome=state.outcome,
            turns=self.turns,
            env_kwargs=dict(self.job.env_kwargs),
            info=env.summary(),
            invalid_moves=env.invalid_moves,
            errors=self.errors,
            discount=float(env.game.info.discount),
            stats=self.stats,
            meta={**self.job.meta, "seconds": time.perf_counter() - self.started},
        )


@dataclass(frozen=True)
class _Failed:
    """A turn whose ``act`` call failed (stands in for its action)."""

    error: str


class ActTimeout(TimeoutError):
    """An ``act`` call outlived ``agent_timeout``."""


def _call(fn: Callable[[], list[Action]], timeout: float | None) -> list[Action]:
    """Run ``fn``, raising :class:`ActTimeout` if it takes longer than ``timeout``.

    A call that times out cannot be interrupted from Python; its thread is left to finish in
    the background and its result is discarded.
    """
    if timeout is None:
        return fn()
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # handed to the caller's thread below
            box["error"] = exc

    thread = threading.Thread(target=target, daemon=True, name="palaestra-act")
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise ActTimeout(f"act did not return within {timeout:g} s")
    if "error" in box:
        raise box["error"]
    return box["value"]


def _end_episode(episode: LiveEpisode) -> None:
    """Tell each agent of a finished episode, once, so it can free per-episode state (e.g.
    the KV caches of its seats): the optional ``end_episode(episode_id)`` hook."""
    agents = {id(agent): agent for agent in episode.job.agents.values()}
    for agent in agents.values():
        hook = getattr(agent, "end_episode", None)
        if callable(hook):
            hook(episode.episode_id)


class MatchRunner:
    """Plays many episodes at once, batching every agent's pending turns.

    Args:
        concurrency: How many episodes are live at a time.
        on_error: ``"forfeit"`` (record the failure; the failing seat forfeits that episode)
            or ``"abort"`` (raise :class:`AgentFailure`).
        agent_timeout: Seconds one ``act`` call may take, or ``None`` for no limit. A call
            that times out fails every turn in its batch.
        progress: Show a progress bar (rich) while running.
    """

    def __init__(
        self,
        concurrency: int = 16,
        on_error: str = "forfeit",
        agent_timeout: float | None = None,
        progress: bool = False,
    ) -> None:
        if not isinstance(concurrency, int) or concurrency < 1:
            raise ValueError(f"concurrency must be a positive integer, got {concurrency!r}")
        if on_error not in ON_ERROR_POLICIES:
            raise ValueError(f"on_error must be one of {ON_ERROR_POLICIES}, got {on_error!r}")
        if agent_timeout is not None and agent_timeout <= 0:
            raise ValueError(f"agent_timeout must be positive or None, got {agent_timeout!r}")
        self.concurrency = concurrency
        self.on_error = on_error
        self.agent_timeout = agent_timeout
        self.progress = progress
        #: Sizes of every ``act`` call made, per agent name (for benchmarks and tests).
        self.batch_sizes: dict[str, list[int]] = {}

    def run(self, jobs: Iterable[EpisodeJob]) -> Iterator[EpisodeRecord]:
        """Play ``jobs``; yield each :class:`EpisodeRecord` as its episode finishes.

        Raises:
            AgentFailure: An agent failed and ``on_error`` is ``"abort"``.
            ValueError: A job's agents do not match its env's roles.
        """
        total = len(jobs) if hasattr(jobs, "__len__") else None  # type: ignore[arg-type]
        if not self.progress:
            for live in self.run_live(jobs):
                yield live.record()
            return
        from palaestra.arena.progress import episode_progress

        with episode_progress(total) as advance:
            for live in self.run_live(jobs):
                record = live.record()
                advance(record)
                yield record

    def run_live(self, jobs: Iterable[EpisodeJob]) -> Iterator[LiveEpisode]:
        """Like :meth:`run`, but yields the finished :class:`LiveEpisode` (env included)."""
        queue = iter(jobs)
        counter = itertools.count()
        live: list[LiveEpisode] = []
        seen_agents: set[int] = set()
        exhausted = False
        while True:
            # Finished episodes leave before the tick, so their slots refill in this tick.
            while True:
                while not exhausted and len(live) < self.concurrency:
                    job = next(queue, None)
                    if job is None:
                        exhausted = True
                        break
                    for agent in job.agents.values():
                        if id(agent) not in seen_agents:  # reset once per run, not per episode:
                            seen_agents.add(id(agent))  # other live episodes share the agent
                            agent.reset()
                    episode_id = job.episode_id or f"{job.env_id}/{job.seed}/{next(counter)}"
                    live.append(LiveEpisode(job, episode_id))
                finished = [episode for episode in live if episode.pending() is None]
                if not finished:
                    break
                live = [episode for episode in live if episode not in finished]
                for episode in finished:
                    _end_episode(episode)
                yield from finished
            if not live:
                return
            # Gather the pending turns of every live episode, grouped by agent object.
            groups: dict[int, tuple[Agent, list[tuple[LiveEpisode, str, Observation]]]] = {}
            for episode in live:
                role = episode.pending()
                assert role is not None
                agent = episode.job.agents[role]
                obs = episode.env.observation_for(role)
                groups.setdefault(id(agent), (agent, []))[1].append((episode, role, obs))
            for agent, turns in groups.values():
                self._act(agent, turns)

    def _act(self, agent: Agent, turns: list[tuple[LiveEpisode, str, Observation]]) -> None:
        observations = [obs for _, _, obs in turns]
        self.batch_sizes.setdefault(agent.name, []).append(len(observations))
        start = time.perf_counter()
        try:
            actions: list[Any] = list(_call(lambda: agent.act(observations), self.agent_timeout))
            if len(actions) != len(observations):
                raise ValueError(
                    f"act returned {len(actions)} actions for {len(observations)} observations"
                )
        except ActTimeout as exc:
            actions = [_Failed(f"timeout: {exc}")] * len(observations)
        except Exception as exc:  # a crashed agent is a recorded failure, not a crashed run
            if len(observations) > 1:
                actions = [self._act_one(agent, obs) for obs in observations]
            else:
                actions = [_Failed(f"{type(exc).__name__}: {exc}")]
        seconds = (time.perf_counter() - start) / len(observations)
        for (episode, role, obs), action in zip(turns, actions):
            if isinstance(action, _Failed):
                error: str | None = action.error
            elif isinstance(action, Action):
                error = action.error
            else:
                error = f"act returned {type(action).__name__}, not Action"
            if error is None:
                episode.play(role, obs, action, seconds)
                continue
            if self.on_error == "abort":
                raise AgentFailure(episode.episode_id, role, agent.name, error)
            episode.fail(role, error, seconds)

    def _act_one(self, agent: Agent, obs: Observation) -> Action | _Failed:
        """One observation on its own (isolates the failing turns of a failed batch)."""
        try:
            actions = _call(lambda: agent.act([obs]), self.agent_timeout)
        except Exception as exc:
            return _Failed(f"{type(exc).__name__}: {exc}")
        if len(actions) != 1:
            return _Failed(f"ValueError: act returned {len(actions)} actions for 1 observation")
        return actions[0]
