"""The match runner: batching, refilling, failure policies, record content, determinism."""

from __future__ import annotations

import json

import pytest
from arena_fixtures import Failing, Recorder, Trainable, strip_timing

from palaestra.agents import make_agent
from palaestra.arena.play import play_episode
from palaestra.arena.records import EpisodeRecord
from palaestra.arena.runner import AgentFailure, EpisodeJob, MatchRunner


def neg_job(seed, alice, bob, episode_id="", **kwargs):
    return EpisodeJob("negotiation-v0", seed, {"alice": alice, "bob": bob}, kwargs, episode_id)


def test_one_act_call_per_agent_per_tick_with_all_pending_turns():
    # x sits as alice in 16 episodes and as bob in 8 of them; every move is talk, so every
    # episode lasts exactly max_turns=4 moves and the ticks are known in advance.
    x, fair = Recorder("x"), make_agent("scripted:negotiation/fair")
    fair_calls: list[int] = []
    inner = fair.act
    fair.act = lambda obs: (fair_calls.append(len(obs)), inner(obs))[1]
    jobs = [neg_job(s, x, x if s % 2 else fair, f"e{s}", max_turns=4) for s in range(16)]
    runner = MatchRunner(concurrency=16)
    records = list(runner.run(jobs))
    assert len(records) == 16
    assert [len(c) for c in x.calls] == [16, 8, 16, 8]
    assert fair_calls == [8, 8]
    assert sorted(x.calls[1]) == sorted(f"e{s}/bob" for s in range(1, 16, 2))
    assert x.resets == 1  # once per run, never between episodes
    assert runner.batch_sizes == {"x": [16, 8, 16, 8], "scripted:negotiation/fair": [8, 8]}


def test_new_episodes_start_as_slots_free():
    # One long episode and three short ones with two slots: the short ones run one after
    # the other next to the long one, so six ticks in all (waves would need ten).
    x = Recorder("x")
    jobs = [neg_job(0, x, x, "long", max_turns=6)]
    jobs += [neg_job(i, x, x, f"short{i}", max_turns=2) for i in (1, 2, 3)]
    records = list(MatchRunner(concurrency=2).run(jobs))
    assert len(x.calls) == 6
    assert [sorted(c) for c in x.calls[2:4]] == [
        ["long/alice", "short2/alice"],
        ["long/bob", "short2/bob"],
    ]
    assert [r.episode_id for r in records] == ["short1", "short2", "long", "short3"]


def test_jobs_are_consumed_lazily():
    pulled = []

    def jobs():
        for s in range(10):
            pulled.append(s)
            yield neg_job(s, make_agent("random"), make_agent("random"))

    runner = MatchRunner(concurrency=3)
    first = next(iter(runner.run(jobs())))
    assert first.seed in (0, 1, 2)
    assert len(pulled) <= 4


@pytest.mark.parametrize("mode", ["raise", "error", "sleep"])
def test_forfeit_policy_forfeits_only_the_failing_episode(mode):
    agent = Failing({"e3"}, mode=mode, delay=0.3)
    fair = make_agent("scripted:negotiation/fair")
    jobs = [neg_job(s, agent, fair, f"e{s}") for s in range(6)]
    timeout = 0.1 if mode == "sleep" else None
    records = {r.episode_id: r for r in MatchRunner(6, agent_timeout=timeout).run(jobs)}
    assert len(records) == 6
    bad = records["e3"]
    assert len(bad.errors) == 1
    assert bad.errors[0]["role"] == "alice" and bad.errors[0]["agent"] == f"failing-{mode}"
    expected = {"raise": "RuntimeError: boom", "error": "endpoint down", "sleep": "timeout"}
    assert expected[mode] in bad.errors[0]["error"]
    assert bad.outcome.startswith("agent error by alice")
    assert bad.returns == {"alice": -1.0, "bob": 0.0}  # negotiation's forfeit payoffs
    assert bad.turns == []  # it failed on its first turn
    if mode != "sleep":  # a timeout fails the whole batch it was part of
        assert all(not r.errors for k, r in records.items() if k != "e3")
        assert all(r.turns for k, r in records.items() if k != "e3")


def test_wrong_number_of_actions_is_an_agent_error():
    agent = Failing({"e0"}, mode="count")
    records = list(MatchRunner(1).run([neg_job(0, agent, make_agent("random"), "e0")]))
    assert records[0].errors[0]["error"] == (
        "ValueError: act returned 0 actions for 1 observations"
    )


def test_abort_policy_raises_and_keeps_finished_records():
    agent = Failing({"e2"}, mode="error")
    fair = make_agent("scripted:negotiation/fair")
    jobs = [neg_job(s, agent, fair, f"e{s}") for s in range(4)]
    got = []
    with pytest.raises(AgentFailure) as info:
        for record in MatchRunner(concurrency=1, on_error="abort").run(jobs):
            got.append(record.episode_id)
    assert got == ["e0", "e1"]
    assert info.value.episode_id == "e2" and info.value.role == "alice"


def test_record_holds_prompt_text_reasoning_rewards_and_training_fields():
    # alice offers to take nothing, so bob (always accepts) accepts on move 2:
    # alice scores 0 and bob the whole pool (10 points by construction).
    alice, bob = Trainable(), make_agent("scripted:negotiation/accept")
    (record,) = MatchRunner(1).run([neg_job(5, alice, bob, "ep")])
    assert record.outcome == "agreement"
    assert record.returns == {"alice": 0.0, "bob": 10.0}
    assert record.seating == {"alice": "trainable", "bob": "scripted:negotiation/accept"}
    first, second = record.turns
    assert first.role == "alice" and first.turn == 0
    assert first.text == "OFFER: book=0 hat=0 ball=0"
    assert first.reasoning == "plan for turn 0"
    assert "plan for turn" not in second.prompt  # bob never sees alice's reasoning
    assert "\n\nYou are alice," in first.prompt and "\n\nYou are bob," in second.prompt
    assert first.valid and second.valid and second.text.endswith("ACCEPT")
    assert first.train == {
        "prompt_ids": [1, 2, 3],
        "completion_ids": [4, 5, 6, 7],
        "logprobs": [-0.5, -0.25, -0.125, -1.0],
    }
    assert second.train is None
    assert first.tokens == 4 and record.stats["trainable"]["tokens"] == 4
    assert record.stats["trainable"]["calls"] == 1
    # the terminal payoff reaches each seat through its latest turn
    assert (first.reward, second.reward) == (0.0, 10.0)
    assert record.info["agreement"] is True
    assert record.invalid_moves == {"alice": 0, "bob": 0}
    assert record.seed == 5 and record.episode_id == "ep"
    assert EpisodeRecord.from_json(record.to_json()) == record


def test_invalid_moves_and_per_step_penalties_are_recorded():
    # alice's first ACCEPT has nothing to accept: invalid, -1 under the penalty policy, and
    # her turn is lost. bob (fair) then offers, and her second ACCEPT ends the game.
    alice = Recorder("acceptor", text="ACCEPT")
    fair = make_agent("scripted:negotiation/fair")
    (record,) = MatchRunner(1).run(
        [neg_job(1, alice, fair, "p", invalid_move="penalty", max_turns=4)]
    )
    assert [(t.role, t.valid) for t in record.turns] == [
        ("alice", False),
        ("bob", True),
        ("alice", True),
    ]
    first, offer, accept = record.turns
    assert first.reason == "there is no offer from the other player to accept."
    assert first.reward == -1.0
    assert record.invalid_moves == {"alice": 1, "bob": 0}
    assert record.outcome == "agreement"
    scores = record.info["scores"]
    assert (accept.reward, offer.reward) == (scores["alice"], scores["bob"])
    assert record.returns == {"alice": scores["alice"] - 1.0, "bob": scores["bob"]}


def test_same_seeds_give_identical_records_whatever_the_concurrency():
    def jobs():
        r, f, h = (
            make_agent("random"),
            make_agent("scripted:negotiation/fair"),
            make_agent("scripted:negotiation/hard"),
        )
        pairs = [(r, f), (f, r), (h, r), (r, h)]
        return [neg_job(s, a, b, f"{s}/{i}") for s in range(6) for i, (a, b) in enumerate(pairs)]

    one = {r.episode_id: strip_timing(r) for r in MatchRunner(1).run(jobs())}
    many = {r.episode_id: strip_timing(r) for r in MatchRunner(16).run(jobs())}
    assert len(one) == 24
    assert json.dumps(one, sort_keys=True) == json.dumps(many, sort_keys=True)


def test_mismatched_roles_are_rejected():
    with pytest.raises(ValueError, match="missing"):
        list(MatchRunner().run([EpisodeJob("negotiation-v0", 0, {"alice": Recorder()})]))
    with pytest.raises(ValueError, match="on_error"):
        MatchRunner(on_error="ignore")
    with pytest.raises(ValueError, match="concurrency"):
        MatchRunner(concurrency=0)


def test_play_episode_reports_agent_errors_as_forfeits():
    result = play_episode("negotiation-v0", [Failing({"negotiation-v0/3"}), Recorder()], seed=3)
    assert result.returns == {"alice": -1.0, "bob": 0.0}
    assert result.errors == ["alice (failing-raise): RuntimeError: boom"]
    assert result.record is not None and result.record.failed


def test_a_local_model_generates_for_all_its_pending_turns_in_one_batch():
    model = make_agent("hf:tiny?temperature=1.0&max_new_tokens=6&train=true&seed=3")
    fair = make_agent("scripted:negotiation/fair")
    jobs = [neg_job(s, model, fair, f"e{s}", max_turns=4) for s in range(6)]
    runner = MatchRunner(concurrency=6)
    records = list(runner.run(jobs))
    assert len(records) == 6
    assert runner.batch_sizes[model.name][0] == 6  # every alice seat in one generate call
    turns = [t for r in records for t in r.turns if t.role == "alice"]
    assert turns and all(t.train is not None for t in turns)
    for t in turns:
        assert len(t.train["completion_ids"]) == len(t.train["logprobs"]) == t.tokens <= 6
    total = sum(t.tokens for t in turns)
    assert sum(r.stats[model.name]["tokens"] for r in records) == total > 0


def test_progress_bar_counts_episodes_and_shows_throughput():
    from rich.console import Console

    from palaestra.arena.progress import episode_progress

    console = Console(record=True, width=100, force_terminal=False)
    with episode_progress(5, completed=2, description="run", console=console) as advance:
        advance()
        advance()
    text = console.export_text()
    assert "run" in text and "4/5" in text and "ep/min" in text and "ETA" in text
    records = list(
        MatchRunner(2, progress=True).run([neg_job(s, Recorder(), Recorder()) for s in range(3)])
    )
    assert len(records) == 3
