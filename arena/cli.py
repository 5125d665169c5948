"""``palaestra tournament CONFIG`` (run or resume a tournament from a TOML or YAML file) and
``palaestra play`` (one episode, its transcript printed)."""

from __future__ import annotations

import argparse

from palaestra.arena.text_tables import FORMATS


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "tournament",
        help="run a round-robin tournament from a config file",
        description="Play every seating of every game on the config's seeds, store the "
        "episodes in <output>/episodes.jsonl, then write ratings.json and the report.",
    )
    p.add_argument("config", help="tournament config (.toml or .yaml); see docs/arena.md")
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue the run in the output directory (a killed or aborted one), if any",
    )
    p.add_argument("--output", default=None, help="run directory (overrides the config)")
    p.add_argument("--backend", choices=("local", "ray"), default=None, help="where to play")
    p.add_argument("--concurrency", type=int, default=None, help="episodes in play at once")
    p.add_argument("--ray-address", default=None, help="Ray cluster address (default: local)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--no-report", action="store_true", help="skip the HTML report")
    p.add_argument(
        "--format",
        choices=FORMATS,
        default="rich",
        help="how to print the rating tables: rich (default; full width when stdout is not a "
        "terminal), plain, markdown or csv (then the progress bar and the closing lines go "
        "to stderr)",
    )
    p.set_defaults(handler=_tournament)

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


def _tournament(args: argparse.Namespace) -> int:
    from rich.console import Console

    from palaestra.arena.config import load_config
    from palaestra.arena.runner import AgentFailure
    from palaestra.arena.tournament import run_tournament

    overrides = {
        "output": args.output,
        "backend": args.backend,
        "concurrency": args.concurrency,
        "ray": {"address": args.ray_address} if args.ray_address else None,
    }
    config = load_config(args.config, overrides)
    # With CSV, stdout holds the CSV alone; the bar and the closing lines go to stderr.
    console = Console(stderr=args.format == "csv")
    try:
        result = run_tournament(
            config,
            resume=args.resume,
            progress=not args.no_progress,
            console=console,
            report=not args.no_report,
            table_format=args.format,
            table_console=Console(),
        )
    except ImportError as err:  # e.g. --backend ray without ray installed
        console.print(f"palaestra tournament: error: {err}", style="red", markup=False)
        return 2
    except AgentFailure as err:
        console.print(
            f"run aborted: {err}\nthe episodes played so far are in {config.run_dir}; "
            f"fix the agent and run again with --resume",
            style="red",
            markup=False,
        )
        return 1
    console.print(
        f"{result.played} episodes played ({result.scheduled} scheduled) -> {result.run_dir}",
        markup=False,
        soft_wrap=True,  # paths stay on one line, to be copied
    )
    console.print(f"ratings: {result.run_dir / 'ratings.json'}", markup=False, soft_wrap=True)
    if result.report is not None:
        console.print(f"report: {result.report}", markup=False, soft_wrap=True)
    return 0


def _play(args: argparse.Namespace) -> int:
    from rich.console import Console

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
