"""Scripted twenty-questions players: the attribute oracle and a greedy splitting asker."""

from __future__ import annotations

from palaestra.envs.protocol import Observation
from palaestra.envs.scripted import ScriptedAgent
from palaestra.envs.twenty_questions.catalogue import (
    GameObject,
    attributes_asked,
    load_catalogue,
    oracle_answer,
)


def consistent_objects(
    history: list[tuple[str, str]] | tuple, wrong_guesses: tuple | list = ()
) -> list[GameObject]:
    """The bundled objects that agree with every yes/no answer so far.

    Answers are taken at their word (the oracle is truthful); ``"unknown"`` rules nothing out.
    """
    objects = [
        obj
        for obj in load_catalogue().objects
        if all(
            answer == "unknown" or oracle_answer(obj, question) == answer
            for question, answer in history
        )
    ]
    return [o for o in objects if not any(g in o.names for g in wrong_guesses)]


class Oracle(ScriptedAgent):
    """Answers from the object's attributes: the keywords of the question decide."""

    key = "oracle"

    def reply(self, obs: Observation) -> str:
        secret = GameObject(obs.facts["object"], (), frozenset(obs.facts["attributes"]))
        return oracle_answer(secret, obs.facts["question"]).upper()


class GreedyAsker(ScriptedAgent):
    """Asks the attribute question that splits the remaining objects most evenly; guesses
    when one object is left, no question splits them, or only one question is left."""

    key = "greedy"

    def reply(self, obs: Observation) -> str:
        history = [tuple(h) for h in obs.facts["history"]]
        left = consistent_objects(history, obs.facts["wrong_guesses"])
        if not left:  # the answers contradict the catalogue: guess something
            return f"GUESS: {load_catalogue().objects[0].name}"
        asked = {key for question, _ in history for key in attributes_asked(question)}
        best, best_gap = None, len(left)
        for attr in load_catalogue().attributes:
            if attr.key in asked:
                continue
            yes = sum(attr.key in obj.attributes for obj in left)
            gap = abs(len(left) - 2 * yes)
            if 0 < yes < len(left) and gap < best_gap:
                best, best_gap = attr, gap
        if best is None or len(left) == 1 or obs.facts["questions_left"] <= 1:
            return f"GUESS: {left[0].name}"
        return best.question


SCRIPTED = {cls.key: cls for cls in (GreedyAsker, Oracle)}
