"""The Ray backend: episodes spread over Ray worker actors (``backend = "ray"``).

Each worker actor builds the tournament's agents once (from their specs, so no model is
shipped over the wire) and plays chunks of :class:`~palaestra.arena.schedule.EpisodePlan`
with its own :class:`~palaestra.arena.runner.MatchRunner`, batching as the local backend does.
The driver keeps two chunks in flight per worker and yields records as chunks come back, so
the tournament stores them as they arrive.

``ray.init()`` starts a local cluster when ``ray.address`` is not set (``ray.num_cpus`` bounds
it); an address (``"auto"``, ``"ray://head:10001"``) connects to a running cluster, whose
nodes must have palaestra installed. The same config and seeds give the same records as the
local backend (timing fields aside): episode ids, seeds and agents' per-observation random
streams do not depend on where an episode runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from palaestra.arena.config import TournamentConfig
from palaestra.arena.records import EpisodeRecord
from palaestra.arena.runner import MatchRunner
from palaestra.arena.schedule import EpisodePlan, build_agents


class ArenaWorker:
    """What one Ray actor runs: agents built once, a match runner per chunk."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = TournamentConfig.model_validate(config)
        self.agents: dict[str, Any] = {}

    def play(self, plans: list[EpisodePlan]) -> list[dict[str, Any]]:
        needed = sorted({a for p in plans for a in p.seating.values()} - set(self.agents))
        self.agents.update(build_agents(self.config, needed))
        runner = MatchRunner(
            self.config.concurrency, self.config.on_error, self.config.agent_timeout
        )
        jobs = [p.job(self.agents) for p in plans]
        return [record_dict(r) for r in runner.run(jobs)]


def record_dict(record: EpisodeRecord) -> dict[str, Any]:
    from dataclasses import asdict

    return asdict(record)


def _chunks(plans: list[EpisodePlan], size: int) -> list[list[EpisodePlan]]:
    return [plans[i : i + size] for i in range(0, len(plans), size)]


def play_ray(plans: list[EpisodePlan], config: TournamentConfig) -> Iterator[EpisodeRecord]:
    """Play ``plans`` on Ray workers; yield records as chunks finish.

    Raises:
        ImportError: Ray is not installed (``pip install 'palaestra[ray]'``).
    """
    try:
        import ray
    except ImportError as err:
        raise ImportError(
            "backend 'ray' needs ray: pip install 'palaestra[ray]' (or use backend 'local')"
        ) from err
    if not plans:
        return
    started_here = not ray.is_initialized()
    if started_here:
        kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
        if config.ray.address:
            kwargs["address"] = config.ray.address
        elif config.ray.num_cpus:
            kwargs["num_cpus"] = config.ray.num_cpus
        if config.ray.runtime_env:
            kwargs["runtime_env"] = config.ray.runtime_env
        ray.init(**kwargs)
    try:
        workers_n = config.ray.workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
        chunk = config.concurrency
        chunks = _chunks(plans, chunk)
        workers_n = min(workers_n, len(chunks))
        actor = ray.remote(num_cpus=1)(ArenaWorker)
        payload = config.model_dump(mode="json")
        workers = [actor.remote(payload) for _ in range(workers_n)]
        queue = list(reversed(chunks))
        in_flight: dict[Any, Any] = {}

        def submit(worker: Any) -> None:
            if queue:
                in_flight[worker.play.remote(queue.pop())] = worker

        for worker in workers:  # two chunks each, so no worker waits for the driver
            submit(worker)
            submit(worker)
        while in_flight:
            ready, _ = ray.wait(list(in_flight), num_returns=1)
            worker = in_flight.pop(ready[0])
            submit(worker)
            try:
                chunk_records = ray.get(ready[0])
            except ray.exceptions.RayTaskError as err:
                # Re-raise the worker's own error (AgentFailure under on_error="abort").
                cause = getattr(err, "cause", None)
                raise (cause if isinstance(cause, Exception) else err) from None
            for data in chunk_records:
                yield EpisodeRecord.from_dict(data)
        for worker in workers:
            ray.kill(worker)
    finally:
        if started_here:
            ray.shutdown()
