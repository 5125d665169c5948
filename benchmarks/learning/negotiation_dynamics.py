"""What a negotiation self-play run's episodes did, step by step: how greed took over.

    python benchmarks/learning/negotiation_dynamics.py RUN_DIR
    python benchmarks/learning/negotiation_dynamics.py RUN_DIR --name negotiation-selfplay

Reads the run's ``episodes.jsonl`` (``log_episodes: true``) and replays every training episode
through the match runner with its recorded seed, arguments and texts, so that each opening
offer is read by the env's own parser and the replayed returns are checked against the
recorded ones (a mismatch stops the script). Per training step it reports:

* ``agreement``: the share of episodes that ended in a deal;
* ``take_all``: the share of alice's valid opening offers that ask for the whole pool (the
  prompt shows that offer as an example of the format);
* ``opening_ask``: the mean value, to alice, of what her valid opening offers ask for
  (out of 10);
* ``opening_accepted``: the share of valid opening offers that bob accepted on the next move;
* ``alice`` / ``bob``: the seats' mean returns, and ``invalid``: invalid moves per move.

Writes ``results/<name>-dynamics.json`` and ``.png`` (``name``: the run folder's name).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

from palaestra.arena.records import EpisodeRecord
from palaestra.arena.runner import EpisodeJob, MatchRunner
from palaestra.arena.summary import read_episodes
from palaestra.envs.negotiation.rules import complement, points
from palaestra.envs.protocol import Observation
from palaestra.envs.scripted import ScriptedAgent

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"


class _Replayer(ScriptedAgent):
    """Says one seat's recorded texts in order and keeps the observations it was shown."""

    def __init__(self, texts: list[str]) -> None:
        super().__init__(name="replay")
        self.texts = iter(texts)
        self.seen: list[Observation] = []

    def reply(self, obs: Observation) -> str:
        self.seen.append(obs)
        return next(self.texts)


def replay(record: EpisodeRecord) -> dict[str, Any]:
    """One episode's figures, from replaying its texts through the match runner."""
    seats = {
        role: _Replayer([t.text for t in record.turns if t.role == role]) for role in record.seating
    }
    job = EpisodeJob(record.env_id, record.seed, dict(seats), env_kwargs=dict(record.env_kwargs),
                     episode_id=record.episode_id)  # fmt: skip
    (again,) = MatchRunner().run([job])
    if again.returns != record.returns:
        raise ValueError(f"{record.episode_id}: replayed returns {again.returns} != recorded "
                         f"{record.returns}: the env changed since the run")  # fmt: skip
    first, other = record.turns[0].role, record.turns[1].role if len(record.turns) > 1 else None
    mine = seats[first].seen[0].facts  # the opener's pool and values
    theirs = seats[other].seen[0].facts if other else None  # what the opening left them
    standing = None if theirs is None else theirs["standing_offer"]
    opening = None if standing is None else complement(tuple(mine["counts"]), tuple(standing))
    agreed = bool(record.info.get("agreement"))
    return {
        "agreement": agreed,
        "opening": opening,
        "take_all": opening is not None and opening == tuple(mine["counts"]),
        "opening_ask": None if opening is None else points(tuple(mine["values"]), opening),
        "opening_accepted": opening is not None and agreed and len(record.turns) == 2,
        "returns": record.returns,
        "invalid": sum(not t.valid for t in record.turns),
        "moves": len(record.turns),
    }


def dynamics(records: list[EpisodeRecord]) -> list[dict[str, Any]]:
    """Per-step figures over the training episodes (``meta.step``) of ``records``."""
    by_step: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        step = r.meta.get("step")
        if step is not None:
            by_step[int(step)].append(replay(r))
    rows = []
    for step, eps in sorted(by_step.items()):
        openings = [e for e in eps if e["opening"] is not None]
        n, k = len(eps), len(openings)
        rows.append(
            {
                "step": step,
                "episodes": n,
                "agreement": sum(e["agreement"] for e in eps) / n,
                "valid_openings": k,
                "take_all": sum(e["take_all"] for e in openings) / k if k else None,
                "opening_ask": sum(e["opening_ask"] for e in openings) / k if k else None,
                "opening_accepted": sum(e["opening_accepted"] for e in openings) / k if k else None,
                "alice": sum(float(e["returns"]["alice"]) for e in eps) / n,
                "bob": sum(float(e["returns"]["bob"]) for e in eps) / n,
                "invalid": sum(e["invalid"] for e in eps) / max(1, sum(e["moves"] for e in eps)),
            }
        )
    return rows


def plot(rows: list[dict[str, Any]], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = [r["step"] for r in rows]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 6), sharex=True)
    shares = {
        "agreement": "deals",
        "take_all": "openings asking for everything",
        "opening_accepted": "openings accepted",
        "invalid": "invalid moves",
    }
    for key, label in shares.items():
        top.plot(steps, [r[key] for r in rows], marker=".", label=label)
    top.set_ylabel("share")
    top.set_ylim(-0.02, 1.02)
    top.legend(fontsize=8)
    top.set_title(title)
    for key in ("alice", "bob", "opening_ask"):
        label = "alice's opening ask (value to her)" if key == "opening_ask" else f"{key}'s return"
        bottom.plot(steps, [r[key] for r in rows], marker=".", label=label)
    bottom.set_ylabel("points (of 10)")
    bottom.set_xlabel("training step")
    bottom.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", type=Path, help="a run folder with episodes.jsonl")
    parser.add_argument("--name", default=None, help="result file stem (default: the folder's)")
    args = parser.parse_args(argv)
    path = args.run_dir / "episodes.jsonl"
    if not path.exists():
        parser.error(f"no {path} (the run needs log_episodes: true)")
    rows = dynamics(read_episodes(path))
    if not rows:
        parser.error(f"{path} holds no training episodes")
    name = args.name or args.run_dir.name
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"{name}-dynamics.json"
    out.write_text(json.dumps({"run_dir": str(args.run_dir), "steps": rows}, indent=1) + "\n")
    plot(rows, out.with_suffix(".png"), f"{name}: training episodes per step")
    for r in rows:
        ta = "-" if r["take_all"] is None else f"{r['take_all']:.2f}"
        print(f"step {r['step']:3d} deals {r['agreement']:.2f} take-all {ta} "
              f"alice {r['alice']:+.2f} bob {r['bob']:+.2f}")  # fmt: skip
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
