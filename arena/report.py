"""``palaestra report RUN_DIR``: a self-contained HTML page, PNG plots and CSV/JSON tables.

:func:`write_report` reads a run directory's ``episodes.jsonl`` and writes, next to it::

    ratings.json          the summary (see palaestra.arena.summary.summarize)
    report.html           one file, no external assets: plots embedded as base64 PNG,
                          transcripts embedded as JSON and shown by a few lines of inline JS
    plots/*.png           ratings with error bars, the head-to-head heatmap and online Elo
                          over the run, per section
    tables/*.csv          ratings, head_to_head, win_probability, rewards, clemscore
    tables/tables.json    the same tables as lists of rows
"""

from __future__ import annotations

import argparse
import base64
import csv
import html
import io
import json
import math
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from palaestra.arena.ratings import RATERS, Elo
from palaestra.arena.records import EpisodeRecord
from palaestra.arena.stats import comparisons
from palaestra.arena.summary import (
    OVERALL,
    SummaryOptions,
    print_summary,
    read_episodes,
    save_summary,
    write_ratings,
)
from palaestra.arena.text_tables import FORMATS

REPORT_FILE = "report.html"
PLOTS_DIR = "plots"
TABLES_DIR = "tables"


# -- tables -------------------------------------------------------------------------------------
def summary_tables(summary: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The summary flattened into row tables, one row dict per line of the CSV files.

    Every row carries ``section`` (``"overall"`` or the env id). A ``ratings`` row is one
    agent under one method: ``rating``, its confidence interval ``ci_low``–``ci_high`` at level
    ``ci_level``, and ``ci_method``, how the method computes that interval.
    """
    tables: dict[str, list[dict[str, Any]]] = {
        "ratings": [],
        "head_to_head": [],
        "win_probability": [],
        "rewards": [],
        "clemscore": [],
    }
    for name, section in summary["sections"].items():
        for method, table in section["ratings"].items():
            for row in (table or {}).get("ratings", []):
                tables["ratings"].append(
                    {
                        "section": name,
                        "method": method,
                        "agent": row["agent"],
                        "rating": row["rating"],
                        "ci_low": row["ci_low"],
                        "ci_high": row["ci_high"],
                        "ci_level": table["confidence"],
                        "ci_method": table["interval"],
                        "games": row["games"],
                    }
                )
        h2h = section["head_to_head"]
        for i, agent in enumerate(h2h["agents"]):
            for j, opponent in enumerate(h2h["agents"]):
                w, d, lost = h2h["wins"][i][j], h2h["draws"][i][j], h2h["losses"][i][j]
                if i == j or w + d + lost == 0:
                    continue
                tables["head_to_head"].append(
                    {
                        "section": name,
                        "agent": agent,
                        "opponent": opponent,
                        "wins": w,
                        "draws": d,
                        "losses": lost,
                        "score_rate": round((w + 0.5 * d) / (w + d + lost), 4),
                    }
                )
        for agent, row in section["win_probability"].items():
            for opponent, p in row.items():
                tables["win_probability"].append(
                    {"section": name, "agent": agent, "opponent": opponent, "p_win": p}
                )
        if name != OVERALL:  # the overall section repeats the per-game reward rows
            tables["rewards"].extend({"section": name, **row} for row in section["rewards"])
        tables["clemscore"].extend({"section": name, **row} for row in section["clemscore"])
    return tables


def write_tables(tables: dict[str, list[dict[str, Any]]], folder: Path) -> list[Path]:
    """Write one CSV per table and ``tables.json`` into ``folder``; return the paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, rows in tables.items():
        path = folder / f"{name}.csv"
        columns = list(dict.fromkeys(key for row in rows for key in row)) or ["section"]
        with path.open("w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=columns)
            writer.writeheader()
            writer.writerows(rows)
        paths.append(path)
    path = folder / "tables.json"
    path.write_text(json.dumps(tables, indent=1, allow_nan=False) + "\n", encoding="utf-8")
    paths.append(path)
    return paths


# -- plots --------------------------------------------------------------------------------------
def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return buf.getvalue()


def plot_ratings(section: dict[str, Any], title: str, ci: str = "95%") -> bytes | None:
    """Bradley–Terry ratings with their bootstrap CIs (and averaged Elo) as a PNG."""
    from matplotlib.figure import Figure  # no pyplot: no global backend or figure state

    bt = section["ratings"].get("bradley_terry")
    if not bt or not bt["ratings"]:
        return None
    rows = list(reversed(bt["ratings"]))  # best at the top
    fig = Figure(figsize=(6.4, 0.9 + 0.45 * len(rows)))
    ax = fig.add_subplot()
    y = list(range(len(rows)))
    ratings = [r["rating"] for r in rows]
    lows = [r["rating"] - r["ci_low"] if r["ci_low"] is not None else 0.0 for r in rows]
    highs = [r["ci_high"] - r["rating"] if r["ci_high"] is not None else 0.0 for r in rows]
    ax.errorbar(ratings, y, xerr=[lows, highs], fmt="o", capsize=4, label=f"Bradley–Terry, {ci} CI")
    elo = {
        r["agent"]: r["rating"] for r in (section["ratings"].get("elo") or {}).get("ratings", [])
    }
    ax.plot(
        [elo.get(r["agent"], math.nan) for r in rows],
        y,
        "x",
        color="grey",
        label="Elo (mean over orders)",
    )
    ax.set_yticks(y, [r["agent"] for r in rows])
    ax.set_xlabel("rating (Elo scale)")
    ax.set_title(title)
    ax.grid(axis="x", alpha=0.3)
    ax.legend(loc="best", fontsize="small")
    return _png(fig)


def plot_head_to_head(section: dict[str, Any], title: str) -> bytes | None:
    """Heatmap of the row agent's score rate against the column agent, with W-D-L counts."""
    import numpy as np
    from matplotlib.figure import Figure

    h2h = section["head_to_head"]
    agents = _agent_order(section)
    if len(agents) < 2:
        return None
    perm = [h2h["agents"].index(a) for a in agents]  # strongest first reads best
    wins, draws, losses = (
        np.array(h2h[k], dtype=float)[np.ix_(perm, perm)] for k in ("wins", "draws", "losses")
    )
    games = wins + draws + losses
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(games > 0, (wins + 0.5 * draws) / games, np.nan)
    size = 1.6 + 0.75 * len(agents)
    fig = Figure(figsize=(size + 1.2, size))
    ax = fig.add_subplot()
    image = ax.imshow(np.ma.masked_invalid(rate), cmap="RdYlGn", vmin=0.0, vmax=1.0)
    for i in range(len(agents)):
        for j in range(len(agents)):
            if games[i, j] > 0:
                text = f"{rate[i, j]:.2f}\n{int(wins[i, j])}-{int(draws[i, j])}-{int(losses[i, j])}"
                ax.text(j, i, text, ha="center", va="center", fontsize=8)
    ax.set_xticks(range(len(agents)), agents, rotation=45, ha="right")
    ax.set_yticks(range(len(agents)), agents)
    ax.set_xlabel("opponent")
    ax.set_title(title)
    fig.colorbar(image, ax=ax, label="score rate of row vs column (draw = ½)")
    return _png(fig)


def plot_elo_history(records: Sequence[EpisodeRecord], title: str, k: float = 32.0) -> bytes | None:
    """Online Elo of every agent over the run, in the order the episodes were recorded."""
    from matplotlib.figure import Figure

    comps = comparisons(records)
    if not comps:
        return None
    agents, history = Elo(k=k).history(comps)
    fig = Figure(figsize=(6.4, 3.6))
    ax = fig.add_subplot()
    for k, agent in enumerate(agents):
        ax.plot(range(len(history)), history[:, k], label=agent, linewidth=1.2)
    ax.set_xlabel("episodes with a pairwise result")
    ax.set_ylabel(f"online Elo (k={k:g})")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize="small")
    return _png(fig)


# -- HTML ---------------------------------------------------------------------------------------
CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 72em; padding: 0 1em;
       color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.92em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { background: #f3f3f3; }
section.game { border-top: 2px solid #ddd; margin-top: 2em; }
img { max-width: 100%; }
pre { white-space: pre-wrap; background: #f8f8f8; padding: 0.5em; margin: 0.2em 0; }
.turn { border-left: 4px solid #8ab; padding-left: 0.6em; margin: 0.8em 0; }
.turn.invalid { border-left-color: #d55; }
.muted { color: #777; font-size: 0.9em; }
#episode-select { width: 100%; }
"""

VIEWER_JS = """
const episodes = JSON.parse(document.getElementById('episode-data').textContent);
const select = document.getElementById('episode-select');
const filter = document.getElementById('episode-filter');
const view = document.getElementById('episode-view');
function el(tag, text, cls) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (cls) node.className = cls;
  return node;
}
function fold(label, text) {
  const d = el('details'); d.appendChild(el('summary', label)); d.appendChild(el('pre', text));
  return d;
}
function show(index) {
  const ep = episodes[index];
  view.replaceChildren();
  view.appendChild(el('h3', ep.id));
  const seats = Object.entries(ep.seating).map(([r, a]) => `${r}: ${a} (${ep.returns[r]})`);
  view.appendChild(el('p', `${ep.env} · seed ${ep.seed} · ${seats.join(' · ')}`));
  view.appendChild(el('p', `outcome: ${ep.outcome || '-'}`));
  for (const e of ep.errors) {
    view.appendChild(el('p', `agent error: ${e.role} (${e.agent}): ${e.error}`, 'muted'));
  }
  const prompts = {};
  for (const t of ep.turns) {
    const box = el('div', undefined, t.valid ? 'turn' : 'turn invalid');
    let head = `turn ${t.turn} · ${t.role} (${t.agent}) · reward ${t.reward}`;
    if (!t.valid) head += ` · invalid: ${t.reason}`;
    box.appendChild(el('div', head, 'muted'));
    const prompt = (prompts[t.role] || '').slice(0, t.prompt_keep) + t.prompt_tail;
    prompts[t.role] = prompt;
    if (prompt) box.appendChild(fold(`what ${t.role} saw`, prompt));
    if (t.reasoning) box.appendChild(fold('reasoning (never shown to other players)', t.reasoning));
    box.appendChild(el('pre', t.text));
    view.appendChild(box);
  }
  if (Object.keys(ep.info).length) {
    view.appendChild(fold('game summary', JSON.stringify(ep.info, null, 2)));
  }
}
filter.addEventListener('input', () => {
  const needle = filter.value.toLowerCase();
  for (const option of select.options) option.hidden = !option.text.toLowerCase().includes(needle);
});
select.addEventListener('change', () => show(Number(select.value)));
if (episodes.length) show(0);
"""


def _episode_data(records: Sequence[EpisodeRecord], prompts: bool) -> list[dict[str, Any]]:
    """Episodes for the viewer; each prompt stored as what it adds to the seat's last one.

    A seat's prompts grow by appending ("Prompts that only grow" in docs/design.md), so
    keeping only the new tail makes the page about as large as the transcripts instead of
    quadratic in their length.
    """
    out = []
    for r in records:
        last: dict[str, str] = {}
        turns = []
        for t in r.turns:
            keep, tail = 0, ""
            if prompts:
                # character-wise common prefix is what is wanted here, not path components
                keep = len(os.path.commonprefix([last.get(t.role, ""), t.prompt]))  # noqa: RUF071
                tail = t.prompt[keep:]
                last[t.role] = t.prompt
            turns.append(
                {
                    "role": t.role,
                    "agent": t.agent,
                    "turn": t.turn,
                    "text": t.text,
                    "reasoning": t.reasoning,
                    "valid": t.valid,
                    "reason": t.reason,
                    "reward": t.reward,
                    "prompt_keep": keep,
                    "prompt_tail": tail,
                }
            )
        out.append(
            {
                "id": r.episode_id,
                "env": r.env_id,
                "seed": r.seed,
                "seating": r.seating,
                "returns": r.returns,
                "outcome": r.outcome,
                "errors": r.errors,
                "info": r.info,
                "turns": turns,
            }
        )
    return out


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _num(value: Any, digits: int = 0) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.{digits}f}" if isinstance(value, (int, float)) else _e(value)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _img(png: bytes | None, alt: str) -> str:
    if png is None:
        return ""
    data = base64.b64encode(png).decode("ascii")
    return f'<p><img alt="{_e(alt)}" src="data:image/png;base64,{data}"></p>'


def _section_html(
    name: str, section: dict[str, Any], plots: dict[str, bytes | None], ci: str
) -> str:
    clem = {r["agent"]: r for r in section["clemscore"]}
    h2h = section["head_to_head"]
    agents = _agent_order(section)
    tables = [(rater, section["ratings"].get(rater.key)) for rater in RATERS]
    tables = [(rater, t) for rater, t in tables if t and t["ratings"]]
    rated = {rater.key: {r["agent"]: r for r in t["ratings"]} for rater, t in tables}
    rows = []
    for agent in agents:
        i = h2h["agents"].index(agent)
        c = clem.get(agent, {})
        wdl = f"{sum(h2h['wins'][i])}/{sum(h2h['draws'][i])}/{sum(h2h['losses'][i])}"
        cells = [_e(agent)]
        for rater, _ in tables:
            r = rated[rater.key].get(agent, {})
            digits = 1 if rater.key == "openskill" else 0
            cells.append(_num(r.get("rating"), digits))
            cells.append(
                f"{_num(r['ci_low'], digits)} – {_num(r['ci_high'], digits)}"
                if r.get("ci_low") is not None
                else "–"
            )
        cells += [
            wdl,
            _num(c.get("played")),
            _num(c.get("quality"), 1),
            _num(c.get("clemscore"), 1),
        ]
        rows.append(cells)
    header = ["agent"]
    for rater, _ in tables:
        header += [_e(rater.title), f"{ci} CI"]
    header += ["W/D/L", "% played", "quality", "clemscore"]
    notes = "; ".join(f"{_e(rater.title)}: {_e(t['interval'])}" for rater, t in tables)
    parts = [
        f'<section class="game" id="section-{_e(_slug(name))}">',
        f"<h2>{_e(name)}</h2>",
        f'<p class="muted">{section["episodes"]} episodes, '
        f"{section['comparisons']} pairwise results</p>",
        _table(header, rows),
        f'<p class="muted">Every interval is a {ci} confidence interval. {notes}.</p>'
        if notes
        else "",
        _img(plots.get("ratings"), f"ratings, {name}"),
    ]
    # head to head as a table too: the heatmap is for the eye, the table for the numbers
    names = agents
    if len(names) > 1:
        h_rows = []
        for agent in names:
            i = h2h["agents"].index(agent)
            cells = [_e(agent)]
            for j in (h2h["agents"].index(b) for b in names):
                w, d, lost = h2h["wins"][i][j], h2h["draws"][i][j], h2h["losses"][i][j]
                cells.append("" if i == j or w + d + lost == 0 else f"{w}-{d}-{lost}")
            h_rows.append(cells)
        parts.append("<h3>Head to head (row vs column: wins-draws-losses)</h3>")
        parts.append(_table(["", *names], h_rows))
        parts.append(_img(plots.get("head_to_head"), f"head to head, {name}"))
    probs = section["win_probability"]
    rated_names = [a for a in names if a in probs]
    if len(rated_names) > 1:
        parts.append(
            "<h3>Predicted win probability (Bradley–Terry, row beats column; draws count half)</h3>"
        )
        p_rows = [
            [_e(a)] + ["" if a == b else f"{probs[a][b]:.2f}" for b in rated_names]
            for a in rated_names
        ]
        parts.append(_table(["", *rated_names], p_rows))
    parts.append(_img(plots.get("elo_history"), f"Elo over the run, {name}"))
    if name != OVERALL and section["rewards"]:
        parts.append(f"<h3>Mean return ({ci} CI)</h3>")
        r_rows = [
            [
                _e(r["agent"]),
                _e("all roles" if r["role"] == "*" else r["role"]),
                _num(r["mean"], 3),
                f"{_num(r['low'], 3)} – {_num(r['high'], 3)}",
                str(r["n"]),
            ]
            for r in section["rewards"]
        ]
        parts.append(_table(["agent", "role", "mean", f"{ci} CI", "episodes"], r_rows))
    parts.append("</section>")
    return "\n".join(parts)


def _agent_order(section: dict[str, Any]) -> list[str]:
    """Agents by Bradley–Terry rating, unrated ones (self-play only) after them."""
    bt = section["ratings"].get(RATERS[0].key) or {"ratings": []}
    rated = [r["agent"] for r in bt["ratings"]]
    return rated + [a for a in section["head_to_head"]["agents"] if a not in rated]


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def render_html(
    title: str,
    summary: dict[str, Any],
    records: Sequence[EpisodeRecord],
    plots: dict[str, dict[str, bytes | None]],
    prompts: bool = True,
) -> str:
    """The report page as one HTML string (see :func:`write_report`)."""
    sections = summary["sections"]
    order = list(summary["games"])
    if len(order) > 1:  # with one game the overall section says the same again
        order.insert(0, OVERALL)
    nav = " · ".join(f'<a href="#section-{_e(_slug(n))}">{_e(n)}</a>' for n in order)
    ci = f"{100 * summary['options']['confidence']:g}%"
    body = [_section_html(n, sections[n], plots.get(n, {}), ci) for n in order]
    options = []
    for k, r in enumerate(records):
        seats = " vs ".join(f"{a}" for a in r.seating.values())
        returns = ", ".join(f"{v:g}" for v in r.returns.values())
        options.append(
            f'<option value="{k}">{_e(r.episode_id)} · {_e(r.env_id)} · {_e(seats)} · '
            f"{_e(returns)}{' · error' if r.failed else ''}</option>"
        )
    # "<" as \\u003c keeps player text from ever closing the script element
    data = json.dumps(_episode_data(records, prompts), ensure_ascii=False).replace("<", "\\u003c")
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{_e(title)}</title>
<style>{CSS}</style>
</head>
<body>
<h1>{_e(title)}</h1>
<p>{summary["episodes"]} episodes · {len(summary["agents"])} agents · {len(summary["games"])}
games · {summary["failed_episodes"]} with agent errors · ratings: Bradley–Terry by maximum
likelihood on the Elo scale (mean 1000), Elo averaged over episode orders, OpenSkill
Plackett–Luce; each with a {_e(ci)} confidence interval (see each table).</p>
<p>{nav} · <a href="#episodes">episodes</a></p>
{"".join(body)}
<section class="game" id="episodes">
<h2>Episodes</h2>
<p><input id="episode-filter" placeholder="filter episodes" size="40"></p>
<p><select id="episode-select" size="8">
{"".join(options)}
</select></p>
<noscript><p>The transcript viewer needs JavaScript.</p></noscript>
<div id="episode-view"></div>
</section>
<script type="application/json" id="episode-data">{data}</script>
<script>{VIEWER_JS}</script>
</body>
</html>
"""


def write_report(
    run_dir: str | os.PathLike[str],
    records: Sequence[EpisodeRecord] | None = None,
    options: SummaryOptions | None = None,
    *,
    summary: dict[str, Any] | None = None,
    prompts: bool = True,
) -> Path:
    """Write ``report.html``, ``ratings.json``, ``plots/*.png`` and ``tables/*`` into ``run_dir``.

    Args:
        run_dir: The run directory.
        records: The records; read from ``run_dir/episodes.jsonl`` when ``None``.
        options: Estimation options (ignored when ``summary`` is given).
        summary: A :func:`~palaestra.arena.summary.summarize` result of ``records``, to skip
            recomputing it (``ratings.json`` is then written from it as is).
        prompts: Include what each seat saw in the transcript viewer.

    Returns:
        The path of ``report.html``.
    """
    run_dir = Path(run_dir)
    if records is None:
        records = read_episodes(run_dir)
    if summary is None:
        _, summary = write_ratings(run_dir, records, options)
    else:
        save_summary(run_dir, summary)
    plots: dict[str, dict[str, bytes | None]] = {}
    plot_dir = run_dir / PLOTS_DIR
    plot_dir.mkdir(exist_ok=True)
    for name, section in summary["sections"].items():
        subset = records if name == OVERALL else [r for r in records if r.env_id == name]
        made = {
            "ratings": plot_ratings(
                section, f"Ratings: {name}", f"{100 * summary['options']['confidence']:g}%"
            ),
            "head_to_head": plot_head_to_head(section, f"Head to head: {name}"),
            "elo_history": plot_elo_history(
                subset, f"Elo over the run: {name}", summary["options"]["elo_k"]
            ),
        }
        plots[name] = made
        for kind, png in made.items():
            if png is not None:
                (plot_dir / f"{kind}-{_slug(name)}.png").write_bytes(png)
    write_tables(summary_tables(summary), run_dir / TABLES_DIR)
    path = run_dir / REPORT_FILE
    page = render_html(f"palaestra run: {run_dir.resolve().name}", summary, records, plots, prompts)
    path.write_text(page, encoding="utf-8")
    return path


# -- CLI ----------------------------------------------------------------------------------------
def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report",
        help="write the HTML report, plots and tables of a run directory",
        description="Read RUN_DIR/episodes.jsonl; write ratings.json, report.html, plots/ and "
        "tables/ into RUN_DIR, and print the summary tables.",
    )
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run directory holding episodes.jsonl")
    p.add_argument(
        "--bootstrap",
        type=int,
        default=200,
        help="bootstrap rounds of the Bradley–Terry and Elo CIs (default 200)",
    )
    p.add_argument("--seed", type=int, default=0, help="bootstrap/permutation seed (default 0)")
    p.add_argument(
        "--confidence",
        type=float,
        default=0.95,
        help="level of every confidence interval, all rating methods alike (default 0.95)",
    )
    p.add_argument(
        "--format",
        choices=FORMATS,
        default="rich",
        help="how to print the tables: rich (default; full width when stdout is not a "
        "terminal), plain, markdown or csv",
    )
    p.add_argument(
        "--ties",
        choices=("half", "davidson"),
        default="half",
        help="draws as half wins (default) or Davidson's tie model",
    )
    p.add_argument(
        "--no-prompts", action="store_true", help="leave what each seat saw out of the page"
    )
    p.set_defaults(handler=_report)


def _report(args: argparse.Namespace) -> int:
    from rich.console import Console

    if args.bootstrap < 1:
        raise ValueError(f"--bootstrap must be >= 1, got {args.bootstrap}")
    records = read_episodes(args.run_dir)
    if not 0 < args.confidence < 1:
        raise ValueError(f"--confidence must be between 0 and 1, got {args.confidence}")
    options = SummaryOptions(
        bootstrap_rounds=args.bootstrap,
        seed=args.seed,
        ties=args.ties,
        confidence=args.confidence,
    )
    _, summary = write_ratings(args.run_dir, records, options)
    path = write_report(args.run_dir, records, summary=summary, prompts=not args.no_prompts)
    console = Console()
    print_summary(records, console, summary, fmt=args.format)
    if args.format != "csv":  # stdout stays one CSV
        console.print(f"report: {path}", markup=False, highlight=False, soft_wrap=True)
    return 0
