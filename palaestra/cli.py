"""The ``palaestra`` command line.

Each package contributes its commands through an ``add_commands(subparsers)`` function in its
``cli`` module, listed in :data:`COMMAND_MODULES`.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

COMMAND_MODULES = (
    "palaestra.envs.cli",  # envs
    "palaestra.agents.cli",  # models, serve
    "palaestra.arena.cli",  # tournament, play
    "palaestra.arena.report",  # report
    "palaestra.arena.exact",  # evaluate exploitability
    "palaestra.arena.train.cli",  # train
    "palaestra.arena.ladder",  # ladder
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="palaestra",
        description="Language models play text games against each other, and get better by it.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as err:
            if (err.name or "").startswith("palaestra."):  # that part of palaestra is absent
                continue
            raise
        module.add_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        return int(args.handler(args) or 0)
    except (ValueError, KeyError, FileNotFoundError) as err:
        print(f"palaestra {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
