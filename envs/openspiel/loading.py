"""Importing OpenSpiel lazily, and loading its games by name with clear errors.

``pyspiel`` is an optional dependency (``pip install 'palaestra[openspiel]'``, Python >= 3.11):
nothing in :mod:`palaestra.envs` imports it until an OpenSpiel game is built.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from types import ModuleType
from typing import Any

INSTALL_HINT = "pip install 'palaestra[openspiel]' (open-spiel needs Python >= 3.11)"


class MissingOpenSpiel(ImportError):
    """OpenSpiel (the ``pyspiel`` module) is not installed; the message says how to get it."""

    def __init__(self, what: str = "the OpenSpiel games") -> None:
        super().__init__(f"{what} need OpenSpiel, which is not installed: {INSTALL_HINT}")


def import_pyspiel() -> ModuleType:
    """The ``pyspiel`` module, or :class:`MissingOpenSpiel`."""
    try:
        import pyspiel
    except ImportError as err:
        raise MissingOpenSpiel() from err
    return pyspiel


def pyspiel_available() -> bool:
    """Whether OpenSpiel can be imported here."""
    try:
        import_pyspiel()
    except MissingOpenSpiel:
        return False
    return True


_CALL = re.compile(r"^\s*([A-Za-z0-9_]+)\s*(?:\((.*)\))?\s*$", re.DOTALL)


def load_game(game: str, params: Mapping[str, Any] | None = None) -> Any:
    """Load ``game`` (a name, or OpenSpiel's ``"name(key=value,...)"`` form) with ``params``.

    Raises:
        MissingOpenSpiel: OpenSpiel is not installed.
        ValueError: an unknown game name or parameter (the message names it and suggests the
            closest registered names), a parameter of the wrong type, or a game that is not
            sequential (simultaneous-move games have no turn order to play as text).
    """
    pyspiel = import_pyspiel()
    if not isinstance(game, str):
        raise TypeError(f"game must be an OpenSpiel game name (str), got {type(game).__name__}")
    params = dict(params or {})
    match = _CALL.match(game)
    if match is None:
        raise ValueError(f"expected an OpenSpiel game name such as 'connect_four', got {game!r}")
    name, inline = match.group(1), match.group(2)
    names = list(pyspiel.registered_names())
    if name not in names:
        close = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise ValueError(
            f"unknown OpenSpiel game {name!r}.{hint} See pyspiel.registered_names() "
            f"({len(names)} games)."
        )
    if inline is not None and params:
        raise ValueError(f"give the parameters of {game!r} inline or in params=, not both")
    accepted = dict(pyspiel.registered_games()[names.index(name)].parameter_specification)
    for key in params:
        if key not in accepted:
            close = difflib.get_close_matches(key, list(accepted), n=2, cutoff=0.5)
            hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
            raise ValueError(
                f"OpenSpiel game {name!r} has no parameter {key!r}.{hint} "
                f"Its parameters: {', '.join(sorted(accepted)) or 'none'}."
            )
    try:
        loaded = pyspiel.load_game(game) if inline is not None else pyspiel.load_game(name, params)
    except (pyspiel.SpielError, RuntimeError, TypeError) as err:
        raise ValueError(
            f"cannot load OpenSpiel game {game!r} with params {params}: {err}"
        ) from err
    if loaded.get_type().dynamics != pyspiel.GameType.Dynamics.SEQUENTIAL:
        raise ValueError(
            f"OpenSpiel game {name!r} is not sequential ({loaded.get_type().dynamics}); "
            f"wrap it as 'turn_based_simultaneous_game(game={name}())' to play it in turns"
        )
    return loaded
