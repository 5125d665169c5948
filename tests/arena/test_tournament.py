"""Tournaments: config validation, schedule with seat swaps, store, resume after SIGKILL."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from arena_fixtures import strip_timing
from rich.console import Console

from palaestra.arena.config import ConfigError, load_config, parse_config
from palaestra.arena.records import EpisodeRecord
from palaestra.arena.schedule import build_schedule, seatings
from palaestra.arena.store import EpisodeStore
from palaestra.arena.tournament import run_tournament
from palaestra.envs import registry

HERE = Path(__file__).parent
QUIET = Console(file=open(os.devnull, "w"))  # noqa: SIM115


@pytest.fixture(scope="module")
def pick_game():
    """A three-seat toy game, registered for this module's tests only."""
    registry.register("pick-v0", "arena_fixtures", "Pick")
    yield "pick-v0"
    registry._REGISTRY.pop("pick-v0")


def base_config(tmp_path, **extra):
    data = {
        "name": "t",
        "episodes": 2,
        "concurrency": 4,
        "output": str(tmp_path / "run"),
        "agents": {"random": "random", "fair": "scripted:negotiation/fair"},
        "games": [{"id": "negotiation-v0", "args": {"max_turns": 4}}],
    }
    data.update(extra)
    return data


# -- config ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"games": [{"id": "negotation-v0"}]}, "games.0.id: unknown env id 'negotation-v0'"),
        ({"games": [{"id": "negotiation-v0", "argz": {}}]}, "games.0.argz: unknown key"),
        ({"agents": {"a": {"games": ["x"]}}}, "agents.a.spec: Field required"),
        ({"concurrency": "many"}, "concurrency: Input should be a valid integer"),
        ({"concurrency": 0}, "concurrency: Input should be greater than or equal to 1"),
        ({"backend": "spark"}, "backend: Input should be 'local' or 'ray'"),
        ({"ray": {"adress": "auto"}}, "ray.adress: unknown key"),
        ({"games": [{"id": "negotiation-v0", "args": {"colour": 1}}]}, "games.0: args"),
        (
            {"agents": {"r": "random", "f": {"spec": "random", "games": ["chess"]}}},
            "agents.f.games: 'chess' is not a game of this tournament",
        ),
        ({"agents": {"r": "random"}}, "negotiation-v0 has 2 seats but only 1 agents"),
        ({"agents": [{"spec": "random"}]}, "agents[0] needs a 'name'"),
        (
            {"agents": {"r": "random", "s": "random", "j": {"spec": "random", "roles": ["jduge"]}}},
            "agents.j.roles: 'jduge' is not a role of its games",
        ),
        (
            {
                "agents": {
                    "r": {"spec": "random", "roles": ["bob"]},
                    "s": {"spec": "random", "roles": ["bob"]},
                }
            },
            "no agent of negotiation-v0 may take the role 'alice'",
        ),
    ],
)
def test_config_errors_name_the_bad_key(tmp_path, change, message):
    with pytest.raises(ConfigError) as info:
        parse_config(base_config(tmp_path, **change), "t.toml")
    assert message in str(info.value)
    assert str(info.value).startswith("t.toml: invalid tournament config")


def test_toml_and_yaml_configs_load_the_same(tmp_path):
    toml = tmp_path / "c.toml"
    toml.write_text(
        'name = "t"\nepisodes = 3\n[agents]\nr = "random"\n'
        'f = { spec = "scripted:negotiation/fair", games = ["negotiation"] }\n'
        '[[games]]\nid = "negotiation-v0"\nargs = { max_turns = 4 }\n'
    )
    yaml = tmp_path / "c.yaml"
    yaml.write_text(
        "name: t\nepisodes: 3\nagents:\n  - {name: r, spec: random}\n"
        "  - {name: f, spec: 'scripted:negotiation/fair', games: [negotiation]}\n"
        "games:\n  - {id: negotiation-v0, args: {max_turns: 4}}\n"
    )
    a, b = load_config(toml), load_config(yaml)
    assert a == b
    assert a.run_dir == Path("runs/t")
    assert load_config(toml, {"concurrency": 2, "ray": {"address": "auto"}}).ray.address == "auto"
    bad = tmp_path / "c.json5"
    bad.write_text("{}")
    with pytest.raises(ConfigError, match=r"expected a \.toml"):
        load_config(bad)


# -- schedule -------------------------------------------------------------------------------
def test_seatings_rotate_or_permute_every_group():
    assert seatings(["a", "b"], 2, "rotations", False) == [("a", "b"), ("b", "a")]
    assert seatings(["a", "b"], 2, "rotations", True) == [
        ("a", "a"),
        ("a", "b"),
        ("b", "a"),
        ("b", "b"),
    ]
    assert len(seatings(["a", "b", "c", "d"], 3, "rotations", False)) == 4 * 3
    assert len(seatings(["a", "b", "c", "d"], 3, "permutations", False)) == 4 * 6


def test_two_seat_schedule_swaps_seats_on_the_same_seeds(tmp_path):
    config = parse_config(base_config(tmp_path, seeds=[7, 9]))
    plans = build_schedule(config)
    assert [(p.seed, p.seating["alice"], p.seating["bob"]) for p in plans] == [
        (7, "random", "fair"),
        (7, "fair", "random"),
        (9, "random", "fair"),
        (9, "fair", "random"),
    ]
    assert plans[0].episode_id == "negotiation-v0/7/alice=random,bob=fair"
    assert [p.index for p in plans] == [0, 1, 2, 3]


def test_three_seat_game_every_agent_plays_every_role_on_every_seed(tmp_path, pick_game):
    agents = {n: "random" for n in ("a", "b", "c", "d")}
    config = parse_config(base_config(tmp_path, agents=agents, games=[pick_game], episodes=2))
    plans = build_schedule(config)
    assert len(plans) == 2 * 4 * 3  # seeds x groups of three x rotations
    for seed in (0, 1):
        seats = Counter((r, a) for p in plans if p.seed == seed for r, a in p.seating.items())
        # each agent is in 3 of the 4 groups and plays each seat once per group
        assert seats == {(r, a): 3 for r in ("north", "east", "south") for a in agents}
    result = run_tournament(config, progress=False, console=QUIET, report=False)
    assert result.played == 24
    assert result.summary["episodes"] == 24


def test_role_restricted_agents_only_take_their_roles(tmp_path, pick_game):
    agents = {
        "a": "random",
        "b": "random",
        "c": "random",
        "s": {"spec": "random", "roles": ["south"]},
    }
    config = parse_config(base_config(tmp_path, agents=agents, games=[pick_game], episodes=1))
    plans = build_schedule(config)
    # (a, b, c) in 3 rotations; each group with s: s south, the other two both ways round
    assert len(plans) == 3 + 3 * 2
    assert all(p.seating["south"] == "s" for p in plans if "s" in p.seating.values())
    seats = Counter((r, a) for p in plans for r, a in p.seating.items() if a != "s")
    assert seats[("north", "a")] == seats[("east", "a")] == 1 + 2


def test_game_filters_keep_scripted_agents_to_their_game(tmp_path, pick_game):
    agents = {
        "r1": "random",
        "r2": "random?seed=2",
        "r3": "random?seed=3",
        "fair": {"spec": "scripted:negotiation/fair", "games": ["negotiation"]},
    }
    config = parse_config(
        base_config(tmp_path, agents=agents, games=["negotiation-v0", pick_game], episodes=1)
    )
    plans = build_schedule(config)
    assert all("fair" not in p.seating.values() for p in plans if p.env_id == pick_game)
    assert sum(p.env_id == "negotiation-v0" for p in plans) == 4 * 3  # ordered pairs of 4


# -- store ----------------------------------------------------------------------------------
def record(i):
    return EpisodeRecord(f"ep{i}", "negotiation-v0", i, {"alice": "a", "bob": "b"}, {})


def test_store_appends_durably_repairs_a_torn_line_and_refuses_duplicates(tmp_path):
    path = tmp_path / "episodes.jsonl"
    with EpisodeStore(path) as store:
        store.append(record(0))
        store.append(record(1))
        with pytest.raises(ValueError, match="already"):
            store.append(record(1))
    with open(path, "a") as f:
        f.write(record(2).to_json()[:40])  # a kill in the middle of a write
    store = EpisodeStore(path)
    assert [r.episode_id for r in store] == ["ep0", "ep1"]
    assert store.repair() == 40
    store.append(record(2))
    store.close()
    assert [json.loads(line)["episode_id"] for line in path.read_text().splitlines()] == [
        "ep0",
        "ep1",
        "ep2",
    ]


# -- runs and resume ------------------------------------------------------------------------
def test_run_dir_is_not_overwritten_and_resume_checks_the_config(tmp_path):
    data = base_config(tmp_path)
    first = run_tournament(parse_config(data), progress=False, console=QUIET, report=False)
    assert first.played == first.scheduled == 4
    assert (first.run_dir / "ratings.json").exists()
    with pytest.raises(ConfigError, match="--resume"):
        run_tournament(parse_config(data), progress=False, console=QUIET, report=False)
    again = run_tournament(
        parse_config({**data, "concurrency": 1}), resume=True, progress=False, console=QUIET,
        report=False,
    )  # fmt: skip
    assert again.played == 0 and again.summary["episodes"] == 4
    with pytest.raises(ConfigError, match=r"config changed \(episodes\)"):
        run_tournament(parse_config({**data, "episodes": 3}), resume=True, progress=False)


def test_resume_after_sigkill_loses_and_repeats_nothing(tmp_path):
    agents = {
        "slow": {"spec": "arena_fixtures:Slow", "args": {"delay": 0.03}},
        "random": "random",
        "fair": "scripted:negotiation/fair",
    }
    killed = base_config(tmp_path, agents=agents, episodes=5, concurrency=2)
    killed["output"] = str(tmp_path / "killed")
    config_path = tmp_path / "t.json"
    config_path.write_text(json.dumps(killed))
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]),
    }
    cmd = [sys.executable, "-m", "palaestra.cli", "tournament", str(config_path), "--no-progress"]
    episodes = tmp_path / "killed" / "episodes.jsonl"
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if episodes.exists() and episodes.read_bytes().count(b"\n") >= 4:
            break
        time.sleep(0.01)
    assert proc.poll() is None, f"the run ended before it was killed: {proc.stderr.read()}"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = episodes.read_bytes().count(b"\n")
    assert 4 <= before < 30  # 30 episodes are scheduled: the kill came mid-run
    subprocess.run([*cmd, "--resume", "--no-report"], env=env, check=True, capture_output=True)
    clean = {**killed, "output": str(tmp_path / "clean")}
    run_tournament(parse_config(clean), progress=False, console=QUIET, report=False)
    resumed = {r.episode_id: strip_timing(r) for r in EpisodeStore(tmp_path / "killed")}
    clean_records = {r.episode_id: strip_timing(r) for r in EpisodeStore(tmp_path / "clean")}
    lines = (tmp_path / "killed" / "episodes.jsonl").read_text().splitlines()
    assert len(lines) == len(resumed) == 30  # no episode written twice
    assert set(resumed) == set(clean_records)
    assert resumed == clean_records  # and each one as a clean run plays it


def test_quickstart_config_puts_the_model_in_every_role_of_every_game():
    config = load_config(HERE.parents[1] / "examples" / "quickstart.toml")
    plans = build_schedule(config)
    assert config.agents["smollm2"].spec == "hf:smollm2-135m"
    for game in config.games:
        roles = {r for p in plans if p.game == game.label for r in p.seating}
        played = {
            r for p in plans if p.game == game.label for r, a in p.seating.items() if a == "smollm2"
        }
        assert played == roles, game.label
    assert {p.env_id for p in plans} >= {"negotiation-v0", "debate-v0"}


def test_cli_runs_a_tournament_and_names_the_bad_key_of_a_broken_config(tmp_path, capsys):
    from palaestra.cli import main

    good = tmp_path / "good.yaml"
    good.write_text(
        f"name: cli\nepisodes: 1\noutput: {tmp_path / 'run'}\n"
        "agents: {r: random, f: 'scripted:negotiation/fair'}\n"
        "games: [{id: negotiation-v0, args: {max_turns: 4}}]\n"
    )
    assert main(["tournament", str(good), "--no-progress", "--no-report"]) == 0
    out = capsys.readouterr().out
    assert "2 episodes played (2 scheduled)" in out
    assert f"ratings: {tmp_path / 'run' / 'ratings.json'}" in out
    bad = tmp_path / "bad.toml"
    bad.write_text(
        'episodes = 1\n[agents]\nr = "random"\nf = "random"\n[[games]]\nid = "chess-v0"\n'
    )
    assert main(["tournament", str(bad)]) == 2
    assert "games.0.id: unknown env id 'chess-v0'" in capsys.readouterr().err


def test_ratings_section_sets_every_interval_level_and_csv_goes_to_stdout(tmp_path, capsys):
    data = base_config(tmp_path, ratings={"confidence": 0.9, "bootstrap_rounds": 10})
    buf = io.StringIO()
    result = run_tournament(
        parse_config(data), progress=False, console=QUIET, report=False, table_format="csv",
        table_console=Console(file=buf),
    )  # fmt: skip
    for table in result.summary["sections"]["overall"]["ratings"].values():
        assert table is None or table["confidence"] == 0.9
    rows = list(csv.DictReader(io.StringIO(buf.getvalue())))
    assert {r["agent"] for r in rows} == {"random", "fair"}
    assert "bradley_terry_ci_low" in rows[0] and "elo_ci_high" in rows[0]
    with pytest.raises(ConfigError, match=r"ratings\.confidence"):
        parse_config(base_config(tmp_path, ratings={"confidence": 95}))
