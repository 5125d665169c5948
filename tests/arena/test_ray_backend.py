"""The Ray backend plays the same episodes as the local one (on a local two-CPU Ray)."""

from __future__ import annotations

import os

import pytest
from arena_fixtures import strip_timing
from rich.console import Console

from palaestra.arena.config import parse_config
from palaestra.arena.store import EpisodeStore
from palaestra.arena.tournament import run_tournament

pytest.importorskip("ray")
pytestmark = pytest.mark.ray

QUIET = Console(file=open(os.devnull, "w"))  # noqa: SIM115


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
        "ray": {"num_cpus": 2, "workers": 2},
    }
    runs = {}
    for backend in ("local", "ray"):
        config = parse_config({**data, "backend": backend, "output": str(tmp_path / backend)})
        result = run_tournament(config, progress=False, console=QUIET, report=False)
        assert result.played == 18
        runs[backend] = {r.episode_id: strip_timing(r) for r in EpisodeStore(result.run_dir)}
    assert len(runs["ray"]) == 18
    assert runs["ray"] == runs["local"]
