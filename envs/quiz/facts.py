"""The fact templates of the quiz: how a fact is written in a passage and asked in a question.

Shared by the generator (:mod:`palaestra.envs.quiz.generate`) and the scripted reader, which
answers by finding the asked fact's sentence in the passage (so it is a ceiling baseline
that knows the templates, not a model of reading).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_SMALL = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]


def number_words(n: int) -> str:
    """``21`` -> ``"twenty-one"`` (0 to 99)."""
    if not 0 <= n < 100:
        raise ValueError(f"number_words covers 0..99, got {n!r}")
    if n < 20:
        return _SMALL[n]
    tens, units = divmod(n, 10)
    return _TENS[tens - 2] + (f"-{_SMALL[units]}" if units else "")


@dataclass(frozen=True)
class FactTemplate:
    """One kind of fact about an entity.

    Attributes:
        key: Short name, e.g. ``"bridges"``.
        kind: The entity kind it belongs to (``"town"``, ``"explorer"``, ``"company"``).
        sentence: How a passage states it (``{name}``, ``{value}``).
        question: How a question asks it (``{name}``).
    """

    key: str
    kind: str
    sentence: str
    question: str

    def sentence_pattern(self, name: str | None = None) -> re.Pattern[str]:
        """A regex finding this fact's sentence about ``name`` (any name if ``None``) and
        capturing the value."""
        who = r"[A-Z][^.]*?" if name is None else re.escape(name)
        head, _, tail = self.sentence.format(name="\0", value="\1").partition("\1")
        head = re.escape(head).replace("\0", who)
        tail = re.escape(tail.rstrip(".")).replace("\0", who)
        return re.compile(r"(?:^|(?<=\. ))" + head + r"(?P<value>[^.]+?)" + tail + r"\.")

    def question_pattern(self) -> re.Pattern[str]:
        """A regex matching this fact's question and capturing the entity name."""
        head, _, tail = self.question.partition("{name}")
        return re.compile("^" + re.escape(head) + r"(?P<name>.+?)" + re.escape(tail) + "$")


FACTS: tuple[FactTemplate, ...] = (
    FactTemplate("founded", "town", "{name} was founded in {value}.",
                 "In which year was {name} founded?"),
    FactTemplate("bridges", "town", "{name} has {value} bridges.",
                 "How many bridges does {name} have?"),
    FactTemplate("river", "town", "{name} lies on the {value} River.",
                 "On which river does {name} lie?"),
    FactTemplate("export", "town", "The main export of {name} is {value}.",
                 "What is the main export of {name}?"),
    FactTemplate("population", "town", "{name} is home to {value} people.",
                 "How many people live in {name}?"),
    FactTemplate("born", "explorer", "{name} was born in {value}.",
                 "In which year was {name} born?"),
    FactTemplate("hometown", "explorer", "{name} grew up in {value}.",
                 "Where did {name} grow up?"),
    FactTemplate("ship", "explorer", "{name} sailed on a ship called the {value}.",
                 "What was the name of the ship {name} sailed on?"),
    FactTemplate("expeditions", "explorer", "{name} led {value} expeditions.",
                 "How many expeditions did {name} lead?"),
    FactTemplate("discovery", "explorer", "{name} is remembered for finding {value} Island.",
                 "Which island is {name} remembered for finding?"),
    FactTemplate("established", "company", "{name} was established in {value}.",
                 "In which year was {name} established?"),
    FactTemplate("headquarters", "company", "{name} has its headquarters in {value}.",
                 "In which town does {name} have its headquarters?"),
    FactTemplate("product", "company", "{name} is best known for its {value}.",
                 "What is {name} best known for?"),
    FactTemplate("founder", "company", "{name} was started by {value}.",
                 "Who started {name}?"),
    FactTemplate("employees", "company", "{name} employs {value} workers.",
                 "How many workers does {name} employ?"),
)  # fmt: skip

#: Derived questions: answered from another fact's value (a decade from a year).
DECADE_QUESTIONS = {
    "founded": "In which decade was {name} founded?",
    "born": "In which decade was {name} born?",
    "established": "In which decade was {name} established?",
}

FACTS_BY_KEY = {f.key: f for f in FACTS}
