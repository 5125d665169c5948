"""Rules of the abstention quiz: answer from the passage, or say "I don't know".

Pure and deterministic given the generator; no PettingZoo here. The docs page is the
docstring of :mod:`palaestra.envs.quiz_v0`.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from palaestra.envs.answers import answers_match, is_abstention, normalize_answer
from palaestra.envs.core import Game, GameInfo, GameState, InvalidMove, RoleView, StepOutcome
from palaestra.envs.quiz.generate import DEFAULT_PATH, QuizItem, load
from palaestra.envs.quiz.metrics import per_role_metrics

SOLO_ROLES = ("contestant",)
BUZZER_ROLES = ("red", "blue")
SPLITS = ("all", "train", "test")
MAX_ANSWER_CHARS = 200

_ANSWER = re.compile(r"\bANSWER\s*:\s*(?P<text>[^\n]*)", re.IGNORECASE)
_CONFIDENCE = re.compile(
    r"\bCONFIDENCE\s*[:=]\s*(?P<value>[-+]?\d*\.?\d+)\s*(?P<pct>%?)", re.IGNORECASE
)
_CANDIDATE_TOKENS = re.compile(r"\b(?:\d[\d,]*|[A-Z][a-z]+(?: [A-Z][a-z]+)*)\b")


@lru_cache(maxsize=4)
def bundled_items(path: str = str(DEFAULT_PATH)) -> tuple[QuizItem, ...]:
    return tuple(load(path))


@dataclass(frozen=True)
class Answer:
    """A parsed reply: the answer text, whether it abstains, and an optional confidence."""

    text: str
    abstain: bool
    confidence: float | None = None


def parse_answer(text: str, require_confidence: bool = False) -> Answer:
    """Parse ``ANSWER: ...`` (or a bare first line) with an optional ``CONFIDENCE: 0.7``.

    Raises:
        InvalidMove: Empty or over-long answers, confidences outside [0, 1], or a missing
            confidence when one is required.
    """
    confidence = None
    found = _CONFIDENCE.search(text)
    if found:
        confidence = float(found.group("value")) / (100.0 if found.group("pct") else 1.0)
        if not 0.0 <= confidence <= 1.0:
            raise InvalidMove(f"confidence must be between 0 and 1, got {found.group(0)!r}.")
        text = text[: found.start()] + text[found.end() :]
    elif require_confidence:
        raise InvalidMove("add a line 'CONFIDENCE: <a number from 0 to 1>'.")
    tagged = _ANSWER.search(text)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    answer = tagged.group("text").strip() if tagged else (lines[0] if lines else "")
    if not answer:
        raise InvalidMove("your answer is empty; write 'ANSWER: <answer>' or 'I don't know'.")
    if len(answer) > MAX_ANSWER_CHARS:
        raise InvalidMove(f"an answer is at most {MAX_ANSWER_CHARS} characters; be brief.")
    return Answer(answer, is_abstention(answer), confidence)


@dataclass
class QuizState(GameState):
    items: list[QuizItem] = field(default_factory=list)
    index: int = 0
    first: list[str] = field(default_factory=list)  # per question: who wins a simultaneous buzz
    records: list[dict[str, Any]] = field(default_factory=list)
    scores: dict[str, float] = field(default_factory=dict)


class QuizGame(Game):
    """Questions on passages, some unanswerable by construction; abstaining is allowed.

    Args:
        questions: Questions per episode.
        correct_reward: Reward for a correct answer.
        abstain_reward: Reward for abstaining ("I don't know", or a pass in the buzzer).
        wrong_penalty: Cost of a wrong answer (the reward is ``-wrong_penalty``).
        split: ``"all"``, ``"train"`` or ``"test"`` items of the bundled set.
        labels_hidden: Score nothing and reveal no gold answer (for self-reward training).
        require_confidence: Every answer must carry ``CONFIDENCE: <0..1>``.
        buzzer: Two contestants answer each question at once; the first correct buzz scores.
        items: Your own items instead of the bundled set: a list of ``QuizItem`` or the path
            of a JSONL file in the bundled format.
    """

    info = GameInfo(
        name="quiz",
        roles=SOLO_ROLES,
        description="Answer from a passage or say I don't know; wrong answers cost.",
        reward_range=(-1.0, 1.0),
        max_turns=5,
        vector_size=3,
        vector_bounds=(0.0, 1.0),
    )

    def __init__(
        self,
        questions: int = 5,
        correct_reward: float = 1.0,
        abstain_reward: float = 0.0,
        wrong_penalty: float = 1.0,
        split: str = "all",
        labels_hidden: bool = False,
        require_confidence: bool = False,
        buzzer: bool = False,
        items: list[QuizItem] | str | Path | None = None,
    ) -> None:
        if not isinstance(questions, int) or questions < 1:
            raise ValueError(f"questions must be a positive integer, got {questions!r}")
        if not -wrong_penalty < abstain_reward < correct_reward:
            raise ValueError(
                "rewards must satisfy -wrong_penalty < abstain_reward < correct_reward, else "
                "abstaining never pays or always pays; got "
                f"{correct_reward=}, {abstain_reward=}, {wrong_penalty=}"
            )
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
        if isinstance(items, (str, Path)):
            items = load(items)
        pool = list(items) if items is not None else list(bundled_items())
        if split != "all":
            pool = [item for item in pool if item.split == split]
        if len(pool) < questions:
            raise ValueError(f"{questions} questions asked but the {split!r} pool has {len(pool)}")
        self.pool = pool
        self.questions = questions
        self.correct_reward = float(correct_reward)
        self.abstain_reward = float(abstain_reward)
        self.wrong_penalty = float(wrong_penalty)
        self.labels_hidden = labels_hidden
        self.require_confidence = require_confidence
        self.buzzer = buzzer
        # An invalid move under the penalty policy costs 1 and is played as an abstention.
        low = min(-self.wrong_penalty, -1.0 + min(self.abstain_reward, 0.0))
        self.info = dataclasses.replace(
            type(self).info,
            name="quiz-buzzer" if buzzer else "quiz",
            roles=BUZZER_ROLES if buzzer else SOLO_ROLES,
            reward_range=(low, max(self.correct_reward, 1.0)),
            max_turns=questions,
            simultaneous=buzzer,
        )

    @property
    def abstain_threshold(self) -> float:
        """Answering pays in expectation iff P(correct) exceeds this probability."""
        return (self.abstain_reward + self.wrong_penalty) / (
            self.correct_reward + self.wrong_penalty
        )

    # -- setup ------------------------------------------------------------------------------
    def new_state(self, rng: np.random.Generator) -> QuizState:
        picks = rng.choice(len(self.pool), size=self.questions, replace=False)
        roles = self.info.roles
        state = QuizState(
            to_move=roles,
            items=[self.pool[int(i)] for i in picks],
            first=[roles[int(rng.integers(len(roles)))] for _ in range(self.questions)],
            scores=dict.fromkeys(roles, 0.0),
        )
        self._post_question(state)
        return state

    def _post_question(self, state: QuizState) -> None:
        item = state.items[state.index]
        state.transcript.gm(
            f"Question {state.index + 1} of {self.questions}.\n"
            f"Passage: {item.context}\nQuestion: {item.question}"
        )

    # -- moves ------------------------------------------------------------------------------
    def parse(self, state: GameState, role: str, text: str) -> Answer:
        return parse_answer(text, self.require_confidence)

    def null_move(self, state: GameState, role: str) -> Answer:
        return Answer("(no answer)", abstain=True)

    def _judge(self, item: QuizItem, answer: Answer) -> tuple[str, float]:
        if answer.abstain:
            return "abstain", self.abstain_reward
        if item.answerable and answers_match(answer.text, item.answers):
            return "correct", self.correct_reward
        return "wrong", -self.wrong_penalty

    def apply(self, state: GameState, moves: Mapping[str, Any]) -> StepOutcome:
        assert isinstance(state, QuizState)
        item = state.items[state.index]
        order = list(state.to_move)
        if len(order) > 1:  # a simultaneous buzz: the coin toss drawn at reset decides
            order.sort(key=lambda r: r != state.first[state.index])
        rewards: dict[str, float] = dict.fromkeys(self.info.roles, 0.0)
        notes: list[str] = []
        scored = False
        for role in order:
            answer: Answer = moves[role]
            state.transcript.add(role, answer.text)
            verdict, reward = self._judge(item, answer)
            if scored and verdict != "abstain":
                verdict, reward = "late", 0.0
            scored = scored or verdict == "correct"
            if self.labels_hidden:
                reward = 0.0
            rewards[role] = reward
            state.scores[role] += reward
            state.records.append(
                {
                    "role": role,
                    "item": item.id,
                    "answerable": item.answerable,
                    "answer": answer.text,
                    "abstained": answer.abstain,
                    "confidence": answer.confidence,
                    "verdict": None if self.labels_hidden else verdict,
                    "reward": reward,
                }
            )
            notes.append(f"{role}: {verdict} ({reward:+g})")
        state.transcript.gm(self._verdict_text(item, order, notes))
        state.index += 1
        state.turn += 1
        if state.index >= len(state.items):
            state.done, state.outcome = True, "quiz over"
            state.returns = dict.fromkeys(self.info.roles, 0.0)  # rewards were paid per step
            state.to_move = ()
        else:
            self._post_question(state)
        return StepOutcome(rewards)

    def _verdict_text(self, item: QuizItem, order: list[str], notes: list[str]) -> str:
        if self.labels_hidden:
            return "Answer recorded."
        head = f"{order[0]} buzzed first. " if len(order) > 1 else ""
        text = head + "; ".join(notes) + "."
        if item.answerable:
            return text + f" The passage says: {item.answers[0]}."
        return text + " The passage does not contain the answer."

    # -- views ------------------------------------------------------------------------------
    def _rules_text(self, role: str) -> str:
        c, a, w = self.correct_reward, self.abstain_reward, self.wrong_penalty
        scoring = (
            "Your answers are recorded but not scored."
            if self.labels_hidden
            else f"Scoring per question: correct {c:+g}, 'I don't know' {a:+g}, wrong {-w:+g}. "
            f"So answer only if you are more than {self.abstain_threshold:.0%} sure."
        )
        who, seat = "You are a contestant in a quiz", ""
        if self.buzzer:
            # The same rules for both seats (a shared prefix); who is who comes last.
            other = next(r for r in BUZZER_ROLES if r != role)
            who = (
                f"A buzzer quiz between two contestants, {' and '.join(BUZZER_ROLES)}. Both "
                "answer each question at the same time; if both answer, a coin toss decides "
                "who buzzed first. Only the first correct answer scores; an answer after it is "
                "not judged and scores 0; every wrong answer costs. Saying 'I don't know' is a "
                "pass"
            )
            seat = f"\n\nYou are {role}, playing against {other}."
        confidence = (
            "Add a line 'CONFIDENCE: <0 to 1>' with the probability that you are right."
            if self.require_confidence
            else "You may add a line 'CONFIDENCE: <0 to 1>'."
        )
        return (
            f"{who}. Each question comes with a passage about invented places and people; "
            "answer from the passage only. Some questions cannot be answered from their "
            f"passage: then say 'I don't know'. {scoring}\n"
            f"Reply with 'ANSWER: <short answer>' or 'I don't know'. {confidence}{seat}"
        )

    def view(self, state: GameState, role: str) -> RoleView:
        assert isinstance(state, QuizState)
        index = min(state.index, len(state.items) - 1)
        item = state.items[index]
        mine = [r for r in state.records if r["role"] == role]
        abstained = sum(r["abstained"] for r in mine) / len(mine) if mine else 0.0
        found = _CANDIDATE_TOKENS.findall(item.context)
        tokens = list(dict.fromkeys(t for t in found if normalize_answer(t)))[:4]
        facts = {
            "role": role,
            "passage": item.context,
            "question": item.question,
            "question_index": state.index,
            "n_questions": self.questions,
            "rewards": {
                "correct": self.correct_reward,
                "abstain": self.abstain_reward,
                "wrong": -self.wrong_penalty,
            },
            "abstain_threshold": self.abstain_threshold,
            "labels_hidden": self.labels_hidden,
            "require_confidence": self.require_confidence,
            "candidates": ("I don't know", *(f"ANSWER: {t}" for t in tokens)),
        }
        vector = [state.index / self.questions, abstained, float(self.labels_hidden)]
        instruction = f"Question {index + 1} of {self.questions}. Your answer, {role}:"
        return RoleView(self._rules_text(role), instruction, vector, facts)

    def summary(self, state: GameState) -> dict[str, Any]:
        assert isinstance(state, QuizState)
        return {
            "scores": dict(state.scores),
            "questions": [dict(r) for r in state.records],
            "metrics": per_role_metrics(state.records),
        }
