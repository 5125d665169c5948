from __future__ import annotations

import io

import pytest

from palaestra.agents import CallableAgent, HumanAgent, RandomAgent, make_agent, obs_rng
from palaestra.envs.protocol import Observation


def _obs(text="You are bob.\n\nalice: hi\n\nYour move:", **kw) -> Observation:
    base = dict(
        game="negotiation-v0",
        role="bob",
        preamble="You are bob.",
        instruction="Your move:",
        episode="e1",
        turn=1,
    )
    return Observation(text=text, **{**base, **kw})


def test_random_agent_depends_only_on_seed_and_observation():
    a, b = _obs(), _obs(turn=2)
    agent = RandomAgent(seed=7)
    alone = [agent.act([a])[0].text, agent.act([b])[0].text]
    assert [x.text for x in agent.act([b, a])] == alone[::-1]  # batch order changes nothing
    assert [x.text for x in RandomAgent(seed=7).act([a, b])] == alone
    words = alone[0].split()
    assert 1 <= len(words) <= 11
    assert obs_rng(7, a).integers(1 << 30) == obs_rng(7, a).integers(1 << 30)
    assert obs_rng(7, a).integers(1 << 30) != obs_rng(8, a).integers(1 << 30)


def test_random_agent_picks_from_candidates():
    cands = ["ACCEPT", "NO DEAL", "OFFER: book=1 hat=0 ball=0"]
    picks = {
        RandomAgent(seed=s).act([_obs(facts={"candidates": cands})])[0].text for s in range(30)
    }
    assert picks == set(cands)


def test_callable_agent_wraps_str_to_str():
    agent = make_agent(lambda text: text.split("\n")[0].upper())
    assert [a.text for a in agent.act([_obs(), _obs(text="x\ny")])] == ["YOU ARE BOB.", "X"]
    bad = CallableAgent(lambda text: 3, name="three")
    with pytest.raises(TypeError, match="agent 'three' returned int, not str"):
        bad.act([_obs()])
    with pytest.raises(TypeError, match="expected a callable"):
        CallableAgent("not callable")


def test_human_agent_shows_the_prompt_and_reads_moves():
    stdin = io.StringIO("OFFER: book=1 hat=0 ball=0\nACCEPT\n")
    stdout = io.StringIO()
    human = make_agent("human", stdin=stdin, stdout=stdout)
    first = _obs()
    second = _obs(
        text="You are bob.\n\nalice: hi\n\n[game master] invalid move: bad offer\n\nYour move:",
        turn=2,
    )
    assert human.act([first])[0].text == "OFFER: book=1 hat=0 ball=0"
    shown_first = stdout.getvalue()
    assert "=== negotiation-v0 · you are bob ===" in shown_first
    assert "You are bob." in shown_first and "alice: hi" in shown_first
    assert shown_first.endswith("Your move:\n> ")
    assert human.act([second])[0].text == "ACCEPT"
    shown_second = stdout.getvalue()[len(shown_first) :]
    # Only what is new is shown again, and it includes the reason the move was invalid.
    assert "invalid move: bad offer" in shown_second
    assert "You are bob." not in shown_second
    end = human.act([second])[0]
    assert end.failed and end.text == "" and "end of input" in end.error


def test_human_agent_full_view_and_reset():
    stdout = io.StringIO()
    human = HumanAgent(stdin=io.StringIO("a\nb\n"), stdout=stdout, show="full")
    human.act([_obs()])
    human.act([_obs()])
    assert stdout.getvalue().count("You are bob.") == 2
    with pytest.raises(ValueError, match="show must be 'full' or 'new'"):
        HumanAgent(show="some")


def test_human_sees_why_a_move_was_invalid_in_a_real_game():
    from palaestra.arena.play import play_episode

    stdout = io.StringIO()
    human = HumanAgent(stdin=io.StringIO("ACCEPT\nhello there\nNO DEAL\n"), stdout=stdout)
    result = play_episode(
        "negotiation-v0", [human, make_agent("scripted:negotiation/hard")], seed=1
    )
    turns = stdout.getvalue().split("=== negotiation-v0 · you are alice ===")[1:]
    assert len(turns) == 3  # ACCEPT was invalid and asked again; then talk; then NO DEAL
    assert "Invalid move: there is no offer from the other player to accept" in turns[1]
    assert "Your private values" in turns[0]
    assert "Your private values" not in turns[1]  # only what is new is shown again
    assert "[you] hello there" in turns[2] and "OFFER: book=" in turns[2]
    assert result.returns == {"alice": 0.0, "bob": 0.0} and result.errors == []
