"""Scripted contestants: a template reader, a hallucinating guesser and an abstainer.

They read ``Observation.facts`` (passage and question), never the gold answer.
"""

from __future__ import annotations

from palaestra.envs.protocol import Observation
from palaestra.envs.quiz.facts import DECADE_QUESTIONS, FACTS, FACTS_BY_KEY, FactTemplate
from palaestra.envs.scripted import ScriptedAgent

_DECADE_PATTERNS = {
    key: FactTemplate(key, "", "", template).question_pattern()
    for key, template in DECADE_QUESTIONS.items()
}


def read_passage(passage: str, question: str, any_entity: bool = False) -> str | None:
    """The answer the passage states for a question written from the quiz's templates.

    Args:
        passage: The passage text.
        question: The question text.
        any_entity: Accept the asked fact about *any* entity (what a careless reader does).

    Returns:
        The answer, or ``None`` if the passage does not state it (or the question is not one
        of the templates).
    """
    for key, pattern in _DECADE_PATTERNS.items():
        asked = pattern.match(question)
        if asked:
            year = _find(key, asked.group("name"), passage, any_entity)
            return f"the {int(year) // 10 * 10}s" if year and year.isdigit() else None
    for fact in FACTS:
        asked = fact.question_pattern().match(question)
        if asked:
            return _find(fact.key, asked.group("name"), passage, any_entity)
    return None


def _find(key: str, name: str, passage: str, any_entity: bool) -> str | None:
    found = FACTS_BY_KEY[key].sentence_pattern(None if any_entity else name).search(passage)
    return found.group("value") if found else None


class Reader(ScriptedAgent):
    """Answers what the passage states (confidence 0.95); otherwise says it does not know."""

    key = "reader"

    def reply(self, obs: Observation) -> str:
        answer = read_passage(obs.facts["passage"], obs.facts["question"])
        if answer is None:
            return "I don't know."
        return f"ANSWER: {answer}\nCONFIDENCE: 0.95"


class Guesser(ScriptedAgent):
    """Never abstains: when the passage is silent it answers with the same fact about another
    entity (a hallucination baseline), stating confidence 0.5."""

    key = "guesser"

    def reply(self, obs: Observation) -> str:
        answer = read_passage(obs.facts["passage"], obs.facts["question"])
        if answer is not None:
            return f"ANSWER: {answer}\nCONFIDENCE: 0.95"
        guess = read_passage(obs.facts["passage"], obs.facts["question"], any_entity=True)
        return f"ANSWER: {guess or '1850'}\nCONFIDENCE: 0.5"


class Abstainer(ScriptedAgent):
    """Always says it does not know."""

    key = "abstainer"

    def reply(self, obs: Observation) -> str:
        return "I don't know."


SCRIPTED = {cls.key: cls for cls in (Reader, Guesser, Abstainer)}
