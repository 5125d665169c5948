"""The run summary, ratings.json, the HTML report and ``palaestra report``."""

from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from rich.console import Console

from palaestra.arena.records import EpisodeRecord, Turn
from palaestra.arena.report import write_report
from palaestra.arena.summary import (
    OVERALL,
    SummaryOptions,
    print_summary,
    read_episodes,
    summarize,
    write_ratings,
)
from palaestra.cli import main

FAST = SummaryOptions(bootstrap_rounds=20, elo_permutations=5)


def episode(index: int, game: str, seating: dict, returns: dict, **kw) -> EpisodeRecord:
    roles = list(seating)
    turns = [
        Turn(
            role=roles[k % len(roles)],
            agent=seating[roles[k % len(roles)]],
            turn=k,
            prompt=f"You are {roles[k % len(roles)]}. Transcript so far: {k} moves.",
            text=f"move {k} <b>bold</b> </script>",
            reasoning="secret plan" if k == 0 else "",
            valid=k != 1,
            reason="" if k != 1 else "no offer",
        )
        for k in range(3)
    ]
    return EpisodeRecord(f"{game}/{index}", game, index, seating, returns, turns=turns, **kw)


def run_records() -> list[EpisodeRecord]:
    records = []
    pairs = [("strong", "weak"), ("weak", "strong"), ("strong", "mid"), ("mid", "weak")]
    for k in range(24):
        a, b = pairs[k % 4]
        # the first-named agent wins except every fifth episode (a draw)
        ret = {"alice": 5.0, "bob": 5.0} if k % 5 == 0 else {"alice": 7.0, "bob": 3.0}
        if a == "weak" and k % 5:
            ret = {"alice": 3.0, "bob": 7.0}
        records.append(episode(k, "negotiation-v0", {"alice": a, "bob": b}, ret))
    for k in range(6):
        records.append(
            episode(
                100 + k,
                "three-v0",
                {"p0": "strong", "p1": "mid", "p2": "weak"},
                {"p0": 3.0, "p1": 2.0, "p2": 1.0},
            )
        )
    records.append(
        episode(
            200,
            "negotiation-v0",
            {"alice": "mid", "bob": "strong"},
            {"alice": -1.0, "bob": 0.0},
            outcome="agent error by alice: timeout",
            errors=[{"role": "alice", "agent": "mid", "error": "timeout"}],
        )
    )
    return records


def write_run(folder: Path, records: list[EpisodeRecord], torn: bool = True) -> Path:
    lines = "".join(r.to_json() + "\n" for r in records)
    if torn:  # a run killed mid-write leaves half a line
        lines += records[0].to_json()[:40]
    (folder / "episodes.jsonl").write_text(lines, encoding="utf-8")
    return folder


def test_read_episodes_skips_a_torn_last_line_only(tmp_path):
    records = run_records()
    write_run(tmp_path, records)
    assert [r.episode_id for r in read_episodes(tmp_path)] == [r.episode_id for r in records]
    (tmp_path / "episodes.jsonl").write_text("{broken\n" + records[0].to_json() + "\n")
    with pytest.raises(ValueError, match=r"episodes.jsonl:1"):
        read_episodes(tmp_path)
    with pytest.raises(FileNotFoundError):
        read_episodes(tmp_path / "nowhere")


def test_summarize_is_json_and_has_every_section():
    records = run_records()
    summary = summarize(records, FAST)
    assert json.loads(json.dumps(summary, allow_nan=False)) == summary
    assert set(summary["sections"]) == {OVERALL, "negotiation-v0", "three-v0"}
    assert summary["episodes"] == 31 and summary["failed_episodes"] == 1
    overall = summary["sections"][OVERALL]
    bt = overall["ratings"]["bradley_terry"]["ratings"]
    assert [r["agent"] for r in bt] == ["strong", "mid", "weak"]
    assert all(r["ci_low"] <= r["rating"] <= r["ci_high"] for r in bt)
    for method in ("bradley_terry", "elo", "openskill"):  # one level for every method
        assert overall["ratings"][method]["confidence"] == FAST.confidence
        assert overall["ratings"][method]["interval"]
    assert overall["win_probability"]["strong"]["weak"] > 0.5
    assert overall["win_probability"]["strong"]["weak"] == pytest.approx(
        1 - overall["win_probability"]["weak"]["strong"], abs=1e-3
    )
    three = summary["sections"]["three-v0"]
    assert [r["agent"] for r in three["ratings"]["openskill"]["ratings"]] == [
        "strong",
        "mid",
        "weak",
    ]
    h2h = three["head_to_head"]
    assert h2h["wins"][h2h["agents"].index("strong")][h2h["agents"].index("weak")] == 6
    clem = {r["agent"]: r for r in summary["sections"]["negotiation-v0"]["clemscore"]}
    assert clem["mid"]["played"] == pytest.approx(100 * 12 / 13)  # one timeout in 13


def test_summarize_does_not_depend_on_record_order():
    records = run_records()
    shuffled = records[::2] + records[1::2][::-1]
    assert summarize(shuffled, FAST) == summarize(records, FAST)


def test_summarize_without_comparisons():
    only_self = [episode(0, "g", {"alice": "A", "bob": "A"}, {"alice": 1.0, "bob": 0.0})]
    summary = summarize(only_self, FAST)
    assert summary["sections"][OVERALL]["ratings"]["bradley_terry"] is None
    assert summary["sections"][OVERALL]["ratings"]["elo"] is None
    assert summarize([], FAST)["episodes"] == 0


def test_print_summary_shows_every_agent_and_game():
    records = run_records()
    console = Console(record=True, width=220)
    print_summary(records, console, summarize(records, FAST))
    text = console.export_text()
    for name in ("negotiation-v0", "three-v0", "overall", "strong", "mid", "weak", "clemscore"):
        assert name in text
    assert "1 of 31 episodes had agent errors" in text


def test_write_report_writes_a_self_contained_page_plots_and_tables(tmp_path):
    records = run_records()
    write_run(tmp_path, records)
    path = write_report(tmp_path, options=FAST)
    page = path.read_text(encoding="utf-8")
    for record in records:
        assert record.episode_id in page
    # no external assets: every src is inline data, no stylesheet or script is fetched
    assert re.findall(r'src="([^"]+)"', page)
    assert all(
        src.startswith("data:image/png;base64,") for src in re.findall(r'src="([^"]+)"', page)
    )
    assert "<link" not in page and "http://" not in page and "https://" not in page
    # player text cannot break out of the embedded data
    assert "<b>bold</b>" not in page and page.count("</script>") == 2
    assert "secret plan" in page  # reasoning is in the viewer, folded and labelled
    assert "Predicted win probability" in page

    plots = sorted(p.name for p in (tmp_path / "plots").glob("*.png"))
    assert "ratings-overall.png" in plots and "head_to_head-three-v0.png" in plots
    assert "elo_history-negotiation-v0.png" in plots
    assert all((tmp_path / "plots" / p).read_bytes()[:4] == b"\x89PNG" for p in plots)
    summary = json.loads((tmp_path / "ratings.json").read_text())
    assert summary["episodes"] == len(records)
    with (tmp_path / "tables" / "head_to_head.csv").open() as f:
        rows = [r for r in csv.DictReader(f) if r["section"] == "three-v0"]
    strong_weak = next(r for r in rows if (r["agent"], r["opponent"]) == ("strong", "weak"))
    assert (strong_weak["wins"], strong_weak["draws"], strong_weak["losses"]) == ("6", "0", "0")
    for name in ("ratings", "win_probability", "rewards", "clemscore"):
        assert (tmp_path / "tables" / f"{name}.csv").stat().st_size > 0
    tables = json.loads((tmp_path / "tables" / "tables.json").read_text())
    methods = {r["method"] for r in tables["ratings"]}
    assert methods == {"bradley_terry", "elo", "openskill"}


def test_report_prompts_are_stored_as_tails(tmp_path):
    record = episode(0, "g", {"alice": "A", "bob": "B"}, {"alice": 1.0, "bob": 0.0})
    record.turns[2].prompt = record.turns[0].prompt + " more"  # alice's next prompt extends
    page = write_report(write_run(tmp_path, [record], torn=False), options=FAST).read_text()
    data = json.loads(re.search(r'id="episode-data">(.*?)</script>', page, re.S).group(1))
    third = data[0]["turns"][2]
    assert third["prompt_keep"] == len(record.turns[0].prompt) and third["prompt_tail"] == " more"
    no_prompts = write_report(tmp_path, options=FAST, prompts=False).read_text()
    assert "Transcript so far" not in no_prompts


def test_report_command(tmp_path, capsys):
    write_run(tmp_path, run_records())
    assert main(["report", str(tmp_path), "--bootstrap", "10", "--ties", "davidson"]) == 0
    out = capsys.readouterr().out
    assert f"report: {tmp_path / 'report.html'}" in out.replace("\n", "")
    assert json.loads((tmp_path / "ratings.json").read_text())["options"]["ties"] == "davidson"
    assert main(["report", str(tmp_path / "missing")]) == 2


def test_write_ratings_reads_the_run(tmp_path):
    write_run(tmp_path, run_records())
    path, summary = write_ratings(tmp_path, options=FAST)
    assert path == tmp_path / "ratings.json"
    assert json.loads(path.read_text()) == summary


DOM_SHIM = r"""
// the least DOM the viewer script needs; prints the text shown for episode 0, then episode 1
const fs = require('fs');
const page = fs.readFileSync(process.argv[1], 'utf8');
const data = page.match(/id="episode-data">([\s\S]*?)<\/script>/)[1];
const script = page.match(/<script>([\s\S]*?)<\/script>/)[1];
function node(tag) {
  return { tag, children: [], textContent: '', className: '', listeners: {}, options: [],
    appendChild(c) { this.children.push(c); }, replaceChildren() { this.children = []; },
    addEventListener(k, f) { this.listeners[k] = f; } };
}
const els = { 'episode-data': { textContent: data }, 'episode-select': node('select'),
  'episode-filter': node('input'), 'episode-view': node('div') };
global.document = { getElementById: id => els[id], createElement: node };
eval(script);
function text(n) { return (n.textContent || '') + n.children.map(text).join('|'); }
console.log(text(els['episode-view']));
els['episode-select'].value = '1';
els['episode-select'].listeners.change();
console.log(text(els['episode-view']));
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node to run the page's script")
def test_transcript_viewer_script_renders_episodes(tmp_path):
    first = episode(0, "g", {"alice": "A", "bob": "B"}, {"alice": 1.0, "bob": 0.0})
    first.turns[2].prompt = first.turns[0].prompt + " Now offer."
    second = episode(1, "g", {"alice": "B", "bob": "A"}, {"alice": 0.0, "bob": 1.0})
    page = write_report(write_run(tmp_path, [first, second], torn=False), options=FAST)
    out = subprocess.run(
        ["node", "-e", DOM_SHIM, str(page)], capture_output=True, text=True, check=True, timeout=30
    ).stdout.splitlines()
    assert out[0].startswith("g/0|g · seed 0 · alice: A (1) · bob: B (0)")
    assert "invalid: no offer" in out[0]
    # the prompt rebuilt from its stored tail, and the reasoning under its label
    assert "You are alice. Transcript so far: 0 moves. Now offer." in out[0]
    assert "reasoning (never shown to other players)|secret plan" in out[0]
    assert "move 0 <b>bold</b> </script>" in out[0]  # shown as text, never as markup
    assert out[1].startswith("g/1|g · seed 1 · alice: B (0) · bob: A (1)")
