"""The bundled objects of twenty questions and the attribute oracle that answers about them.

Questions are read by keywords, matched as whole normalised words with
:func:`palaestra.envs.textnorm.words_in` (the word matching every word game shares), so
"Can it fly?", "Does it fly?" and "Is it flying?" all ask about the ``fly`` attribute.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from palaestra.envs.answers import is_abstention, normalize_answer
from palaestra.envs.core import InvalidMove
from palaestra.envs.textnorm import words_in

ANSWERS = ("yes", "no", "unknown")
DATA_PATH = Path(__file__).with_name("objects.json")

_YES = frozenset({"yes", "yeah", "yep", "y", "true", "correct"})
_NO = frozenset({"no", "nope", "n", "false"})


@dataclass(frozen=True)
class Attribute:
    """A yes/no property: its key, a canonical question and the words that ask about it."""

    key: str
    question: str
    keywords: tuple[str, ...]


@dataclass(frozen=True)
class GameObject:
    """A bundled object: its name, other accepted names and the attributes true of it."""

    name: str
    aliases: tuple[str, ...]
    attributes: frozenset[str]

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


@dataclass(frozen=True)
class Catalogue:
    attributes: tuple[Attribute, ...]
    objects: tuple[GameObject, ...]


@lru_cache(maxsize=2)
def load_catalogue(path: str = str(DATA_PATH)) -> Catalogue:
    """The bundled attributes and objects (``objects.json``)."""
    with open(path, encoding="utf-8") as fh:
        data = json.load(fh)
    attributes = tuple(
        Attribute(a["key"], a["question"], tuple(a["keywords"])) for a in data["attributes"]
    )
    objects = tuple(
        GameObject(o["name"], tuple(o["aliases"]), frozenset(o["attributes"]))
        for o in data["objects"]
    )
    return Catalogue(attributes, objects)


@lru_cache(maxsize=1)
def _keywords() -> tuple[tuple[tuple[str, ...], str], ...]:
    """Every keyword as normalised words with its attribute, longest first."""
    pairs = [
        (tuple(words_in(word)), attr.key)
        for attr in load_catalogue().attributes
        for word in attr.keywords
    ]
    return tuple(sorted(pairs, key=lambda p: -len(p[0])))


def _find(words: list[str], target: tuple[str, ...]) -> int:
    n = len(target)
    return next((i for i in range(len(words) - n + 1) if tuple(words[i : i + n]) == target), -1)


@lru_cache(maxsize=4096)
def attributes_asked(question: str) -> tuple[str, ...]:
    """The attribute keys a question asks about, by keyword, in order of first mention.

    A longer keyword wins over a shorter one inside it ("bigger than a person" over "big").

    >>> attributes_asked("Is it an animal that can fly?")
    ('animal', 'fly')
    """
    words: list[str] = list(words_in(question))
    found: dict[str, int] = {}
    for target, key in _keywords():
        at = _find(words, target)
        if at >= 0 and key not in found:
            found[key] = at
            words[at : at + len(target)] = [""] * len(target)  # used up by this keyword
    return tuple(sorted(found, key=found.__getitem__))


@lru_cache(maxsize=4096)
def objects_named(question: str) -> tuple[GameObject, ...]:
    """The bundled objects a question names ("Is it a dog?")."""
    words = words_in(question)
    return tuple(
        obj
        for obj in load_catalogue().objects
        if any(_find(words, tuple(words_in(name))) >= 0 for name in obj.names)
    )


def oracle_answer(obj: GameObject, question: str) -> str:
    """What the attributes say: ``"yes"``, ``"no"`` or ``"unknown"``.

    One or more attributes (joined by *and*): yes iff all hold. Failing that, a named
    object: yes iff it is the object. Questions with *or*, or with no known keyword, are
    ``"unknown"``.
    """
    if "or" in normalize_answer(question).split():
        return "unknown"
    keys = attributes_asked(question)
    if keys:
        return "yes" if all(k in obj.attributes for k in keys) else "no"
    named = objects_named(question)
    if named:
        return "yes" if obj in named else "no"
    return "unknown"


def parse_reply(text: str) -> str:
    """An answerer's reply as ``"yes"``, ``"no"`` or ``"unknown"`` (by its first word)."""
    words = normalize_answer(text).split()
    if words and words[0] in _YES:
        return "yes"
    if words and words[0] in _NO:
        return "no"
    if words and (words[0] in ("unknown", "maybe", "sometimes") or is_abstention(text)):
        return "unknown"
    raise InvalidMove("answer with YES, NO or UNKNOWN.")
