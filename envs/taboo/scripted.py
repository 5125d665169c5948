"""Scripted Taboo players: baselines, default partners and test fixtures.

They speak and read the hint phrases of :mod:`palaestra.envs.taboo.cards`, so a scripted
guesser narrows the bundled word list down from a scripted describer's clues.
"""

from __future__ import annotations

from collections.abc import Iterable

from palaestra.envs.protocol import Observation
from palaestra.envs.scripted import ScriptedAgent
from palaestra.envs.taboo.cards import TabooCard, fits_hints, hints_for, load_cards
from palaestra.envs.textnorm import normalize_word


def consistent_cards(heard: Iterable[str], excluded: Iterable[str] = ()) -> list[TabooCard]:
    """The bundled cards that fit every hint heard, less the words in ``excluded``."""
    text = "\n".join(heard)
    skip = {normalize_word(w) for w in excluded}
    return [c for c in load_cards() if normalize_word(c.word) not in skip and fits_hints(c, text)]


def card_of(facts) -> TabooCard:
    """The card described by a describer's (or attacker's) facts."""
    return TabooCard(facts["word"], facts["category"], tuple(facts["taboo"]))


class HintDescriber(ScriptedAgent):
    """Gives one more hint each round: category, length, then letters."""

    key = "hints"

    def reply(self, obs: Observation) -> str:
        hints = hints_for(card_of(obs.facts))
        if not hints:
            return "Think hard: it is a common word."
        return hints[min(obs.facts["round"], len(hints) - 1)]


class CarelessDescriber(ScriptedAgent):
    """Describes the word by its first taboo word: breaks the rules at once (a fixture)."""

    key = "careless"

    def reply(self, obs: Observation) -> str:
        return f"It goes with {obs.facts['taboo'][0]}."


class FilterGuesser(ScriptedAgent):
    """Guesses the first bundled word (alphabetically) that fits every hint and was not tried."""

    key = "filter"

    def reply(self, obs: Observation) -> str:
        options = consistent_cards(obs.facts["clues"], obs.facts["guesses"])
        return f"GUESS: {options[0].word}" if options else "GUESS: thing"


SCRIPTED = {cls.key: cls for cls in (HintDescriber, CarelessDescriber, FilterGuesser)}
