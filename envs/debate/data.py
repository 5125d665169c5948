"""Debate questions: the item type, the JSONL loader and the generator of the bundled set.

A question file is JSON Lines, one object per line::

    {"question": "...", "answers": ["...", "..."], "correct": 0, "passage": "...", "id": "q1"}

``answers`` holds exactly two different answers, ``correct`` is the index (0 or 1) of the true
one, ``passage`` is the source text the debaters may quote, and ``id`` is optional (the line
number is used when it is missing). Other keys are ignored. :func:`load_questions` names the
line and the field of the first malformed row.

The bundled set (``data/questions.jsonl``) is written by :func:`generate_questions`:
procedural facts about fictional people, towns and ships, so that every answer is found only
in its passage, and each false answer also appears in the passage, in a sentence about
something else (a plausible lie with a real quote behind it). Regenerate it with
``python -m palaestra.envs.debate.data``.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

BUNDLED = Path(__file__).parent / "data" / "questions.jsonl"
BUNDLED_SEED = 3
BUNDLED_SIZE = 240


class QuestionFileError(ValueError):
    """A malformed question file or row; the message names the file, line and field."""


@dataclass(frozen=True)
class DebateItem:
    """One question with two candidate answers, exactly one correct, and a source passage."""

    question: str
    answers: tuple[str, str]
    correct: int
    passage: str
    id: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "question": self.question,
            "answers": list(self.answers),
            "correct": self.correct,
            "passage": self.passage,
        }


def _text_field(row: Mapping[str, Any], key: str, where: str) -> str:
    if key not in row:
        raise QuestionFileError(f"{where}: missing field {key!r}")
    value = row[key]
    if not isinstance(value, str) or not value.strip():
        raise QuestionFileError(f"{where}: field {key!r} must be a non-empty string, got {value!r}")
    return value.strip()


def parse_item(row: Any, where: str = "item", default_id: str = "") -> DebateItem:
    """Validate one row (a mapping) and build a :class:`DebateItem`.

    Raises:
        QuestionFileError: Naming ``where`` and the bad field.
    """
    if isinstance(row, DebateItem):
        return row
    if not isinstance(row, Mapping):
        raise QuestionFileError(f"{where}: expected a JSON object, got {type(row).__name__}")
    question = _text_field(row, "question", where)
    passage = _text_field(row, "passage", where)
    if "answers" not in row:
        raise QuestionFileError(f"{where}: missing field 'answers'")
    answers = row["answers"]
    if (
        not isinstance(answers, list | tuple)
        or len(answers) != 2
        or not all(isinstance(a, str) and a.strip() for a in answers)
    ):
        raise QuestionFileError(
            f"{where}: field 'answers' must be a list of two non-empty strings, got {answers!r}"
        )
    first, second = (a.strip() for a in answers)
    if first.casefold() == second.casefold():
        raise QuestionFileError(f"{where}: field 'answers' holds the same answer twice: {first!r}")
    if "correct" not in row:
        raise QuestionFileError(f"{where}: missing field 'correct'")
    correct = row["correct"]
    if isinstance(correct, bool) or correct not in (0, 1):
        raise QuestionFileError(
            f"{where}: field 'correct' must be 0 or 1 (the index of the true answer), "
            f"got {correct!r}"
        )
    item_id = row.get("id", default_id)
    if not isinstance(item_id, str | int) or isinstance(item_id, bool):
        raise QuestionFileError(f"{where}: field 'id' must be a string, got {item_id!r}")
    return DebateItem(question, (first, second), int(correct), passage, str(item_id))


def load_questions(path: str | os.PathLike[str]) -> tuple[DebateItem, ...]:
    """Read a JSONL question file (blank lines are skipped).

    Raises:
        QuestionFileError: The file is missing or empty, a line is not JSON, or a row is
            malformed; the message names the line and the field.
    """
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as err:
        raise QuestionFileError(f"cannot read question file {str(path)!r}: {err}") from err
    items = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{path.name} line {number}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as err:
            raise QuestionFileError(f"{where}: not valid JSON ({err.msg})") from err
        items.append(parse_item(row, where, default_id=f"{path.stem}-{number}"))
    if not items:
        raise QuestionFileError(f"question file {str(path)!r} holds no questions")
    return tuple(items)


@lru_cache(maxsize=1)
def bundled_questions() -> tuple[DebateItem, ...]:
    """The questions shipped with palaestra (read once per process)."""
    return load_questions(BUNDLED)


def resolve_questions(
    questions: str | os.PathLike[str] | Iterable[Any] | None,
) -> tuple[DebateItem, ...]:
    """A question set from a path, a list of rows or items, or ``None`` (the bundled set)."""
    if questions is None:
        return bundled_questions()
    if isinstance(questions, str | os.PathLike):
        return load_questions(questions)
    items = tuple(
        parse_item(row, f"questions[{i}]", default_id=str(i)) for i, row in enumerate(questions)
    )
    if not items:
        raise QuestionFileError("questions is empty; give at least one question")
    return items


# -- the procedural generator ---------------------------------------------------------------
# Syllables chosen to make names that sound like names but belong to no one.
_SYLLABLES = (
    "mar", "el", "quon", "tav", "rin", "dol", "osk", "ilv", "eth", "or", "bel", "kes",
    "vor", "tan", "lis", "dra", "mun", "pel", "ary", "ix", "en", "ost", "ul", "fen",
    "gar", "hesk", "ian", "jor", "lom", "nad", "oph", "ruv", "sel", "tir", "wen", "yor",
)  # fmt: skip
_SURNAME_ENDS = ("by", "wick", "ton", "sen", "ard", "ell", "ow", "ane")
_TOWN_ENDS = ("ford", "mere", "holt", "wick", "haven", "stead", "moor", "gate")
_SHIP_ADJ = ("Grey", "Silver", "Patient", "Northern", "Quiet", "Crimson", "Salt", "Lucky")
_SHIP_NOUN = ("Heron", "Lantern", "Otter", "Compass", "Thistle", "Gull", "Anchor", "Wren")
_INSTRUMENTS = ("cello", "harp", "oboe", "violin", "lute", "flute", "bassoon", "zither")
_TRADES = (
    "clockmaker", "cartographer", "glassblower", "bookbinder", "apothecary", "surveyor",
    "weaver", "printer", "astronomer", "shipwright", "beekeeper", "locksmith",
)  # fmt: skip
_SOCIETIES = ("Botanical", "Rowing", "Chess", "Astronomical", "Choral", "Beekeeping", "Lantern")
_PLANTS = ("sage", "quince", "lavender", "rhubarb", "thyme", "medlar")
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")


class _Names:
    """Draws fresh names for one item; no name is used twice in a passage."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.used: set[str] = set()

    def _pick(self, options: tuple[str, ...]) -> str:
        return options[int(self.rng.integers(len(options)))]

    def _fresh(self, make: Callable[[], str]) -> str:
        while True:
            name = make()
            if name not in self.used:
                self.used.add(name)
                return name

    def _word(self, n: int, end: str = "") -> str:
        return ("".join(self._pick(_SYLLABLES) for _ in range(n)) + end).capitalize()

    def person(self) -> str:
        return self._fresh(lambda: f"{self._word(2)} {self._word(1, self._pick(_SURNAME_ENDS))}")

    def town(self) -> str:
        return self._fresh(lambda: self._word(1, self._pick(_TOWN_ENDS)))

    def river(self) -> str:
        return self._fresh(lambda: self._word(2))

    def ship(self) -> str:
        return self._fresh(lambda: f"{self._pick(_SHIP_ADJ)} {self._pick(_SHIP_NOUN)}")

    def year(self) -> str:
        return self._fresh(lambda: str(int(self.rng.integers(1700, 1950))))

    def pick(self, options: tuple[str, ...]) -> str:
        return self._fresh(lambda: self._pick(options))


# Each kind: (question, true answer, false answer, the sentence with the true answer, the
# sentence with the false answer, which is true but answers a different question).
_Kind = Callable[[_Names, str], tuple[str, str, str, str, str]]


def _a(word: str) -> str:
    """``word`` with its indefinite article."""
    return f"{'an' if word[0] in 'aeiou' else 'a'} {word}"


def _birthplace(n: _Names, p: str) -> tuple[str, str, str, str, str]:
    a, b, y, other = n.town(), n.town(), n.year(), n.person()
    return (
        f"In which town was {p} born?",
        a, b,
        f"{p} was born in {a} in {y}.",
        f"Years later, {other} opened {_a(n.pick(_TRADES))}'s shop in {b}.",
    )  # fmt: skip


def _founding(n: _Names, p: str) -> tuple[str, str, str, str, str]:
    a, b, town = n.year(), n.year(), n.town()
    society = f"the {town} {n.pick(_SOCIETIES)} Society"
    return (
        f"In which year did {p} found {society}?",
        a, b,
        f"{p} founded {society} in {a}, with eleven members.",
        f"A great flood struck {n.town()} in {b}.",
    )  # fmt: skip


def _teacher(n: _Names, p: str) -> tuple[str, str, str, str, str]:
    a, b, instrument = n.person(), n.person(), n.pick(_INSTRUMENTS)
    return (
        f"Who taught {p} to play the {instrument}?",
        a, b,
        f"{p} was taught to play the {instrument} by {a}.",
        f"{b} was {_a(n.pick(_TRADES))} who later moved to {n.town()}.",
    )  # fmt: skip


def _ship(n: _Names, p: str) -> tuple[str, str, str, str, str]:
    a, b = n.ship(), n.ship()
    return (
        f"What was the name of the ship that {p} sailed?",
        a, b,
        f"For many years {p} sailed a ship named the {a}.",
        f"The harbour of {n.town()} was home to a fishing boat called the {b}.",
    )  # fmt: skip


def _trade(n: _Names, p: str) -> tuple[str, str, str, str, str]:
    a, b = n.pick(_TRADES), n.pick(_TRADES)
    return (
        f"What was the trade of {p}?",
        a, b,
        f"By trade {p} was {_a(a)}, and worked from a narrow house in {n.town()}.",
        f"A neighbour, {n.person()}, was {_a(b)}.",
    )  # fmt: skip


def _river(n: _Names, p: str) -> tuple[str, str, str, str, str]:
    a, b, town = n.river(), n.river(), n.town()
    return (
        f"Which river flows past the mill that {p} owned in {town}?",
        a, b,
        f"The mill that {p} owned in {town} stands on the {a} river.",
        f"Further north, the {b} river feeds the lakes near {n.town()}.",
    )  # fmt: skip


KINDS: tuple[_Kind, ...] = (_birthplace, _founding, _teacher, _ship, _trade, _river)


def _fillers(n: _Names, p: str) -> list[str]:
    return [
        f"{n.person()} kept a small garden of {n.pick(_PLANTS)} behind the town hall.",
        f"In {n.year()}, the road to {n.town()} was closed for a whole winter.",
        f"The letters of {p} were later collected by {n.person()}.",
        f"A reading circle met every {n.pick(_DAYS)} in a room above a bakery in {n.town()}.",
        f"A bridge over the {n.river()} river was rebuilt in {n.year()}.",
    ]


def _mentions(sentence: str, answer: str) -> bool:
    return f" {answer.lower()} " in f" {sentence.lower().rstrip('.').replace(',', ' ')} "


def generate_item(rng: np.random.Generator, kind: _Kind, item_id: str) -> DebateItem:
    """One procedurally generated item of ``kind`` (deterministic given ``rng``)."""
    while True:
        names = _Names(rng)
        subject = names.person()
        question, true, false, key, decoy = kind(names, subject)
        fillers = _fillers(names, subject)
        chosen = [fillers[int(i)] for i in sorted(rng.choice(len(fillers), 3, replace=False))]
        body = [key, decoy, *chosen]
        body = [body[int(i)] for i in rng.permutation(len(body))]
        intro = f"This is an account of {subject}, who lived in the hills above {names.town()}."
        sentences = [intro, *body]
        # Each answer must be named in exactly one sentence: the key or the decoy.
        if [s for s in sentences if _mentions(s, true)] == [key] and [
            s for s in sentences if _mentions(s, false)
        ] == [decoy]:
            break
    correct = int(rng.integers(2))
    answers = (true, false) if correct == 0 else (false, true)
    return DebateItem(question, answers, correct, " ".join(sentences), item_id)


def generate_questions(n: int = BUNDLED_SIZE, seed: int = BUNDLED_SEED) -> list[DebateItem]:
    """``n`` items, cycling through the question kinds; the same ``seed`` gives the same set."""
    rng = np.random.default_rng(seed)
    return [generate_item(rng, KINDS[i % len(KINDS)], f"gen-{i:04d}") for i in range(n)]


def dump_questions(items: Iterable[DebateItem]) -> str:
    """JSONL text of ``items`` (what :func:`load_questions` reads)."""
    return "".join(json.dumps(item.to_json(), ensure_ascii=False) + "\n" for item in items)


def main(argv: list[str] | None = None) -> None:
    """Write the bundled set (or a set at the path given as the only argument)."""
    args = sys.argv[1:] if argv is None else argv
    path = Path(args[0]) if args else BUNDLED
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dump_questions(generate_questions()), encoding="utf-8")
    print(f"wrote {BUNDLED_SIZE} questions to {path}")


if __name__ == "__main__":
    main()
