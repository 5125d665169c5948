"""The request types of the help desk: intents, their slots and the values they take."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

DATA_PATH = Path(__file__).with_name("requests.json")


@dataclass(frozen=True)
class Slot:
    key: str
    label: str
    keywords: tuple[str, ...]
    values: tuple[str, ...] = ()
    format: str = ""


@dataclass(frozen=True)
class Intent:
    key: str
    description: str
    opening: str
    keywords: tuple[str, ...]
    slots: tuple[Slot, ...]


@dataclass(frozen=True)
class Schema:
    intents: tuple[Intent, ...]
    first_names: tuple[str, ...]
    last_names: tuple[str, ...]

    def intent(self, key: str) -> Intent:
        return next(i for i in self.intents if i.key == key)

    @property
    def slot_keys(self) -> frozenset[str]:
        return frozenset(s.key for i in self.intents for s in i.slots)


@lru_cache(maxsize=2)
def load_schema(path: str = str(DATA_PATH)) -> Schema:
    """The bundled request types (``requests.json``)."""
    with open(path, encoding="utf-8") as fh:
        data = json.load(fh)
    intents = tuple(
        Intent(
            i["key"], i["description"], i["opening"], tuple(i["keywords"]),
            tuple(
                Slot(s["key"], s["label"], tuple(s["keywords"]), tuple(s.get("values", ())),
                     s.get("format", ""))
                for s in i["slots"]
            ),
        )
        for i in data["intents"]
    )  # fmt: skip
    return Schema(intents, tuple(data["first_names"]), tuple(data["last_names"]))
