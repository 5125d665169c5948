"""Adversarial taboo: get the defender to say the word unknowingly (``adversarial-taboo-v0``).

The two-player zero-sum language game of Cheng et al. 2024, *Self-playing Adversarial Language
Game Enhances LLM Reasoning* (NeurIPS 2024, arXiv:2404.10642), where self-play on it improved
reasoning benchmarks. The ``attacker`` knows a target word and tries to make the ``defender``
say it without noticing; the defender tries to work the word out and may guess it at any turn.

**Words**: a target drawn from the reset seed out of the 358 bundled cards shared with
``taboo-v0`` (only the target word is used here).

**Roles and turns**: ``attacker`` then ``defender``, alternating; a *round* is one message of
each. ``max_turns`` moves in all, so ``max_turns // 2`` rounds (5 by default).

**Outcomes**:

* the defender says the target word (any inflected form, see `palaestra.envs.textnorm`)
  in a message without a guess: the **attacker wins**;
* the defender writes ``GUESS: <word>``: a right guess and the **defender wins**, a wrong one
  and the **attacker wins** (only the guess counts in a message that has one);
* the attacker says or spells out the target word: it broke the rules and the **defender
  wins**; that message is withheld from the defender;
* the rounds run out: a **draw**.

**Observation**: a ``Dict`` with ``"text"`` (rules, the target word for the attacker, the
transcript, then this turn's instruction) and ``"observation"`` (3 floats: fraction of moves
used, fraction of rounds used, 1 for the attacker). The target never appears in the defender's
observation unless the defender said it.

**Action**: free text; an empty message is invalid (handled by ``invalid_move``, ``retry`` by
default); a ``GUESS:`` with no word or more than four words is invalid too. The null move of the
``penalty`` policy is a pass.

**Rewards**: zero-sum and terminal, through PettingZoo's ``rewards`` on the last step: winner
``+win_reward`` (1), loser ``-win_reward``, draw 0 each; a forfeit loses for the offender and
wins for the other. Intermediate steps reward 0, so the declared discount is
``GameInfo.discount = 1.0``. Invalid moves under the ``penalty`` policy cost the offender ``-1``
(not zero-sum). Declared reward range ``[-win_reward - 1, win_reward]``, ``[-2, 1]`` by
default: a player penalised for an invalid move can lose on the next move, and PettingZoo
reports the sum of both to it.

**Infos** at the end: ``word``, ``winner`` (``None`` for a draw), ``guess`` and
``rounds_used``.

**Arguments**: ``max_turns=10``, ``win_reward=1.0``.

**Scripted players** (``scripted:adversarial-taboo/<name>``): ``hints`` (attacker: one more
hint each round — category, length, letters — and "What word comes to mind?"), ``lure``
(attacker: never gives letters away, only asks the defender to name things of the word's
category), ``naive``
(defender: names the first bundled word that fits, so it often says the target; guesses when
one word fits) and ``cautious`` (defender: never names a word; guesses only when one fits).

**Version history**

* v0 — first release.
"""

from __future__ import annotations

from palaestra.envs.adversarial_taboo.rules import AdversarialTabooGame as GAME
from palaestra.envs.adversarial_taboo.scripted import SCRIPTED
from palaestra.envs.registry import env_functions

env, raw_env, parallel_env = env_functions("adversarial-taboo-v0")

__all__ = ["GAME", "SCRIPTED", "env", "parallel_env", "raw_env"]
