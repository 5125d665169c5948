"""``palaestra train CONFIG [--resume]``."""

from __future__ import annotations

import argparse
import logging


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train",
        help="self-play training of an hf: or vllm: policy (see docs/training.md)",
        description="Train an hf: or vllm: policy on games against a league of opponents; writes "
        "checkpoints, metrics.jsonl, learning_curves.png and report.html to the run directory.",
    )
    p.add_argument("config", help="training config (YAML or JSON)")
    p.add_argument("--resume", action="store_true", help="continue from the last checkpoint")
    p.add_argument("--run-dir", default=None, help="override the config's run_dir")
    p.add_argument("--steps", type=int, default=None, help="override the config's steps")
    p.set_defaults(handler=_train)


def _train(args: argparse.Namespace) -> int:
    from palaestra.arena.train.config import load_config, parse_config
    from palaestra.arena.train.trainer import Trainer

    config = load_config(args.config)
    overrides = {}
    if args.run_dir is not None:
        overrides["run_dir"] = args.run_dir
    if args.steps is not None:
        overrides["steps"] = args.steps
    if overrides:
        config = parse_config({**config.model_dump(), **overrides})
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    trainer = Trainer(config, resume=args.resume)
    trainer.run()
    print(f"run written to {trainer.run_dir}")
    return 0
