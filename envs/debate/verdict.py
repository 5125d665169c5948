"""The judge's move: ``VERDICT: A CONFIDENCE: 0.8``."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from palaestra.envs.core import InvalidMove

_VERDICT = re.compile(r"VERDICT\s*[:=]\s*\**\s*\(?\s*([AB])\b", re.IGNORECASE)
_CONFIDENCE = re.compile(r"CONFIDENCE\s*[:=]\s*\**\s*(\d+(?:\.\d*)?|\.\d+)\s*(%?)", re.IGNORECASE)


@dataclass(frozen=True)
class Verdict:
    """The judge's decision: ``choice`` is ``"A"``, ``"B"`` or ``None`` (no valid verdict),
    ``confidence`` the judge's probability that ``choice`` is correct."""

    choice: str | None
    confidence: float = 1.0
    text: str = field(default="", repr=False, compare=False)

    def probability(self, label: str) -> float:
        """The judge's probability that answer ``label`` is correct."""
        if self.choice is None:
            return 0.5
        return self.confidence if label == self.choice else 1.0 - self.confidence


def parse_verdict(text: str) -> Verdict:
    """Parse ``VERDICT: A CONFIDENCE: 0.8`` (the last of each counts; ``80%`` also parses).

    >>> parse_verdict("B looks right.\\nVERDICT: B CONFIDENCE: 75%")
    Verdict(choice='B', confidence=0.75)
    """
    choices = _VERDICT.findall(text)
    if not choices:
        raise InvalidMove("end your reply with a line 'VERDICT: A CONFIDENCE: 0.8' (A or B).")
    confidences = _CONFIDENCE.findall(text)
    if not confidences:
        raise InvalidMove("add your confidence after the verdict: 'VERDICT: A CONFIDENCE: 0.8'.")
    number, percent = confidences[-1]
    value = float(number)
    if percent or 1.0 < value <= 100.0:
        value /= 100.0
    if not 0.5 <= value <= 1.0:
        raise InvalidMove(
            f"CONFIDENCE is your probability (0.5 to 1) that your chosen answer is correct; "
            f"got {number}{percent}."
        )
    return Verdict(choices[-1].upper(), round(value, 4), text)
