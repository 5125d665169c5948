"""Help desk: collect a customer's request slot by slot and resolve it (``help-desk-v0``).

A task-oriented dialogue with cumulative reward. A ``customer`` comes with a hidden goal: a
structured request with an intent and several slots, for example *return an item* with an
order number, the item and the reason. The ``agent`` must find out which request it is,
collect every slot by asking, and resolve it. Every turn costs a little, so the discounted
return rewards agents that ask for what they need and resolve early.

**Requests**: four intents bundled in ``palaestra/envs/help_desk/requests.json`` (written for
the project), three slots each: ``return_item`` (order_number, item, reason),
``change_delivery`` (order_number, day, time_window), ``cancel_subscription`` (email, plan,
reason) and ``report_fault`` (device, symptom, purchase_year). The reset seed draws the
intent and every value (order numbers and email addresses are generated).

**Roles**: the ``customer`` moves first (its opening message), then the seats alternate.
The customer seat can be any agent; the bundled scripted ``keyword`` customer opens with its
request and then answers exactly the slots whose keywords the agent's last message mentions
(word matching from :mod:`palaestra.envs.textnorm`: "What is your order number?" gets "My
order number is 482137.").

**Observation**: a ``Dict`` with ``"text"`` (rules; for the customer its request and
details; the transcript; this turn's instruction) and ``"observation"`` (2 floats: the
fraction of moves used and the number of slots the agent has noted, over 4). The agent's
prompt lists the request types and slot names, never the customer's values: those reach the
agent only through what the customer says.

**Action**: customer — free text (1 to 600 characters). Agent — free text to the customer,
plus optional lines (the customer sees the whole message, so it can correct a wrong note):

* ``NOTE: <slot>=<value>`` — record a detail (also ``NOTE: intent=<request>``); each slot at
  most once per message; an unknown slot name is an invalid move;
* ``RESOLVE: intent=<request>; <slot>=<value>; ...`` — close the case with every slot of the
  request (a missing slot or unknown request is an invalid move). It ends the episode.

Values are compared with :func:`palaestra.envs.answers.answers_match` (case, punctuation,
articles and number words do not matter).

**Rewards** (per step: every agent move pays at once, and the customer gets the same reward
at the same step: the game is cooperative):

* ``-turn_cost`` (0.02) for every agent move;
* ``+progress_reward`` (0.1) for each slot (or the intent) that a note gets right for the
  first time, and ``-progress_reward`` for each wrong note, so noting guesses does not pay;
* ``+resolve_reward`` (1) for a resolution with the right intent and every slot right,
  ``-wrong_penalty`` (1) for any other resolution;
* nothing more when ``max_turns`` (16) moves pass without a resolution.

So a perfect agent that asks one question per slot and resolves after the customer's third
answer earns ``4 * 0.1 + 1 - 4 * 0.02 = 1.32``. Declared discount ``discount`` (0.95): a
trainer discounts by the agent's move index *k*, ``sum_k 0.95**k * r_k``, and the game
reports that figure as ``infos["discounted_return"]``.

**Infos** at the end: ``intent``, ``resolution`` (``correct``, ``wrong`` or ``none``),
``slots_correct`` (slots and intent noted right), ``slots_total``, ``agent_moves``,
``scores`` (undiscounted returns) and ``discounted_return`` (per role).

**Arguments**: ``max_turns=16``, ``turn_cost=0.02``, ``progress_reward=0.1``,
``resolve_reward=1.0``, ``wrong_penalty=1.0``, ``discount=0.95``.

**Scripted players** (``scripted:help-desk/<name>``): ``keyword`` (customer) and ``form``
(agent: infers the request from the customer's words by keywords, notes each detail the
customer states as "My <label> is <value>.", asks for the first missing slot, and resolves
when it has them all).

**Version history**

* v0 — first release.
"""

from __future__ import annotations

from palaestra.envs.help_desk.rules import HelpDeskGame as GAME
from palaestra.envs.help_desk.scripted import SCRIPTED
from palaestra.envs.registry import env_functions

env, raw_env, parallel_env = env_functions("help-desk-v0")

__all__ = ["GAME", "SCRIPTED", "env", "parallel_env", "raw_env"]
