"""Rules of twenty questions: find the hidden object with yes/no questions.

Pure and deterministic given the generator; no PettingZoo here. The docs page is the
docstring of :mod:`palaestra.envs.twenty_questions_v0`.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from palaestra.envs.answers import answers_match
from palaestra.envs.core import (
    Game,
    GameInfo,
    GameState,
    InvalidMove,
    RoleView,
    StepOutcome,
    require_int,
)
from palaestra.envs.twenty_questions.catalogue import (
    ANSWERS,
    GameObject,
    load_catalogue,
    oracle_answer,
    parse_reply,
)

ROLES = ("asker", "answerer")
MAX_QUESTION_CHARS = 300

_GUESS = re.compile(r"\bGUESS\s*:\s*(?P<text>[^\n]*)", re.IGNORECASE)


@dataclass(frozen=True)
class AskerMove:
    kind: str  # "question", "guess" or "pass"
    text: str


@dataclass
class TwentyQuestionsState(GameState):
    secret: GameObject | None = None
    question: str = ""  # the question waiting for an answer
    history: list[tuple[str, str]] = field(default_factory=list)  # (question, answer)
    guesses: list[str] = field(default_factory=list)
    used: int = 0  # questions and guesses so far
    agreement: list[bool] = field(default_factory=list)  # answers that match the oracle
    scores: dict[str, float] = field(default_factory=dict)
    solved: bool = False


class TwentyQuestionsGame(Game):
    """An asker finds a hidden object by yes/no questions; the answerer knows it.

    Args:
        max_questions: Questions and guesses allowed in all.
        question_cost: Cost of each question, pass or wrong guess to the asker, and of each
            answer to the answerer.
        win_reward: Reward for guessing the object (to both roles: they cooperate).
    """

    info = GameInfo(
        name="twenty-questions",
        roles=ROLES,
        description="Find the hidden object with yes/no questions; fewer questions is better.",
        reward_range=(-1.0, 1.0),
        max_turns=40,
        discount=1.0,
        vector_size=3,
        vector_bounds=(0.0, 1.0),
    )

    def __init__(
        self, max_questions: int = 20, question_cost: float = 0.05, win_reward: float = 1.0
    ) -> None:
        require_int("max_questions", max_questions, 2)
        if not 0.0 <= question_cost <= 1.0:
            raise ValueError(f"question_cost must be in [0, 1], got {question_cost!r}")
        if not question_cost < win_reward <= 10.0:
            raise ValueError(f"win_reward must be in (question_cost, 10], got {win_reward!r}")
        self.max_questions = max_questions
        self.question_cost = float(question_cost)
        self.win_reward = float(win_reward)
        self.catalogue = load_catalogue()
        self.info = dataclasses.replace(
            type(self).info,
            max_turns=2 * max_questions,
            reward_range=(-1.0 - self.question_cost, max(1.0, self.win_reward)),
        )

    def new_state(self, rng: np.random.Generator) -> TwentyQuestionsState:
        secret = self.catalogue.objects[int(rng.integers(len(self.catalogue.objects)))]
        state = TwentyQuestionsState(
            to_move=("asker",), secret=secret, scores=dict.fromkeys(ROLES, 0.0)
        )
        state.transcript.gm(
            f"The answerer has chosen an object. The asker has {self.max_questions} "
            "questions and guesses."
        )
        return state

    # -- moves ------------------------------------------------------------------------------
    def parse(self, state: GameState, role: str, text: str) -> Any:
        if role == "answerer":
            return parse_reply(text)
        if not text:
            raise InvalidMove("ask a yes/no question, or write 'GUESS: <object>'.")
        guess = _GUESS.search(text)
        if guess:
            name = guess.group("text").strip()
            if not name or len(name) > 80:
                raise InvalidMove("write the guess as 'GUESS: <object name>'.")
            return AskerMove("guess", name)
        if len(text) > MAX_QUESTION_CHARS:
            raise InvalidMove(f"a question is at most {MAX_QUESTION_CHARS} characters.")
        return AskerMove("question", text)

    def null_move(self, state: GameState, role: str) -> Any:
        return "unknown" if role == "answerer" else AskerMove("pass", "")

    def apply(self, state: GameState, moves: Mapping[str, Any]) -> StepOutcome:
        assert isinstance(state, TwentyQuestionsState) and state.secret is not None
        (role,) = state.to_move
        rewards = dict.fromkeys(ROLES, 0.0)
        state.turn += 1
        if role == "answerer":
            answer: str = moves[role]
            state.transcript.add(role, answer.upper())  # only the word: nothing else leaks
            state.history.append((state.question, answer))
            state.agreement.append(answer == oracle_answer(state.secret, state.question))
            # Each seat pays for the questions on its own step, so no seat collects costs
            # while another moves (the asker may pass or guess several times in a row).
            rewards["answerer"] = -self.question_cost
            state.to_move = ("asker",)
        else:
            move: AskerMove = moves[role]
            state.used += 1
            if move.kind == "guess" and answers_match(move.text, state.secret.names):
                state.transcript.add(role, f"GUESS: {move.text}")
                state.solved = True
                rewards = dict.fromkeys(ROLES, self.win_reward)
                state.transcript.gm(f"Correct! Solved with {state.used} questions and guesses.")
            else:
                rewards["asker"] = -self.question_cost
                if move.kind == "guess":
                    state.transcript.add(role, f"GUESS: {move.text}")
                    state.guesses.append(move.text)
                    state.transcript.gm("Wrong guess.")
                elif move.kind == "question":
                    state.transcript.add(role, move.text)
                    state.question = move.text
                    state.to_move = ("answerer",)
                else:
                    state.transcript.gm("The asker passes.")
        for r in ROLES:
            state.scores[r] += rewards[r]
        out_of_questions = state.used >= self.max_questions and state.to_move == ("asker",)
        if state.solved or out_of_questions:
            state.done = True
            state.outcome = "solved" if state.solved else "out of questions"
            if not state.solved:
                state.transcript.gm("Out of questions.")
            state.returns = dict.fromkeys(ROLES, 0.0)  # rewards were paid per step
            state.to_move = ()
        return StepOutcome(rewards)

    # -- views ------------------------------------------------------------------------------
    def view(self, state: GameState, role: str) -> RoleView:
        assert isinstance(state, TwentyQuestionsState) and state.secret is not None
        left = self.max_questions - state.used
        scoring = (
            f"Each question, pass or wrong guess costs the asker {self.question_cost:g} points "
            f"and each answer costs the answerer as much; a right guess earns "
            f"{self.win_reward:g} for both (you play as a team)."
        )
        yes = sum(a == "yes" for _, a in state.history)
        no = sum(a == "no" for _, a in state.history)
        vector = [
            state.used / self.max_questions,
            yes / self.max_questions,
            no / self.max_questions,
        ]
        if role == "asker":
            preamble = (
                "You are the asker in twenty questions. The answerer has chosen an everyday "
                "object, animal, plant, food or place. Find it with yes/no questions, one "
                "property at a time (e.g. 'Is it an animal?'). When you know it, write "
                f"'GUESS: <object>'. You have {self.max_questions} questions and guesses in "
                f"all. {scoring}"
            )
            asked = {q for q, _ in state.history}
            candidates = tuple(
                a.question for a in self.catalogue.attributes if a.question not in asked
            )
            facts: dict[str, Any] = {
                "role": role,
                "history": tuple(state.history),
                "wrong_guesses": tuple(state.guesses),
                "questions_left": left,
                "candidates": tuple(candidates[:6]),
            }
            instruction = f"{left} questions left. Your question or guess, asker:"
        else:
            secret = state.secret
            traits = ", ".join(
                a.key for a in self.catalogue.attributes if a.key in secret.attributes
            )
            # What every episode's answerer reads comes first (a shared prefix), the secret last.
            preamble = (
                "You are the answerer in twenty questions. Answer each question of the asker "
                "truthfully with YES, NO or UNKNOWN (only that word is passed on). "
                f"{scoring}\n\nThe secret object is: {secret.name}. "
                f"Its properties: {traits or 'none of the listed ones'}."
            )
            facts = {
                "role": role,
                "object": secret.name,
                "attributes": tuple(sorted(secret.attributes)),
                "question": state.question,
                "candidates": ANSWERS,
            }
            instruction = "Answer the last question with YES, NO or UNKNOWN, answerer:"
        return RoleView(preamble, instruction, vector, facts)

    def summary(self, state: GameState) -> dict[str, Any]:
        assert isinstance(state, TwentyQuestionsState) and state.secret is not None
        return {
            "solved": state.solved,
            "object": state.secret.name,
            "questions_used": state.used,
            "scores": dict(state.scores),
            "answer_agreement": (
                sum(state.agreement) / len(state.agreement) if state.agreement else None
            ),
        }
