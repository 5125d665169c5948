"""Multi-agent text games as PettingZoo environments.

>>> from palaestra import envs
>>> "negotiation-v0" in envs.list_envs()
True
>>> env = envs.make("negotiation-v0")
"""

from __future__ import annotations

from palaestra.envs.core import GAME_MASTER, Game, GameInfo, GameState, InvalidMove, RoleView
from palaestra.envs.openspiel.loading import INSTALL_HINT as OPENSPIEL_INSTALL_HINT
from palaestra.envs.protocol import Action, Agent, Observation
from palaestra.envs.registry import (
    EnvSpec,
    UnknownEnvError,
    find_game,
    list_envs,
    make,
    register,
    spec,
)

# Built-in games. One line each; the module's docstring is the game's documentation page.
register(
    "negotiation-v0",
    "palaestra.envs.negotiation_v0",
    "Negotiation",
    default_opponents={"alice": "fair", "bob": "fair"},
)
register(
    "bargaining-v0",
    "palaestra.envs.negotiation_v0",
    "Bargaining",
    kwargs={"protocol": "alternating_offers", "deal_discount": 0.9},
    default_opponents={"alice": "hard", "bob": "hard"},
)
register(
    "debate-v0",
    "palaestra.envs.debate_v0",
    "Debate",
    default_opponents={"debater_a": "quoter", "debater_b": "quoter", "judge": "quotes"},
)
register(
    "debate-simultaneous-v0",
    "palaestra.envs.debate_v0",
    "DebateSimultaneous",
    kwargs={"simultaneous": True},
    default_opponents={"debater_a": "quoter", "debater_b": "liar", "judge": "jury"},
)

register(
    "twenty-questions-v0",
    "palaestra.envs.twenty_questions_v0",
    "TwentyQuestions",
    default_opponents={"asker": "greedy", "answerer": "oracle"},
)
register(
    "help-desk-v0",
    "palaestra.envs.help_desk_v0",
    "HelpDesk",
    default_opponents={"customer": "keyword", "agent": "form"},
)
register(
    "quiz-v0",
    "palaestra.envs.quiz_v0",
    "Quiz",
    default_opponents={"contestant": "reader"},
)
register(
    "quiz-buzzer-v0",
    "palaestra.envs.quiz_v0",
    "QuizBuzzer",
    kwargs={"buzzer": True},
    default_opponents={"red": "reader", "blue": "guesser"},
)
register(
    "taboo-v0",
    "palaestra.envs.taboo_v0",
    "Taboo",
    default_opponents={"describer": "hints", "guesser": "filter"},
)
register(
    "adversarial-taboo-v0",
    "palaestra.envs.adversarial_taboo_v0",
    "AdversarialTaboo",
    default_opponents={"attacker": "hints", "defender": "cautious"},
)

# OpenSpiel's games (an optional extra: listed as unavailable without it).
_OPENSPIEL = {"requires": "pyspiel", "install_hint": OPENSPIEL_INSTALL_HINT}
_PLAYERS = {"player_0": "uniform", "player_1": "uniform"}
register(
    "kuhn-poker-v0",
    "palaestra.envs.kuhn_poker_v0",
    "KuhnPoker",
    default_opponents=_PLAYERS,
    **_OPENSPIEL,
)
register(
    "leduc-poker-v0",
    "palaestra.envs.leduc_poker_v0",
    "LeducPoker",
    default_opponents=_PLAYERS,
    **_OPENSPIEL,
)
register(
    "tic-tac-toe-v0",
    "palaestra.envs.tic_tac_toe_v0",
    "TicTacToe",
    default_opponents={"x": "uniform", "o": "uniform"},
    **_OPENSPIEL,
)
register(
    "liars-dice-v0",
    "palaestra.envs.liars_dice_v0",
    "LiarsDice",
    default_opponents=_PLAYERS,
    **_OPENSPIEL,
)
register(
    "openspiel-v0",
    "palaestra.envs.openspiel_v0",
    "OpenSpiel",
    default_opponents={f"player_{p}": "uniform" for p in range(10)},
    **_OPENSPIEL,
)

__all__ = [
    "GAME_MASTER",
    "Action",
    "Agent",
    "EnvSpec",
    "Game",
    "GameInfo",
    "GameState",
    "InvalidMove",
    "Observation",
    "RoleView",
    "UnknownEnvError",
    "find_game",
    "list_envs",
    "make",
    "register",
    "spec",
]
