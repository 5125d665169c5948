"""Does one preconditioned update move each Kuhn state by its own signal? Measured on the model.

From a Kuhn self-play checkpoint (weights, AdamW state, league), one batch of real rollouts is
played once. Its samples get a synthetic advantage by the card named in the reply ("King: bet"):
the King should bet (+1 for bet, -1 for pass), the Queen should pass (-1 for bet, +1 for
pass), and the Jack gets none (its samples are dropped). With the KL term off, the same batch
then drives ``--updates`` updates at the checkpoint's learning rate, once with the plain
gradient and once with ``optim.precondition: prompt_kernel``, each from the same checkpoint;
both with AdamW's momentum off (the batch's own step, in the metric of the checkpoint's second
moment) and with the checkpoint's momentum as it is. P(bet) at the 12 information states is
read exactly before and after (the model's scored move probabilities, as
``kuhn_selfplay.py`` reads them).

A decoupled update moves the King's states up, the Queen's down, and leaves the Jack's alone.
A coupled one moves all twelve by a shared amount: the plain gradient's Queen and King
signals partly cancel in the shared direction, and what is left carries the Jack along.

    python benchmarks/learning/precondition_probe.py runs/kuhn-selfplay-s0pk --step 50

Writes ``results/kuhn-precondition-probe.json``.
"""

from __future__ import annotations

import argparse
import copy
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
TARGET = {"King": 1.0, "Queen": -1.0}  # + : bet is good, - : pass is good; the Jack: none
MOVES = {"bet": "bet", "call": "bet", "pass": "pass", "check": "pass", "fold": "pass"}


def synthetic_advantage(reply: str) -> float:
    """The probe's advantage of a reply ``"<Card>: <move>"`` (0 for the Jack or no move)."""
    card, _, move = reply.strip().partition(":")
    sign = TARGET.get(card.strip(), 0.0)
    words = move.strip().split()
    move = MOVES.get(words[0].strip(".,!").lower(), "") if words else ""
    if not move:
        return 0.0
    return sign if move == "bet" else -sign


def _p_bet(trainer: Any, game_kwargs: dict[str, Any]) -> dict[str, float]:
    from kuhn_selfplay import _table

    from palaestra.arena.exact import exploitability_of

    result = exploitability_of(trainer.policy.agent, "kuhn-poker-v0", method="scored",
                               **game_kwargs)  # fmt: skip
    out = {row["state"]: float(row["p_bet"]) for row in _table(result)}
    out["exploitability"] = float(result.exploitability)
    return out


def _copy_run(run_dir: Path, step: int, into: Path) -> Path:
    """The run folder with its checkpoints after ``step`` left out (resume picks ``step``)."""
    target = into / run_dir.name
    shutil.copytree(run_dir, target, ignore=shutil.ignore_patterns("step-*", "episodes.jsonl"))
    name = f"step-{step:06d}"
    shutil.copytree(run_dir / "checkpoints" / name, target / "checkpoints" / name)
    return target


def probe(run_dir: Path, step: int, updates: int, threads: int) -> dict[str, Any]:
    import torch

    torch.set_num_threads(threads)
    from palaestra.arena.train.config import parse_config
    from palaestra.arena.train.policy import POLICY_NAME
    from palaestra.arena.train.samples import build_samples
    from palaestra.arena.train.trainer import Trainer

    data = json.loads((run_dir / "config.json").read_text())
    data["loss"]["kl_coef"] = 0.0
    data["optim"]["precondition"] = "none"
    out: dict[str, Any] = {"run": str(run_dir), "step": step, "updates": updates}
    with tempfile.TemporaryDirectory() as tmp:
        folder = _copy_run(run_dir, step, Path(tmp))
        data["run_dir"] = str(folder)
        trainer = Trainer(parse_config(data), resume=True)
        game_kwargs = dict(trainer.config.stages[0].games[0].kwargs)
        lr = trainer.config.optim.lr_at(trainer.step, trainer.config.steps)
        weights = {k: v.clone() for k, v in trainer.policy.trainable_state().items()}
        # A deep copy: AdamW updates its state tensors in place.
        optimizer = copy.deepcopy(trainer.optimizer.state_dict())
        started = time.perf_counter()
        records = list(trainer.runner.run(trainer.rollout_jobs()))
        samples = build_samples(records, {POLICY_NAME}, trainer.config, set())
        tokenizer = trainer.policy.tokenizer
        batch = []
        for s in samples:
            reply = tokenizer.decode(s.completion_ids, skip_special_tokens=True)
            s.advantage = synthetic_advantage(reply)
            if s.advantage:
                batch.append(s)
        out["rollout_s"] = time.perf_counter() - started
        out["samples"] = len(samples)
        out["replies_seen"] = sorted({tokenizer.decode(s.completion_ids) for s in samples})[:12]
        out["batch"] = len(batch)
        out["lr"] = lr
        out["before"] = _p_bet(trainer, game_kwargs)
        for momentum in (False, True):
            key = "with_momentum" if momentum else "without_momentum"
            out[key] = {}
            for mode in ("none", "prompt_kernel"):
                trainer.policy.load_trainable_state(weights)
                trainer.optimizer.load_state_dict(copy.deepcopy(optimizer))
                for group in trainer.optimizer.param_groups:
                    # Without momentum the step is the batch's own, in AdamW's metric (its
                    # second moment as the checkpoint has it); with it, the checkpoint's first
                    # moment carries its last steps' direction into the probe.
                    group["lr"] = lr
                    if not momentum:
                        group["betas"] = (0.0, group["betas"][1])
                optim = trainer.config.optim.model_copy(update={"precondition": mode})
                trainer.config = trainer.config.model_copy(update={"optim": optim})
                rows, seconds = [], []
                for _ in range(updates):
                    t0 = time.perf_counter()
                    rows.append(trainer.update(batch))
                    seconds.append(time.perf_counter() - t0)
                after = _p_bet(trainer, game_kwargs)
                moved = {k: after[k] - out["before"][k] for k in after if k != "exploitability"}
                out[key][mode] = {
                    "after": after,
                    "moved": moved,
                    "moved_by_card": {
                        card: sum(v for k, v in moved.items() if k[0] == card[0]) / 4
                        for card in ("Jack", "Queen", "King")
                    },
                    "update_s": seconds,
                    "metrics": rows[-1],
                }
                by_card = {k: round(v, 3) for k, v in out[key][mode]["moved_by_card"].items()}
                print(key, mode, by_card, flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--step", type=int, default=50, help="the checkpoint to start from")
    parser.add_argument("--updates", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    out = probe(args.run_dir, args.step, args.updates, args.threads)
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / "kuhn-precondition-probe.json"
    path.write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
