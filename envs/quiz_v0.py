"""Quiz: answer from the passage, or say "I don't know" (``quiz-v0``, ``quiz-buzzer-v0``).

The abstention game, for training models that decline instead of hallucinating. Each
question comes with a short passage about invented towns, explorers and companies. Some
questions are answerable from their passage; others are unanswerable by construction: the
passage leaves the asked fact out (and often states the same kind of fact about another
entity, a tempting wrong answer). Because the world is invented, no answer can come from a
model's memory.

**Question set**: 240 items bundled in ``palaestra/envs/quiz/questions.jsonl``, 60%
answerable, every fifth item in the ``test`` split. They are produced by
``python -m palaestra.envs.quiz.generate`` (deterministic; a test checks the bundled file is
its output). Each item has a ``context``, a ``question``, accepted ``answers`` and, for
unanswerable items, the withheld ``hidden_answer`` (never shown to a player).

**Roles**:

* ``quiz-v0`` — one ``contestant``; the game master is the quizmaster: it poses the
  questions and judges the answers.
* ``quiz-buzzer-v0`` — two contestants, ``red`` and ``blue``, answer the same question at the
  same time (a simultaneous game: it has a PettingZoo Parallel env). If both answer, a coin
  toss drawn at reset decides who buzzed first. The first correct answer scores; an answer
  after it is not judged (0); every wrong answer costs; "I don't know" is a pass. Abstaining
  becomes strategic: a guess that would pay alone may not pay against a rival who knows.

**Observation**: a ``Dict`` with ``"text"`` (rules and scoring, then the transcript with each
question's passage, then "Question k of n. Your answer:") and ``"observation"`` (3 floats:
fraction of questions done, own abstention rate so far, whether labels are hidden).

**Action**: ``ANSWER: <short answer>`` (a bare first line also counts as the answer) or an
abstention ("I don't know", "unknown", "cannot be determined", ... recognised by
:func:`palaestra.envs.answers.is_abstention`). An optional line ``CONFIDENCE: 0.8`` (or
``80%``) states the probability of being right. Answers are matched to the accepted answers
by :func:`palaestra.envs.answers.answers_match` (case, punctuation, articles, number words:
``"twelve"`` matches ``"12"``, ``"the 1870s"`` matches ``"1870s"``). An empty answer, one over
200 characters, a confidence outside [0, 1], or no confidence when ``require_confidence`` is
set is an invalid move; under the ``penalty`` policy it is played as an abstention.

**Rewards** (per question, paid at the step that answers it, so a trainer sees per-step
rewards): correct ``+correct_reward`` (1), abstain ``abstain_reward`` (0), wrong
``-wrong_penalty`` (-1). Declared discount 1.0 (the questions are independent). With
``labels_hidden=True`` every reward is 0 and neither the verdict nor the gold answer is
revealed, for training on the model's own majority vote.

*Why the wrong penalty must exceed the abstain reward.* Answering with probability *p* of
being right is worth ``p * c - (1 - p) * w`` in expectation; abstaining is worth ``a``. So
abstaining pays exactly when ``p < (a + w) / (c + w)``. With the defaults (c = 1, a = 0,
w = 1) the threshold is 50%; in general for a = 0 it is ``w / (1 + w)`` when c = 1. If the
wrong answer's reward ``-w`` were not below ``a`` (no penalty, say), the threshold would be at
most 0: a guess would never be worse than "I don't know", and a reward-maximising player would
learn to hallucinate. The game therefore requires ``-wrong_penalty < abstain_reward <
correct_reward`` and raises ``ValueError`` otherwise. The threshold is stated in the prompt.

**Infos** at the end: ``scores`` (total reward per role), ``questions`` (one record per
answer: ``role``, ``item``, ``answerable``, ``answer``, ``abstained``, ``confidence``,
``verdict``, ``reward``) and ``metrics`` per role: accuracy on answerable questions,
abstention rate on unanswerable ones (and on answerable ones: over-caution), hallucination
rate (answers to unanswerable questions), precision, and the Brier score of stated
confidences. :func:`palaestra.envs.quiz.metrics.quiz_metrics` computes the same figures over
many episodes' infos, for the arena and the trainer.

**Arguments**: ``questions=5`` (per episode), ``correct_reward=1.0``, ``abstain_reward=0.0``,
``wrong_penalty=1.0``, ``split="all"`` (``"train"`` or ``"test"``), ``labels_hidden=False``,
``require_confidence=False``, ``buzzer`` (``False`` for ``quiz-v0``, ``True`` for
``quiz-buzzer-v0``), ``items`` (your own list of ``QuizItem``, or the path of a JSONL
file in the bundled format).

**Scripted players** (``scripted:quiz/<name>``, ``scripted:quiz-buzzer/<name>``): ``reader``
(answers what the passage states by the generator's sentence templates, else "I don't know";
a ceiling, not a model of reading), ``guesser`` (the reader, but when the passage is silent it
answers with the same fact about another entity: a hallucination baseline) and ``abstainer``.

**Version history**

* v0 — first release.
"""

from __future__ import annotations

from palaestra.envs.quiz.metrics import QuizMetrics, quiz_metrics
from palaestra.envs.quiz.rules import QuizGame as GAME
from palaestra.envs.quiz.scripted import SCRIPTED
from palaestra.envs.registry import env_functions

env, raw_env, parallel_env = env_functions("quiz-v0")

__all__ = ["GAME", "SCRIPTED", "QuizMetrics", "env", "parallel_env", "quiz_metrics", "raw_env"]
