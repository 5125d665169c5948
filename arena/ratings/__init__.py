"""Ratings from episode records: Bradley–Terry, Elo and OpenSkill, each with a confidence
interval at one configured level.

* :mod:`~palaestra.arena.ratings.bradley_terry` — the maximum-likelihood Bradley–Terry fit on
  the Elo scale with bootstrap CIs, as Chatbot Arena reports it.
* :mod:`~palaestra.arena.ratings.elo` — online Elo averaged over episode orders, with a
  bootstrap CI over episodes.
* :mod:`~palaestra.arena.ratings.openskill` — Plackett–Luce (the ``openskill`` package), for
  games of more than two seats; CI ``mu ± z·σ``.

:data:`RATERS` lists them as :class:`~palaestra.arena.ratings.base.Rater` objects; the summary,
the terminal tables and the report iterate over it, so a new method is one module plus one
entry here.
"""

from __future__ import annotations

from palaestra.arena.ratings.base import (
    BASE_RATING,
    ELO_SCALE,
    Rater,
    Rating,
    RatingOptions,
    RatingTable,
    normal_quantile,
)
from palaestra.arena.ratings.bradley_terry import (
    TIE_MODELS,
    BradleyTerry,
    BradleyTerryFit,
    BradleyTerryRater,
    WinProbability,
)
from palaestra.arena.ratings.elo import Elo, EloRater
from palaestra.arena.ratings.openskill import OpenSkill, OpenSkillFit, OpenSkillRater

#: Every rating method, in the order tables show them; the first orders the agents.
RATERS: tuple[Rater, ...] = (BradleyTerryRater(), EloRater(), OpenSkillRater())

__all__ = [
    "BASE_RATING",
    "ELO_SCALE",
    "RATERS",
    "TIE_MODELS",
    "BradleyTerry",
    "BradleyTerryFit",
    "BradleyTerryRater",
    "Elo",
    "EloRater",
    "OpenSkill",
    "OpenSkillFit",
    "OpenSkillRater",
    "Rater",
    "Rating",
    "RatingOptions",
    "RatingTable",
    "WinProbability",
    "normal_quantile",
]
