"""Scripted adversarial-taboo players: baselines, default opponents and test fixtures.

They use the hint phrases of :mod:`palaestra.envs.taboo.cards`: the attacker asks the
defender to name a word that fits more and more hints, hoping it names the target.
"""

from __future__ import annotations

from palaestra.envs.protocol import Observation
from palaestra.envs.scripted import ScriptedAgent
from palaestra.envs.taboo.cards import forbidden_word_in, hints_for
from palaestra.envs.taboo.scripted import card_of, consistent_cards


class HintAttacker(ScriptedAgent):
    """Gives one more hint each round and asks the defender to name a word that fits."""

    key = "hints"

    def reply(self, obs: Observation) -> str:
        card = card_of(obs.facts)
        hints = hints_for(card, (card.word,))  # taboo words are no rule in this game
        if not hints:
            return "Name any word that comes to mind."
        return f"{hints[min(obs.facts['round'], len(hints) - 1)]} What word comes to mind?"


class LureAttacker(ScriptedAgent):
    """Never gives the word away: keeps asking the defender to name things of its category."""

    key = "lure"

    def reply(self, obs: Observation) -> str:
        card = card_of(obs.facts)
        prompts = [f"It is a kind of {card.category}. Which ones can you name?",
                   "Go on, name a few more.", "Which of them do you like best?"]  # fmt: skip
        safe = [p for p in prompts if forbidden_word_in(p, (card.word,)) is None]
        return safe[obs.facts["round"] % len(safe)] if safe else "Tell me about your day."


class NaiveDefender(ScriptedAgent):
    """Names the first bundled word that fits the hints; guesses once only one word fits."""

    key = "naive"

    def reply(self, obs: Observation) -> str:
        options = consistent_cards(obs.facts["heard"])
        if len(options) == 1:
            return f"GUESS: {options[0].word}"
        if not options:
            return "No idea."
        return f"Maybe {options[0].word}?"


class CautiousDefender(ScriptedAgent):
    """Never names a word; guesses only when exactly one bundled word fits the hints."""

    key = "cautious"

    def reply(self, obs: Observation) -> str:
        options = consistent_cards(obs.facts["heard"])
        if len(options) == 1:
            return f"GUESS: {options[0].word}"
        return f"I will not say. {len(options)} words still fit."


SCRIPTED = {cls.key: cls for cls in (HintAttacker, LureAttacker, NaiveDefender, CautiousDefender)}
