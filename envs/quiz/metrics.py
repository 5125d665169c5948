"""Abstention metrics of the quiz, from per-question records or whole episodes' infos.

Every answered question is recorded as a dict with ``role``, ``item``, ``answerable``,
``abstained``, ``confidence`` (or ``None``) and ``verdict`` (``"correct"``, ``"wrong"``,
``"abstain"``, ``"late"`` for a buzz after the first correct one, or ``None`` when labels
are hidden). The env puts the list in ``infos[role]["questions"]`` at the end of an episode.

>>> records = [
...     {"role": "c", "answerable": True, "abstained": False, "verdict": "correct",
...      "confidence": 0.8},
...     {"role": "c", "answerable": False, "abstained": False, "verdict": "wrong",
...      "confidence": 0.6},
...     {"role": "c", "answerable": False, "abstained": True, "verdict": "abstain",
...      "confidence": None},
... ]
>>> m = metrics_from_records(records)
>>> (m.accuracy_answerable, m.abstention_unanswerable, m.hallucination_unanswerable)
(1.0, 0.5, 0.5)
>>> round(m.brier, 2)  # ((0.8 - 1)^2 + (0.6 - 0)^2) / 2
0.2
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class QuizMetrics:
    """Abstention and calibration figures over a set of questions (``None`` where undefined).

    Attributes:
        questions: Questions counted (late buzzes and hidden-label answers excluded).
        answerable: How many of them were answerable.
        accuracy_answerable: Correct answers / answerable questions.
        abstention_answerable: Abstentions / answerable questions (over-caution).
        abstention_unanswerable: Abstentions / unanswerable questions (higher is better).
        hallucination_unanswerable: Answers given to unanswerable questions / unanswerable
            questions (every such answer is wrong).
        precision: Correct answers / answers given (accuracy when the player does answer).
        brier: Mean squared gap between stated confidence and correctness, over answers
            that carried a confidence (lower is better).
        confident_answers: How many answers carried a confidence.
    """

    questions: int
    answerable: int
    accuracy_answerable: float | None
    abstention_answerable: float | None
    abstention_unanswerable: float | None
    hallucination_unanswerable: float | None
    precision: float | None
    brier: float | None
    confident_answers: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


def metrics_from_records(
    records: Iterable[Mapping[str, Any]], role: str | None = None
) -> QuizMetrics:
    """:class:`QuizMetrics` of per-question records (only ``role``'s if given)."""
    rows = [
        r
        for r in records
        if (role is None or r.get("role") == role) and r.get("verdict") not in (None, "late")
    ]
    ans = [r for r in rows if r["answerable"]]
    unans = [r for r in rows if not r["answerable"]]
    given = [r for r in rows if not r["abstained"]]
    rated = [r for r in given if r.get("confidence") is not None]
    brier = None
    if rated:
        brier = sum(
            (float(r["confidence"]) - (r["verdict"] == "correct")) ** 2 for r in rated
        ) / len(rated)
    return QuizMetrics(
        questions=len(rows),
        answerable=len(ans),
        accuracy_answerable=_ratio(sum(r["verdict"] == "correct" for r in ans), len(ans)),
        abstention_answerable=_ratio(sum(r["abstained"] for r in ans), len(ans)),
        abstention_unanswerable=_ratio(sum(r["abstained"] for r in unans), len(unans)),
        hallucination_unanswerable=_ratio(sum(not r["abstained"] for r in unans), len(unans)),
        precision=_ratio(sum(r["verdict"] == "correct" for r in given), len(given)),
        brier=brier,
        confident_answers=len(rated),
    )


def quiz_metrics(infos: Iterable[Mapping[str, Any]], role: str | None = None) -> QuizMetrics:
    """:class:`QuizMetrics` over episodes, from each episode's final info dict.

    Args:
        infos: Final ``infos[role]`` of each episode (or an arena ``EpisodeRecord.info``);
            each holds the episode's ``"questions"`` records.
        role: Count only this role's answers (``None``: every role's).
    """
    return metrics_from_records((r for info in infos for r in info.get("questions", ())), role=role)


def per_role_metrics(records: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """``{role: QuizMetrics.as_dict()}`` for the roles in ``records``."""
    records = list(records)
    roles = sorted({r["role"] for r in records})
    return {role: metrics_from_records(records, role).as_dict() for role in roles}
