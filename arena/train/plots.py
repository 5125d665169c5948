"""Learning curves of a run: PNG plots and a small HTML report from ``metrics.jsonl``."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

TRAIN_PANELS = (
    ("train/reward", "training reward (policy seats)"),
    ("train/kl", "KL to reference (k3)"),
    ("train/entropy", "token entropy"),
    ("train/length", "response length (tokens)"),
    ("train/invalid_rate", "invalid-move rate"),
    ("train/clip_fraction", "clip fraction"),
)


def read_metrics(path: str | Path) -> list[dict[str, Any]]:
    """The rows of a ``metrics.jsonl``."""
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def eval_series(rows: list[dict[str, Any]], metric: str = "reward") -> dict[str, list[tuple]]:
    """``{"<game>/<opponent>": [(step, mean, low, high), ...]}`` for one evaluation metric."""
    out: dict[str, list[tuple]] = {}
    suffix = f"/{metric}"
    for row in rows:
        for key, value in row.items():
            if key.startswith("eval/") and key.endswith(suffix) and key != f"eval{suffix}":
                name = key[len("eval/") : -len(suffix)]
                low = row.get(f"{key}_low", value)
                high = row.get(f"{key}_high", value)
                out.setdefault(name, []).append((row["step"], value, low, high))
    return out


def plot_learning_curves(rows: list[dict[str, Any]], path: str | Path) -> Path:
    """Training panels and the held-out evaluation (with CIs) in one PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 4, figsize=(18, 7.5))
    flat = axes.ravel()
    train = [r for r in rows if "train/reward" in r]
    for ax, (key, title) in zip(flat, TRAIN_PANELS):
        pts = [(r["step"], r[key]) for r in train if isinstance(r.get(key), (int, float))]
        if pts:
            ax.plot(*zip(*pts), marker=".", lw=1)
        ax.set_title(title)
        ax.set_xlabel("step")
    for ax, metric in zip(flat[6:], ("reward", "win_rate")):
        for name, series in sorted(eval_series(rows, metric).items()):
            steps, mean, low, high = zip(*series)
            err = [[m - lo for m, lo in zip(mean, low)], [hi - m for m, hi in zip(mean, high)]]
            ax.errorbar(steps, mean, yerr=err, marker="o", capsize=3, label=name)
        ax.set_title(f"held-out {metric.replace('_', ' ')} (95% CI)")
        ax.set_xlabel("step")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def write_report(run_dir: str | Path) -> Path:
    """``learning_curves.png`` and ``report.html`` (the plot and the evaluation table)."""
    run_dir = Path(run_dir)
    rows = read_metrics(run_dir / "metrics.jsonl")
    png = plot_learning_curves(rows, run_dir / "learning_curves.png")
    table = []
    items = {  # distinct items (deals, questions) behind each interval
        (k[len("eval/") : -len("/reward_items")], r["step"]): v
        for r in rows
        for k, v in r.items()
        if k.startswith("eval/") and k.endswith("/reward_items")
    }
    for name, series in sorted(eval_series(rows).items()):
        for step, mean, low, high in series:
            table.append(
                f"<tr><td>{html.escape(name)}</td><td>{step}</td>"
                f"<td>{mean:.3f}</td><td>[{low:.3f}, {high:.3f}]</td>"
                f"<td>{items.get((name, step), '')}</td></tr>"
            )
    warnings = [
        f"<li>step {r['step']}: {html.escape(w)}</li>" for r in rows for w in r.get("warnings", [])
    ]
    page = (
        "<!doctype html><meta charset='utf-8'><title>palaestra training run</title>"
        f"<h1>Training run {html.escape(run_dir.name)}</h1>"
        f"<img src='{png.name}' style='max-width:100%'>"
        "<h2>Held-out evaluation (mean reward, 95% CI)</h2>"
        "<table border=1 cellpadding=4><tr><th>game/opponent</th><th>step</th><th>mean</th>"
        f"<th>CI</th><th>items</th></tr>{''.join(table)}</table>"
        f"<h2>Guard warnings</h2><ul>{''.join(warnings) or '<li>none</li>'}</ul>"
    )
    out = run_dir / "report.html"
    out.write_text(page)
    return out
