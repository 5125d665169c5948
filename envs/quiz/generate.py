"""Generate the bundled quiz set (``questions.jsonl``) from invented facts.

Every item is a short passage about fictional towns, explorers and companies and one
question about them. Answerable items ask a fact the passage states. Unanswerable items ask
a fact of the world that the passage leaves out, by construction: the true value is kept in
``hidden_answer`` (for leak tests) and never appears in the passage. Unanswerable passages
often state the same kind of fact about a *different* entity, a tempting wrong answer.

Run ``python -m palaestra.envs.quiz.generate`` to rewrite the bundled file; the output is a
pure function of the seed, and a test checks that the bundled file is what it produces.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from palaestra.envs.answers import normalize_answer
from palaestra.envs.quiz.facts import DECADE_QUESTIONS, FACTS_BY_KEY, number_words

DEFAULT_PATH = Path(__file__).with_name("questions.jsonl")
DEFAULT_SEED = 20240611
DEFAULT_COUNT = 240

_TOWN_A = [
    "Vel",
    "Dun",
    "Mar",
    "Ost",
    "Kel",
    "Bram",
    "Thorn",
    "Lis",
    "Cor",
    "Hal",
    "Wen",
    "Ash",
    "Fen",
    "Gal",
    "Ryn",
    "Tor",
    "Sel",
    "Quen",
]
_TOWN_B = ["a", "o", "e", "i", "u", "ar"]
_TOWN_C = [
    "mora",
    "mere",
    "wick",
    "holt",
    "ford",
    "vale",
    "stead",
    "ham",
    "brook",
    "cliff",
    "gate",
    "moor",
]
_FIRST = [
    "Ilsa",
    "Bram",
    "Oda",
    "Teodor",
    "Maren",
    "Corin",
    "Liesl",
    "Anselm",
    "Yara",
    "Piet",
    "Sunniva",
    "Osric",
    "Elke",
    "Tamsin",
    "Rurik",
    "Hedda",
    "Joren",
    "Nika",
    "Aurel",
    "Wilma",
]
_SUR_A = ["Vor", "Hal", "Ket", "Mor", "Stra", "Bel", "Dra", "Fen", "Gul", "Sor"]
_SUR_B = ["ne", "din", "lo", "vek", "mark", "sen", "rick", "tun"]
_COMPANY_TAIL = ("Works", "Foundry", "Trading Company", "Mills", "Press", "Ropewalk")
_RIVERS = [
    "Ambre",
    "Tolla",
    "Sennet",
    "Irra",
    "Velt",
    "Oriel",
    "Mesk",
    "Quill",
    "Harrow",
    "Lune",
    "Sabe",
    "Corra",
]
_EXPORTS = ("salt", "copper", "wool", "amber", "tea", "glass", "timber", "olive oil", "slate")
_SHIPS = ("Gull", "Lantern", "Heron", "Morning Star", "Quiet Tide", "Saltwind", "Kestrel",
          "Far Reach", "Tern", "Amberline")  # fmt: skip
_ISLANDS = [
    "Skerra",
    "Hollin",
    "Vask",
    "Merrow",
    "Tollan",
    "Brisk",
    "Orra",
    "Dunlin",
    "Caskett",
    "Fenno",
]
_PRODUCTS = ("clockwork lamps", "rope bridges", "glass lenses", "paper kites",
             "copper kettles", "diving bells", "brass compasses", "wax maps")  # fmt: skip
_KINDS = ("town", "explorer", "company")


@dataclass(frozen=True)
class QuizItem:
    """One bundled question.

    Attributes:
        id: Stable id, ``"q0001"``.
        split: ``"train"`` or ``"test"`` (every fifth item is held out).
        context: The passage.
        question: The question about it.
        answerable: Whether the passage contains the answer.
        answers: Accepted answers (aliases) if answerable, else ``[]``.
        hidden_answer: For unanswerable items, the world's true value the passage leaves out.
        fact: The fact key asked (``"bridges"``, ``"decade:founded"``).
    """

    id: str
    split: str
    context: str
    question: str
    answerable: bool
    answers: list[str]
    hidden_answer: str
    fact: str


class _World:
    """Invented entities with unique names, drawn from one generator."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.used: set[str] = set()

    def pick(self, options) -> str:
        return str(options[int(self.rng.integers(len(options)))])

    def _unique(self, make) -> str:
        while True:
            name = make()
            if name not in self.used:
                self.used.add(name)
                return name

    def town_name(self) -> str:
        return self._unique(
            lambda: self.pick(_TOWN_A) + self.pick(_TOWN_B) + self.pick(_TOWN_C)
        ).capitalize()

    def person_name(self) -> str:
        return self._unique(lambda: f"{self.pick(_FIRST)} {self.pick(_SUR_A)}{self.pick(_SUR_B)}")

    def company_name(self) -> str:
        return self._unique(
            lambda: f"{self.pick(_TOWN_A)}{self.pick(_TOWN_C)} {self.pick(_COMPANY_TAIL)}"
        )

    def entity(self, kind: str) -> tuple[str, dict[str, tuple[str, list[str]]]]:
        """A name and its facts: key -> (value as the passage writes it, answer aliases)."""
        r = self.rng
        if kind == "town":
            year, bridges = int(r.integers(1500, 1900)), int(r.integers(2, 20))
            people = int(r.integers(12, 99)) * 1000
            river, export = self.pick(_RIVERS), self.pick(_EXPORTS)
            return self.town_name(), {
                "founded": (str(year), [str(year)]),
                "bridges": (number_words(bridges), [str(bridges)]),
                "river": (river, [river, f"the {river} River"]),
                "export": (export, []),
                "population": (f"{people:,}", [str(people)]),
            }
        if kind == "explorer":
            year, trips = int(r.integers(1600, 1900)), int(r.integers(2, 20))
            ship, island = self.pick(_SHIPS), self.pick(_ISLANDS)
            return self.person_name(), {
                "born": (str(year), [str(year)]),
                "hometown": (self.town_name(), []),
                "ship": (ship, [ship, f"the {ship}"]),
                "expeditions": (number_words(trips), [str(trips)]),
                "discovery": (island, [island, f"{island} Island"]),
            }
        year, staff = int(r.integers(1700, 1950)), int(r.integers(120, 990))
        return self.company_name(), {
            "established": (str(year), [str(year)]),
            "headquarters": (self.town_name(), []),
            "product": (self.pick(_PRODUCTS), []),
            "founder": (self.person_name(), []),
            "employees": (str(staff), [str(staff)]),
        }


def _aliases(value: str, extra: list[str]) -> list[str]:
    return list(dict.fromkeys([value, *extra]))


def _mentions(passage: str, answer: str) -> bool:
    """Whether the normalised answer occurs as whole words in the normalised passage."""
    return f" {normalize_answer(answer)} " in f" {normalize_answer(passage)} "


def _item(world: _World, index: int, answerable: bool) -> QuizItem:
    rng = world.rng
    kind = _KINDS[int(rng.integers(len(_KINDS)))]
    while True:
        name, facts = world.entity(kind)
        keys = list(facts)
        asked = keys[int(rng.integers(len(keys)))]
        others = [k for k in keys if k != asked]
        shown = [others[i] for i in rng.permutation(len(others))[:2]]
        if answerable:
            shown.insert(int(rng.integers(len(shown) + 1)), asked)
        sentences = [FACTS_BY_KEY[k].sentence.format(name=name, value=facts[k][0]) for k in shown]
        # A second entity of the same kind: for unanswerable items it states the asked fact.
        other_name, other_facts = world.entity(kind)
        decoy = asked if not answerable else others[int(rng.integers(len(others)))]
        sentences.append(
            FACTS_BY_KEY[decoy].sentence.format(name=other_name, value=other_facts[decoy][0])
        )
        context = " ".join(sentences)
        value, extra = facts[asked]
        gold = _aliases(value, extra)
        fact, question = asked, FACTS_BY_KEY[asked].question.format(name=name)
        if asked in DECADE_QUESTIONS and rng.random() < 0.4:
            decade = f"{int(value) // 10 * 10}s"
            fact, question = f"decade:{asked}", DECADE_QUESTIONS[asked].format(name=name)
            gold = [decade, f"the {decade}"]
        if answerable or not any(_mentions(context, g) for g in gold):
            break
    return QuizItem(
        id=f"q{index + 1:04d}",
        split="test" if index % 5 == 4 else "train",
        context=context,
        question=question,
        answerable=answerable,
        answers=gold if answerable else [],
        hidden_answer="" if answerable else gold[0],
        fact=fact,
    )


def generate(count: int = DEFAULT_COUNT, seed: int = DEFAULT_SEED) -> list[QuizItem]:
    """``count`` items; 60% answerable, drawn from ``seed`` alone."""
    if count < 1:
        raise ValueError(f"count must be positive, got {count!r}")
    world = _World(np.random.default_rng(seed))
    flags = world.rng.permutation([i < round(0.6 * count) for i in range(count)])
    return [_item(world, i, bool(flag)) for i, flag in enumerate(flags)]


def dumps(items: list[QuizItem]) -> str:
    """The JSONL text of ``items`` (one object a line, keys in a fixed order)."""
    return "".join(json.dumps(asdict(item), ensure_ascii=False) + "\n" for item in items)


def load(path: Path | str = DEFAULT_PATH) -> list[QuizItem]:
    """Read a quiz set written by :func:`dumps`."""
    with open(path, encoding="utf-8") as fh:
        return [QuizItem(**json.loads(line)) for line in fh if line.strip()]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=DEFAULT_COUNT)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--out", type=Path, default=DEFAULT_PATH)
    args = parser.parse_args(argv)
    args.out.write_text(dumps(generate(args.count, args.seed)), encoding="utf-8")
    print(f"wrote {args.count} items to {args.out}")


if __name__ == "__main__":
    main()
