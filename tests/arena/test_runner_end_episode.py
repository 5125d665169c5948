"""The runner tells agents when an episode ends (``end_episode``), once per agent object."""

from __future__ import annotations

from collections.abc import Sequence

from palaestra.agents import make_agent
from palaestra.arena.runner import EpisodeJob, MatchRunner
from palaestra.envs.protocol import Action, Observation


class Ending:
    """Plays like ``scripted:negotiation/accept`` and records ``end_episode`` calls."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.inner = make_agent("scripted:negotiation/accept")
        self.ended: list[str] = []
        self.live: set[str] = set()

    def act(self, observations: Sequence[Observation]) -> list[Action]:
        for obs in observations:
            assert obs.episode not in self.ended  # no turn after the episode was ended
            self.live.add(obs.episode)
        return self.inner.act(observations)

    def reset(self) -> None:
        pass

    def end_episode(self, episode: str) -> None:
        self.ended.append(episode)


def test_each_agent_hears_once_of_each_finished_episode():
    both, other = Ending("both"), Ending("other")
    jobs = [
        EpisodeJob("negotiation-v0", 0, {"alice": both, "bob": both}, episode_id="e0"),
        EpisodeJob("negotiation-v0", 1, {"alice": both, "bob": other}, episode_id="e1"),
        EpisodeJob("negotiation-v0", 2, {"alice": other, "bob": other}, episode_id="e2"),
    ]
    records = list(MatchRunner(concurrency=2).run(jobs))
    assert sorted(r.episode_id for r in records) == ["e0", "e1", "e2"]
    assert sorted(both.ended) == ["e0", "e1"]  # once, though it sat in both seats of e0
    assert sorted(other.ended) == ["e1", "e2"]
    assert both.live == {"e0", "e1"} and other.live == {"e1", "e2"}


def test_agents_without_the_hook_still_play():
    agent = make_agent("scripted:negotiation/fair")
    jobs = [EpisodeJob("negotiation-v0", 0, {"alice": agent, "bob": agent})]
    assert len(list(MatchRunner().run(jobs))) == 1
