"""Twenty questions: find the hidden object with yes/no questions (``twenty-questions-v0``).

The parlour game, as a cooperative two-seat dialogue. The ``answerer`` knows a hidden object
drawn from a bundled set; the ``asker`` finds it with yes/no questions and names it with a
guess. Fewer questions is better.

**Objects**: 141 everyday objects, animals, plants, foods and places, each with the
attributes true of it out of 37 (alive, animal, mammal, food, made by people, electric,
bigger than a person, fits in a hand, red, ...), bundled in
``palaestra/envs/twenty_questions/objects.json`` (written for the project). The reset seed
draws the object.

**Roles**: ``asker`` moves first; after each question the ``answerer`` answers, then the
asker moves again. The answerer seat can be an agent (LLM or human) or the bundled scripted
``oracle``, which answers from the attributes: it finds the attributes a question asks about
by keywords ("Can it fly?" -> fly; "Is it bigger than a person?" -> big); with several
attributes joined by "and" it says yes only if all hold; a question naming an object ("Is
it a dog?") is answered by the name; a question with "or", or with no known keyword, gets
UNKNOWN.

**Observation**: a ``Dict`` with ``"text"`` (rules; for the answerer the object and its
attributes; the transcript; this turn's instruction) and ``"observation"`` (3 floats: the
fraction of questions used, and the numbers of yes and of no answers over the maximum). The
asker never sees the object: the answerer's reply is reduced to the single word YES, NO or
UNKNOWN before it is shown, so an answerer cannot leak the name.

**Action**: asker — a yes/no question (free text, at most 300 characters) or
``GUESS: <object>`` (matched to the object's name and aliases with
:func:`palaestra.envs.answers.answers_match`, so case, articles and punctuation do not
matter). Answerer — a reply whose first word is yes or no (``yeah``, ``nope``, ... accepted)
or an "I don't know"/``UNKNOWN``; anything else is an invalid move. Under the ``penalty``
policy the null move is a pass for the asker (it costs a question) and UNKNOWN for the
answerer.

**Rewards** (per step; the seats cooperate: both earn the win, both pay for questions):
the asker pays ``question_cost`` (0.05) for every question, pass or wrong guess it makes, the
answerer pays as much for every question it answers, and the right guess pays ``win_reward``
(1) to both. Each seat pays on its own step, so no seat piles up costs while the other moves.
The episode ends at the right guess or when ``max_questions`` (20) questions and guesses are
used up. So a solve after *k* questions and guesses in all (*k - 1* of them answered
questions) returns ``1 - 0.05 * (k - 1)`` to each seat, and a failure returns ``-0.05 * 20 =
-1`` to the asker. Shared rewards make honest answers the answerer's best policy. Declared
discount 1.0 (the cost per question already rewards speed); declared reward range
``[-1 - question_cost, win_reward]`` (an invalid move under the ``penalty`` policy costs 1
on top of the pass it is played as).

**Infos** at the end: ``solved``, ``object``, ``questions_used``, ``scores`` (returns) and
``answer_agreement`` (the fraction of the answerer's replies that match the attribute
oracle: a truthfulness check of an LLM answerer).

**Arguments**: ``max_questions=20``, ``question_cost=0.05``, ``win_reward=1.0``.

**Scripted players** (``scripted:twenty-questions/<name>``): ``oracle`` (answerer, from the
attributes) and ``greedy`` (asker: keeps the objects consistent with the answers so far,
asks the attribute question that splits them most evenly, and guesses when one is left or
no question separates them).

**Version history**

* v0 — first release.
"""

from __future__ import annotations

from palaestra.envs.registry import env_functions
from palaestra.envs.twenty_questions.rules import TwentyQuestionsGame as GAME
from palaestra.envs.twenty_questions.scripted import SCRIPTED

env, raw_env, parallel_env = env_functions("twenty-questions-v0")

__all__ = ["GAME", "SCRIPTED", "env", "parallel_env", "raw_env"]
