"""``palaestra envs`` and ``palaestra play``."""

from __future__ import annotations

import argparse

from rich.console import Console
from rich.table import Table


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("envs", help="list the games")
    p.set_defaults(handler=_envs)

    p = sub.add_parser("play", help="play one episode and print the transcript")
    p.add_argument("env_id", help="env id, e.g. negotiation-v0 (see 'palaestra envs')")
    p.add_argument(
        "specs",
        nargs="+",
        metavar="SPEC",
        help="one agent spec per role, in seat order (e.g. random, human, "
        "scripted:negotiation/fair)",
    )
    p.add_argument("--seed", type=int, default=0, help="episode seed (default 0)")
    p.add_argument(
        "--invalid-move",
        choices=("retry", "penalty", "forfeit"),
        default=None,
        help="invalid-move policy (default: the env's, retry)",
    )
    p.set_defaults(handler=_play)


def _envs(args: argparse.Namespace) -> int:
    from palaestra.envs import list_envs, spec

    table = Table(title="palaestra games")
    for col in ("id", "gymnasium id", "roles", "description"):
        table.add_column(col)
    for env_id in list_envs():
        s = spec(env_id)
        info = s.make_game().info
        table.add_row(env_id, s.gym_id, ", ".join(info.roles), info.description)
    Console().print(table)
    return 0


def _play(args: argparse.Namespace) -> int:
    from palaestra.agents import make_agent
    from palaestra.arena.play import play_episode

    agents = [make_agent(s) for s in args.specs]
    kwargs = {"invalid_move": args.invalid_move} if args.invalid_move else {}
    result = play_episode(args.env_id, agents, seed=args.seed, **kwargs)
    console = Console()
    console.print(result.transcript, markup=False, highlight=False)
    console.print()
    for role, value in result.returns.items():
        console.print(f"{role} ({result.seating[role]}): {value:g}", markup=False)
    for error in result.errors:
        console.print(f"agent error: {error}", style="red", markup=False)
    return 0
