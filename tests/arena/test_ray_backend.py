"""The Ray backend plays the same episodes as the local one (on a local two-CPU Ray)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from arena_fixtures import strip_timing
from rich.console import Console

from palaestra.arena.config import parse_config
from palaestra.arena.store import EpisodeStore
from palaestra.arena.tournament import run_tournament

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.ray

HERE = str(Path(__file__).parent)
QUIET = Console(file=open(os.devnull, "w"))  # noqa: SIM115


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    """One two-CPU local Ray for the module (starting one takes seconds)."""
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        runtime_env={"env_vars": {"PYTHONPATH": HERE}},  # so workers import arena_fixtures
    )
    yield
    ray.shutdown()


def test_ray_and_local_backends_give_the_same_records(tmp_path):
    data = {
        "name": "ray-vs-local",
        "episodes": 3,
        "concurrency": 4,
        "agents": {
            "random": "random?seed=4",
            "fair": "scripted:negotiation/fair",
            "hard": "scripted:negotiation/hard",
        },
        "games": [{"id": "negotiation-v0", "args": {"max_turns": 6}}],
        "ray": {"workers": 2},
    }
    runs = {}
    for backend in ("local", "ray"):
        config = parse_config({**data, "backend": backend, "output": str(tmp_path / backend)})
        result = run_tournament(config, progress=False, console=QUIET, report=False)
        assert result.played == 18
        runs[backend] = {r.episode_id: strip_timing(r) for r in EpisodeStore(result.run_dir)}
    assert len(runs["ray"]) == 18
    assert runs["ray"] == runs["local"]


def test_an_abort_on_a_ray_worker_raises_agent_failure_in_the_driver(tmp_path):
    from palaestra.arena.runner import AgentFailure

    data = {
        "name": "ray-abort",
        "episodes": 1,
        "agents": {"broken": {"spec": "arena_fixtures:Failing", "args": {"fail_on": ["*"]}}},
        "self_play": True,
        "games": ["negotiation-v0"],
        "on_error": "abort",
        "backend": "ray",
        "output": str(tmp_path / "run"),
        "ray": {"workers": 1},
    }
    with pytest.raises(AgentFailure):
        run_tournament(parse_config(data), progress=False, console=QUIET, report=False)
