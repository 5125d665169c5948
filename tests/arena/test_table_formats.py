"""Tables in logs: full width when stdout is not a terminal, and --format plain|markdown|csv."""

from __future__ import annotations

import argparse
import csv
import io

import pytest
from rich.console import Console

from palaestra.arena import report
from palaestra.arena.records import EpisodeRecord
from palaestra.arena.text_tables import TextTable, print_tables, render_csv

LONG_A = "smollm2-135m-instruct-temperature-0.7-with-a-long-descriptive-name"
LONG_B = "scripted-negotiation-hard-baseline-opponent-also-with-a-long-name"


def main(argv: list[str]) -> int:
    """``palaestra report ...`` through the report module's own command definition."""
    parser = argparse.ArgumentParser(prog="palaestra")
    report.add_commands(parser.add_subparsers())
    args = parser.parse_args(argv)
    return args.handler(args)


def write_run(folder) -> None:
    records = []
    for k in range(12):
        a, b = (LONG_A, LONG_B) if k % 2 else (LONG_B, LONG_A)
        score = 1.0 if (a == LONG_A) == (k % 3 != 0) else 0.0
        records.append(
            EpisodeRecord(
                f"g/{k}",
                "negotiation-v0",
                k,
                {"alice": a, "bob": b},
                {"alice": score, "bob": 1 - score},
            )
        )
    (folder / "episodes.jsonl").write_text("".join(r.to_json() + "\n" for r in records))


def test_report_in_a_log_keeps_long_names_and_ratings(tmp_path, capsys) -> None:
    write_run(tmp_path)
    assert main(["report", str(tmp_path), "--bootstrap", "20"]) == 0
    out = capsys.readouterr().out  # captured: not a terminal, as in CI or `| tee`
    assert LONG_A in out and LONG_B in out
    assert "…" not in out  # nothing cut to "smoll…" or "10…"
    assert "Bradley–Terry (95% CI)" in out
    assert "OpenSkill" not in out  # a two-seat game: neither its column nor its note
    line = next(x for x in out.splitlines() if x.lstrip().startswith(LONG_A))
    assert len(line) > 120  # wider than an 80-column console


@pytest.mark.parametrize("fmt", ["plain", "markdown", "csv"])
def test_report_formats(tmp_path, capsys, fmt: str) -> None:
    write_run(tmp_path)
    assert main(["report", str(tmp_path), "--bootstrap", "20", "--format", fmt]) == 0
    out = capsys.readouterr().out
    assert LONG_A in out and "…" not in out
    assert "┃" not in out and "━" not in out  # no box drawing
    if fmt == "markdown":
        assert f"| {LONG_A} |" in out or f"| {LONG_B} |" in out
        assert "| agent | Bradley–Terry (95% CI) |" in out
    if fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(out)))
        assert {r["agent"] for r in rows} == {LONG_A, LONG_B}
        row = rows[0]
        low, mid, high = (float(row[k]) for k in ("bradley_terry_ci_low", "bradley_terry",
                                                  "bradley_terry_ci_high"))  # fmt: skip
        assert low <= mid <= high
        assert row["table"] == "negotiation-v0: 12 episodes"


def test_bad_format_is_refused(tmp_path, capsys) -> None:
    write_run(tmp_path)
    with pytest.raises(SystemExit):
        main(["report", str(tmp_path), "--format", "html"])
    assert "invalid choice: 'html'" in capsys.readouterr().err
    with pytest.raises(ValueError, match="table format must be one of"):
        print_tables([], Console(file=io.StringIO()), "html")


def test_plain_and_csv_rendering_by_hand() -> None:
    table = TextTable("t", ["agent", "rating"], left=frozenset({"agent"}))
    table.add_row("a", "1000")
    table.add_row("bbbbbb", "7")
    buf = io.StringIO()
    print_tables([table], Console(file=buf), "plain")
    assert buf.getvalue().splitlines()[:4] == [
        "t",
        "agent   rating",
        "------  ------",
        "a         1000",
    ]
    assert render_csv([table]) == "table,agent,rating\nt,a,1000\nt,bbbbbb,7\n"
    with pytest.raises(ValueError, match="expected 2 cells"):
        table.add_row("only one")


def test_rich_tables_are_full_width_on_a_non_terminal_console() -> None:
    table = TextTable("t", ["agent", "rating"], left=frozenset({"agent"}))
    table.add_row("x" * 150, "1000 (900–1100)")
    buf = io.StringIO()
    console = Console(file=buf)  # a file: not a terminal, 80 columns by default
    print_tables([table], console)
    assert "x" * 150 in buf.getvalue() and "1000 (900–1100)" in buf.getvalue()
    assert console.width == 80  # restored afterwards
