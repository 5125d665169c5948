"""``palaestra envs``: the registered games. (``play`` needs agents, so it lives in
:mod:`palaestra.arena.cli`.)"""

from __future__ import annotations

import argparse

from rich.console import Console
from rich.table import Table


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("envs", help="list the games")
    p.set_defaults(handler=_envs)


def _envs(args: argparse.Namespace) -> int:
    from palaestra.envs import list_envs, spec

    table = Table(title="palaestra games")
    for col in ("id", "gymnasium id", "roles", "description"):
        table.add_column(col)
    for env_id in list_envs(include_unavailable=True):
        s = spec(env_id)
        if not s.available:  # an optional extra is missing: say how to get it
            table.add_row(env_id, s.gym_id, "-", f"unavailable: {s.install_hint}")
            continue
        info = s.make_game().info
        table.add_row(env_id, s.gym_id, ", ".join(info.roles), info.description)
    Console().print(table)
    return 0
