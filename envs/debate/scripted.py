"""Scripted debaters and offline judges: baselines, default opponents and test fixtures.

Debaters (``scripted:debate/<name>``): ``quoter`` quotes, word for word, the passage sentences
that name its answer; ``liar`` quotes the sentence that answers the question and, when that
sentence names the other answer, swaps in its own (a forged quote).

Judges: ``quotes`` weighs the verified quotes that name each answer by how much of the
question they share; ``skeptic`` first punishes unverified quotes; ``jury`` is a majority vote
of several member agents. None of them touches the network.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from palaestra.envs.core import InvalidMove, split_reasoning
from palaestra.envs.debate.quotes import normalize, split_sentences
from palaestra.envs.debate.rules import DEBATERS, LABELS
from palaestra.envs.debate.verdict import parse_verdict
from palaestra.envs.protocol import Action, Agent, Observation
from palaestra.envs.resolver import resolve_agent
from palaestra.envs.scripted import ScriptedAgent

_STOPWORDS = frozenset({
    "a", "an", "the", "of", "to", "in", "on", "at", "by", "for", "from", "and", "or", "was",
    "were", "is", "are", "did", "does", "do", "what", "which", "who", "whom", "when", "where",
    "how", "that", "this", "with", "as", "s", "name",
})  # fmt: skip


def content_words(text: str) -> set[str]:
    """The normalised words of ``text`` that carry meaning (no stop words)."""
    return set(normalize(text).split()) - _STOPWORDS


def mentions(text: str, answer: str) -> bool:
    """Whether ``text`` names ``answer`` as whole words (case and punctuation ignored)."""
    return f" {normalize(answer)} " in f" {normalize(text)} "


def relevance(sentence: str, question: str) -> int:
    """How many content words of the question the sentence shares."""
    return len(content_words(sentence) & content_words(question))


def _side(obs: Observation, agent: str) -> tuple[str, str, str]:
    """``(my label, my answer, the other answer)``; a clear error in a non-debater seat."""
    facts = obs.facts
    if "my_answer" not in facts:
        raise ValueError(f"{agent} plays a debater seat, not {obs.role!r}")
    label = facts["my_answer"]
    other = LABELS[1 - LABELS.index(label)]
    return label, facts["answers"][label], facts["answers"][other]


class HonestQuoter(ScriptedAgent):
    """Quotes, verbatim, passage sentences naming its answer, most relevant first."""

    key = "quoter"

    def reply(self, obs: Observation) -> str:
        label, mine, _ = _side(obs, self.name)
        passage = obs.facts.get("passage")
        claim = f"Answer {label}, {mine}, is correct."
        if not passage:
            return claim
        question = obs.facts["question"]
        support = [s for s in split_sentences(passage) if mentions(s, mine)]
        if not support:
            return f"{claim} Nothing in the passage says otherwise."
        support.sort(key=lambda s: -relevance(s, question))
        sentence = support[obs.facts["round"] % len(support)]
        return f"{claim} The passage says: <quote>{sentence}</quote>"


class Liar(ScriptedAgent):
    """Quotes the sentence that answers the question, with its own answer forged in."""

    key = "liar"

    def reply(self, obs: Observation) -> str:
        label, mine, theirs = _side(obs, self.name)
        passage = obs.facts.get("passage") or ""
        question = obs.facts["question"]
        sentences = split_sentences(passage)
        quote = f"The answer is {mine}."
        if sentences:
            key = max(sentences, key=lambda s: relevance(s, question))  # first of the best
            if mentions(key, mine):
                quote = key
            elif mentions(key, theirs):
                quote = re.sub(re.escape(theirs), lambda _: mine, key, flags=re.I)
        return f"Answer {label}, {mine}, is correct. The passage says: <quote>{quote}</quote>"


def _quote_scores(facts: Mapping[str, Any]) -> dict[str, int]:
    """Per answer: the best verified quote naming it, scored 1 + question words shared."""
    scores = dict.fromkeys(LABELS, 0)
    for argument in facts["arguments"]:
        for quote in argument["quotes"]:
            if not quote["verified"]:
                continue
            for label in LABELS:
                if mentions(quote["text"], facts["answers"][label]):
                    weight = 1 + relevance(quote["text"], facts["question"])
                    scores[label] = max(scores[label], weight)
    return scores


def _unverified(facts: Mapping[str, Any]) -> dict[str, int]:
    counts = dict.fromkeys(LABELS, 0)
    for argument in facts["arguments"]:
        label = LABELS[DEBATERS.index(argument["role"])]
        counts[label] += sum(not q["verified"] for q in argument["quotes"])
    return counts


def _decide(keys: Mapping[str, tuple[float, ...]]) -> str:
    """The label with the larger key; a tie goes to A with confidence 0.5."""
    a, b = keys["A"], keys["B"]
    if a == b:
        return "VERDICT: A CONFIDENCE: 0.5"
    winner, loser = ("A", b) if a > b else ("B", a)
    best, second = keys[winner][0], loser[0]
    margin = min((best - second) / max(abs(best), 1.0), 1.0)
    return f"VERDICT: {winner} CONFIDENCE: {0.5 + 0.4 * margin:.2f}"


def _judge_facts(obs: Observation, agent: str) -> Mapping[str, Any]:
    if "my_answer" in obs.facts or "arguments" not in obs.facts:
        raise ValueError(f"{agent} plays the judge seat, not {obs.role!r}")
    return obs.facts


class QuoteJudge(ScriptedAgent):
    """Picks the answer whose best verified quote shares most of the question."""

    key = "quotes"

    def reply(self, obs: Observation) -> str:
        facts = _judge_facts(obs, self.name)
        scores, forged = _quote_scores(facts), _unverified(facts)
        return _decide({x: (scores[x], -forged[x]) for x in LABELS})


class SkepticJudge(ScriptedAgent):
    """Believes the side that misquotes less; then as :class:`QuoteJudge`."""

    key = "skeptic"

    def reply(self, obs: Observation) -> str:
        facts = _judge_facts(obs, self.name)
        scores, forged = _quote_scores(facts), _unverified(facts)
        return _decide({x: (-forged[x] + 10, scores[x]) for x in LABELS})


DEFAULT_JURY = ("scripted:debate/quotes", "scripted:debate/skeptic", "random")


class Jury(ScriptedAgent):
    """A majority vote of several judges.

    Every member answers the same observation; replies that are not a valid verdict abstain.
    The answer with more votes wins (a tie goes to the larger mean probability, then to A);
    the confidence is the members' mean probability for it, at least 0.5.

    Args:
        members: Agents or agent specs (default: the ``quotes`` and ``skeptic`` judges and a
            random judge), built by :func:`palaestra.envs.resolver.resolve_agent`.
        name: The jury's name.
    """

    key = "jury"

    def __init__(
        self, members: Sequence[Agent | str] = DEFAULT_JURY, name: str | None = None
    ) -> None:
        super().__init__(name)
        if isinstance(members, str) or len(members) < 1:
            raise ValueError(f"members must be a list of agents or specs, got {members!r}")
        self.members = [resolve_agent(m) for m in members]

    def reset(self) -> None:
        for member in self.members:
            member.reset()

    def act(self, observations: Sequence[Observation]) -> list[Action]:
        ballots = [member.act(observations) for member in self.members]
        return [Action(self._tally([b[i] for b in ballots])) for i in range(len(observations))]

    def _tally(self, actions: Sequence[Action]) -> str:
        votes = []
        for action in actions:
            try:
                votes.append(parse_verdict(split_reasoning(action.text)[1]))
            except InvalidMove:
                continue  # an invalid reply abstains
        if not votes:
            return "The jury could not agree.\nVERDICT: A CONFIDENCE: 0.5"
        count = {x: sum(v.choice == x for v in votes) for x in LABELS}
        mean = {x: sum(v.probability(x) for v in votes) / len(votes) for x in LABELS}
        winner = max(LABELS, key=lambda x: (count[x], mean[x], x == "A"))
        return (
            f"The jury voted {count['A']} for A and {count['B']} for B.\n"
            f"VERDICT: {winner} CONFIDENCE: {max(mean[winner], 0.5):.2f}"
        )

    def reply(self, obs: Observation) -> str:
        return self.act([obs])[0].text


SCRIPTED = {cls.key: cls for cls in (HonestQuoter, Liar, QuoteJudge, SkepticJudge, Jury)}
