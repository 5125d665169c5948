"""Any sequential OpenSpiel game, by name (``openspiel-v0``).

``envs.make("openspiel-v0", game="connect_four")`` plays any of OpenSpiel's sequential games
(``pyspiel.registered_names()`` lists them) through the same bridge as the named OpenSpiel
games (`palaestra.envs.openspiel`). Games with a writer of their own (Kuhn and Leduc
poker, tic-tac-toe, Liar's dice) read as on their own pages; every other game reads in
OpenSpiel's own strings. The default game is ``connect_four``.

**Rules**: OpenSpiel's. The text names the game and its parameters, the players and the
payoff range; it does not explain the game.

**Roles**: ``player_0``, ``player_1``, ... (OpenSpiel's player ids).

**Observation**: a ``Dict`` with ``"text"`` and ``"observation"``. The text: the rules line,
``You are player_0.``, then the history, then an instruction with OpenSpiel's view of the
position for this seat (``observation_string``, else ``information_state_string``) and the
legal moves. In perfect-information games the history is public (``player_0 plays x3.``,
chance outcomes included); in imperfect-information games each seat reads only its own moves
(``You play ...``, privately) and its own view, since OpenSpiel does not say what of a move
the others see. ``"observation"`` is OpenSpiel's observation tensor (else the
information-state tensor), unbounded. ``Observation.facts``: ``player``, ``info_state``,
``legal_actions``, ``candidates``, ``private`` (``{}``).

**Action**: a move as OpenSpiel's ``action_to_string`` writes it (``x3`` in connect four),
case-insensitive, the first legal move named in the reply. With ``action_mode="discrete"``:
``Discrete(num_distinct_actions)`` and an ``"action_mask"``.

**Rewards**: at the end, OpenSpiel's returns (intermediate rewards are included in them and
paid at the end). Declared reward range: OpenSpiel's ``[min_utility - 1, max_utility]``
(widened by the default invalid-move penalty). The ``penalty`` policy's null move is the
first legal action; a forfeit gives the offender the minimum utility (and, in zero-sum
games, the others what it loses).

**Infos** at the end: ``returns`` and ``openspiel_history``.

**Arguments**: ``game="connect_four"`` (a name, or OpenSpiel's ``"name(key=value)"`` form),
``params={}`` (OpenSpiel game parameters), ``text="auto"`` (``"generic"``: OpenSpiel's strings
even for games with a writer). An unknown game or parameter is a ``ValueError`` naming it
and suggesting the closest names; simultaneous-move games are refused (OpenSpiel's
``turn_based_simultaneous_game`` turns them into sequential ones).

**Scripted players** (``scripted:openspiel/<name>``): ``uniform``.

**Version history**

* v0 — first release (OpenSpiel 2.0.2).
"""

from __future__ import annotations

from palaestra.envs.openspiel.bridge import OpenSpielGame as GAME
from palaestra.envs.openspiel.policies import scripted_players
from palaestra.envs.registry import env_functions

SCRIPTED = scripted_players("")
env, raw_env, parallel_env = env_functions("openspiel-v0")

__all__ = ["GAME", "SCRIPTED", "env", "parallel_env", "raw_env"]
