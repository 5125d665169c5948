"""Taboo: describe a secret word without saying it or its taboo words (``taboo-v0``).

A cooperative word game after the party game *Taboo*. The ``describer`` knows a secret word
and three to five taboo words; the ``guesser`` must say the secret word. The describer may
not say the secret word or a taboo word, in any form, nor spell one out.

**Words**: a card is drawn from the reset seed out of 358 bundled cards (``taboo/data/
words.json``, written for this project; each has a target word, a category and 3–5 taboo
words). The same cards serve ``adversarial-taboo-v0``.

**Roles and turns**: ``describer`` then ``guesser``, alternating; a *round* is one clue and one
guess. ``max_turns`` moves in all, so ``max_turns // 2`` rounds (6 by default).

**Matching** (shared with the other word games, `palaestra.envs.textnorm`): case, accents
and punctuation are ignored, plurals and inflections match their word (``run``, ``runs``,
``running``, ``ran``), and so do hyphenated or joined spellings (``ice-cream``, ``icecream``)
and a word spelled out letter by letter (``c-a-t``). Matching is by whole words, so ``brunch``
does not say ``run``.

**Observation**: a ``Dict`` with ``"text"`` (rules, the role's private card for the describer,
the transcript, then this turn's instruction) and ``"observation"`` (3 floats: fraction of moves
used, fraction of rounds used, 1 for the describer). The guesser never sees the secret word or
the taboo words; a clue that breaks the rules is withheld from the transcript.

**Action**: free text. The describer's reply is the clue (an empty clue is invalid). The
guesser's reply must contain ``GUESS: <word>`` (a reply of at most four words also counts as the
guess); a leading article is ignored. A guess longer than four words, or none, is an invalid
move, handled by the env's ``invalid_move`` policy (``retry`` by default). The null move of the
``penalty`` policy is a pass (an empty clue or no guess; the round still counts).

**Rewards** (per step, through PettingZoo's ``rewards``):

* ``+success_reward`` (1) to both players on the guess that names the word; the game ends,
  solved;
* ``-turn_cost`` (0.1) to both players on every guess that does not, or a pass; after the last
  round the game ends unsolved;
* ``-violation_penalty`` (1) to the describer when its clue says a forbidden word (the guesser
  gets 0: it did nothing wrong); the game ends.

So a word solved in round *k* returns ``1 - 0.1 (k - 1)``: the return falls with the rounds
used. The declared discount is ``GameInfo.discount = 0.95`` per move (``metadata["discount"]``);
the discounted return of a solve in round *k* (move ``2k``) is
``0.95**(2k-1) - 0.1 * sum(0.95**(2j-1) for j < k)``. A forfeit gives the offender the minimum
reward and the partner 0; invalid moves under the ``penalty`` policy cost the offender ``-1``
(on top of the round's cost when the null move ends a round). Declared reward range
``[-max(violation_penalty, 1 + turn_cost), success_reward]``, ``[-1.1, 1]`` with the defaults:
it bounds what PettingZoo reports to a player between two of its moves, too.

**Infos** at the end: ``word``, ``solved``, ``rounds_used``, ``violation`` (the forbidden word
said, or ``None``) and ``scores`` (each player's return without invalid-move penalties).

**Arguments**: ``max_turns=12``, ``success_reward=1.0``, ``turn_cost=0.1``,
``violation_penalty=1.0``.

**Scripted players** (``scripted:taboo/<name>``): ``hints`` (describer: one more hint each round
— category, length, first and last letter, then more letters), ``careless`` (describer: uses a
taboo word at once; a fixture for violations) and ``filter`` (guesser: guesses the first
bundled word that fits every hint heard and was not tried yet).

**Version history**

* v0 — first release.
"""

from __future__ import annotations

from palaestra.envs.registry import env_functions
from palaestra.envs.taboo.rules import TabooGame as GAME
from palaestra.envs.taboo.scripted import SCRIPTED

env, raw_env, parallel_env = env_functions("taboo-v0")

__all__ = ["GAME", "SCRIPTED", "env", "parallel_env", "raw_env"]
