"""The bundled taboo cards and the clue phrases scripted players speak and read.

``data/words.json`` holds the cards shared by ``taboo-v0`` and ``adversarial-taboo-v0``: a
target word, its category and three to five taboo words, written for this project.

Scripted players talk in a small fixed language of hints (category, length, letters), so a
scripted guesser can narrow the bundled list down from what it hears:

>>> card = TabooCard("apple", "food", ("fruit", "red", "tree", "pie", "core"))
>>> hints_for(card)[:3]
('It is a kind of food.', 'The word has 5 letters.', 'It starts with the letter A.')
>>> fits_hints(card, "The word has 5 letters. It ends with the letter E.")
True
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from palaestra.envs.textnorm import mentions_word, spells_word

DATA = Path(__file__).parent / "data" / "words.json"

_ORDINALS = ("first", "second", "third", "fourth", "fifth")


@dataclass(frozen=True)
class TabooCard:
    """One card: the word to get said, its category, and the words the describer may not use.

    Attributes:
        word: The target word (lower case, one word).
        category: A broad class (``animal``, ``food``...), used by the scripted hints.
        taboo: Three to five words the describer may not use either.
    """

    word: str
    category: str
    taboo: tuple[str, ...]

    @property
    def forbidden(self) -> tuple[str, ...]:
        """The target and its taboo words."""
        return (self.word, *self.taboo)


@lru_cache(maxsize=1)
def load_cards() -> tuple[TabooCard, ...]:
    """The bundled cards, sorted by word."""
    raw = json.loads(DATA.read_text(encoding="utf-8"))
    cards = tuple(TabooCard(e["word"], e["category"], tuple(e["taboo"])) for e in raw)
    return tuple(sorted(cards, key=lambda c: c.word))


def forbidden_word_in(text: str, words: tuple[str, ...]) -> str | None:
    """The first of ``words`` that ``text`` says (any inflected form) or spells out, else None."""
    for word in words:
        if mentions_word(text, word) or spells_word(text, word):
            return word
    return None


def hints_for(card: TabooCard, forbidden: tuple[str, ...] | None = None) -> tuple[str, ...]:
    """Hints about ``card`` that say none of ``forbidden``, most general first.

    Args:
        card: The card to hint at.
        forbidden: Words the hints may not say (default: the card's word and taboo words).
    """
    if forbidden is None:
        forbidden = card.forbidden
    word = card.word
    hints = [
        f"It is a kind of {card.category}.",
        f"The word has {len(word)} letters.",
        f"It starts with the letter {word[0].upper()}.",
        f"It ends with the letter {word[-1].upper()}.",
    ]
    hints += [
        f"Its {_ORDINALS[i]} letter is {word[i].upper()}." for i in range(1, min(len(word), 5))
    ]
    return tuple(h for h in hints if forbidden_word_in(h, forbidden) is None)


_KIND = re.compile(r"kind of (\w+)", re.IGNORECASE)
_LENGTH = re.compile(r"has (\d+) letters", re.IGNORECASE)
_FIRST = re.compile(r"starts with the letter (\w)\b", re.IGNORECASE)
_LAST = re.compile(r"ends with the letter (\w)\b", re.IGNORECASE)
_NTH = re.compile(r"\b(first|second|third|fourth|fifth) letter is (\w)\b", re.IGNORECASE)


def fits_hints(card: TabooCard, text: str) -> bool:
    """Whether ``card`` agrees with every hint phrase in ``text`` (other text is ignored)."""
    word = card.word
    checks = [
        all(kind.lower() == card.category for kind in _KIND.findall(text)),
        all(int(n) == len(word) for n in _LENGTH.findall(text)),
        all(word.startswith(c.lower()) for c in _FIRST.findall(text)),
        all(word.endswith(c.lower()) for c in _LAST.findall(text)),
    ]
    for ordinal, letter in _NTH.findall(text):
        i = _ORDINALS.index(ordinal.lower())
        checks.append(len(word) > i and word[i] == letter.lower())
    return all(checks)
