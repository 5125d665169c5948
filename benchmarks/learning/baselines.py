"""Simple baselines on the learning benchmarks' held-out evaluations.

    python benchmarks/learning/baselines.py              # negotiation and quiz
    python benchmarks/learning/baselines.py negotiation  # one of them

A learned policy is only worth its training if it beats what needs no training: the teacher
it was warm-started from, and the best constant reply (one fixed string, whatever the
prompt). Each baseline here plays the policy's seats through the trainer's own held-out
evaluation (:meth:`~palaestra.arena.train.trainer.Trainer.evaluate`: the config's ``eval``
seeds, opponents, game arguments and :func:`~palaestra.arena.train.evaluation.seat_metrics`,
with its item-clustered intervals), so its figures sit next to the learning results as they
are. No model is loaded.

Baselines:

* **negotiation** (``negotiation.yaml``: alice vs ``scripted:negotiation/fair``, 64 seeds
  from 1,000,000): the constant ``OFFER: book=1 hat=1 ball=0``; the teachers
  ``scripted:negotiation/accept`` (the warm start's) and ``scripted:negotiation/fair``; and
  the best constant offer, searched over every ``OFFER: book=a hat=b ball=c`` (0 to 4 each)
  on 64 *selection* seeds from 3,000,000 (apart from training, held-out and warm-start seeds)
  and then played on the held-out seeds. The offer that scores most on the held-out seeds
  themselves is reported too, marked as selected on them (an optimistic figure).
* **quiz** (``quiz-warm.yaml``: 96 test-split seeds from 1,000,000): the constant
  "I don't know"; the constant answer that is most common among the train split's
  answerable questions; the teachers ``scripted:quiz/reader`` and ``scripted:quiz/guesser``.

Writes ``benchmarks/learning/results/baselines.json``: per benchmark and baseline, the
held-out metrics (``reward`` with its 95% interval and ``reward_items``, win rate, invalid
rate, quiz verdict rates), the learned result it is to be compared with (read from
``results/<name>.json``), the search table, the wall time and the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from palaestra.agents import make_agent
from palaestra.agents.base import CallableAgent
from palaestra.arena.runner import MatchRunner
from palaestra.arena.train.config import TrainConfig, load_config
from palaestra.arena.train.league import League
from palaestra.arena.train.policy import POLICY_NAME
from palaestra.arena.train.trainer import Trainer
from palaestra.envs.protocol import Action, Agent, Observation

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
SELECTION_SEED_START = 3_000_000
NEGOTIATION_USER_REPLY = "OFFER: book=1 hat=1 ball=0"
ABSTAIN = "I don't know"


class SeatedAs:
    """An agent that plays under another name (the evaluation scores the seats named
    :data:`POLICY_NAME`)."""

    def __init__(self, inner: Agent, name: str = POLICY_NAME) -> None:
        self.inner = inner
        self.name = name

    def act(self, observations: Sequence[Observation]) -> list[Action]:
        return self.inner.act(observations)

    def reset(self) -> None:
        self.inner.reset()


def constant(reply: str) -> CallableAgent:
    """An agent that answers ``reply`` to every prompt."""
    return CallableAgent(lambda _prompt: reply, name=POLICY_NAME)


def heldout(config: TrainConfig, player: Agent, seed_start: int | None = None) -> dict[str, Any]:
    """The trainer's held-out evaluation of ``config`` with ``player`` in the policy's seats.

    :meth:`Trainer.evaluate` runs on a trainer shell that holds what it reads (config,
    runner, league, agent caches, the policy's agent) instead of a loaded model.
    ``seed_start`` replaces ``eval.seed_start`` (the selection seeds of the offer search).
    """
    if seed_start is not None:
        config = config.model_copy(
            update={"eval": config.eval.model_copy(update={"seed_start": seed_start})}
        )
    shell = Trainer.__new__(Trainer)
    shell.config = config
    shell.runner = MatchRunner(concurrency=64)
    shell.step = 0
    shell.league = League()
    shell._agents = {}
    shell._roles = {}
    shell.policy = SimpleNamespace(agent=player)
    return Trainer.evaluate(shell)


def _figures(metrics: dict[str, Any]) -> dict[str, Any]:
    """The per-(game, opponent) metrics without their ``eval/<game>/<opponent>/`` prefix."""
    keys = [k for k in metrics if k.count("/") >= 2]
    (prefix,) = {k.rsplit("/", 1)[0] for k in keys}
    return {k.rsplit("/", 1)[1]: v for k, v in metrics.items() if k.startswith(prefix + "/")}


def _learned(name: str) -> dict[str, Any]:
    path = RESULTS / f"{name}.json"
    if not path.exists():
        return {}
    data = json.loads(path.read_text())
    return {k: {"before": v["before"], "after": v["after"]} for k, v in data["held_out"].items()}


def negotiation() -> dict[str, Any]:
    config = load_config(HERE / "negotiation.yaml")
    out: dict[str, Any] = {"config": "benchmarks/learning/negotiation.yaml", "baselines": {}}
    base = out["baselines"]
    base[f"constant {NEGOTIATION_USER_REPLY!r}"] = _figures(
        heldout(config, constant(NEGOTIATION_USER_REPLY))
    )
    for spec in ("scripted:negotiation/accept", "scripted:negotiation/fair"):
        base[f"teacher {spec}"] = _figures(heldout(config, SeatedAs(make_agent(spec))))
    offers = [
        f"OFFER: book={a} hat={b} ball={c}" for a in range(5) for b in range(5) for c in range(5)
    ]
    selection = {
        o: _figures(heldout(config, constant(o), SELECTION_SEED_START))["reward"] for o in offers
    }
    best = max(offers, key=lambda o: selection[o])
    base[f"best constant offer on selection seeds {best!r}"] = _figures(
        heldout(config, constant(best))
    )
    held = {o: _figures(heldout(config, constant(o)))["reward"] for o in offers}
    best_held = max(offers, key=lambda o: held[o])
    base[f"best constant offer selected on the held-out seeds {best_held!r} (optimistic)"] = (
        _figures(heldout(config, constant(best_held)))
    )
    out["search"] = {
        "candidates": len(offers),
        "selection_seeds": [SELECTION_SEED_START, SELECTION_SEED_START + config.eval.episodes - 1],
        "top10_on_selection_seeds": sorted(selection.items(), key=lambda kv: -kv[1])[:10],
        "top10_on_heldout_seeds": sorted(held.items(), key=lambda kv: -kv[1])[:10],
    }
    out["learned"] = _learned("negotiation")
    return out


def _most_common_train_answer() -> str:
    from palaestra.envs.quiz.rules import bundled_items

    counts = Counter(
        item.answers[0] for item in bundled_items() if item.split == "train" and item.answerable
    )
    return counts.most_common(1)[0][0]


def quiz() -> dict[str, Any]:
    config = load_config(HERE / "quiz-warm.yaml")
    out: dict[str, Any] = {"config": "benchmarks/learning/quiz-warm.yaml", "baselines": {}}
    base = out["baselines"]
    base[f"constant {ABSTAIN!r}"] = _figures(heldout(config, constant(ABSTAIN)))
    common = _most_common_train_answer()
    base[f"constant 'ANSWER: {common}' (most common train-split answer)"] = _figures(
        heldout(config, constant(f"ANSWER: {common}"))
    )
    for spec in ("scripted:quiz/reader", "scripted:quiz/guesser"):
        base[f"teacher {spec}"] = _figures(heldout(config, SeatedAs(make_agent(spec))))
    out["learned"] = _learned("quiz-warm")
    return out


BENCHMARKS = {"negotiation": negotiation, "quiz": quiz}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help=f"some of {list(BENCHMARKS)} (default: all)")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s) {unknown}; expected some of {list(BENCHMARKS)}")
    path = RESULTS / "baselines.json"
    results: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    for name in args.names or list(BENCHMARKS):
        started = time.perf_counter()
        results[name] = BENCHMARKS[name]()
        results[name]["wall_seconds"] = round(time.perf_counter() - started, 1)
        for label, m in results[name]["baselines"].items():
            print(
                f"{name:12s} {m['reward']:+.3f} [{m['reward_low']:+.3f}, "
                f"{m['reward_high']:+.3f}] items {m['reward_items']:3d}  {label}"
            )
    results["machine"] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "note": "scripted play only (no model); the machine was shared with other jobs",
    }
    RESULTS.mkdir(exist_ok=True)
    path.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
