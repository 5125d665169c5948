"""Tables for the terminal and for logs: rich, plain text, Markdown or CSV.

The arena's commands build each table as a :class:`TextTable` (a title, a header and rows of
cells) and print it with :func:`print_tables` in the format that ``--format`` names:

* ``rich`` — rich's tables. When stdout is not a terminal (CI logs, ``| tee``) the console is
  made as wide as the table, so that no agent name or rating is cut to ``smoll…``;
* ``plain`` — aligned columns of plain text, no box characters;
* ``markdown`` — GitHub pipe tables;
* ``csv`` — one CSV over all the tables, the table's title in a first ``table`` column.
"""

from __future__ import annotations

import contextlib
import csv
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from rich import box
from rich.console import Console
from rich.table import Table

FORMATS = ("rich", "plain", "markdown", "csv")
#: Console width for output that is not a terminal: wider than any table, so none is cut.
LOG_WIDTH = 10_000


@dataclass
class TextTable:
    """A table as data: what every format renders.

    Attributes:
        title: Shown above the table (the ``table`` column in CSV).
        columns: Header cells.
        rows: Rows of cells, one per column.
        left: Columns aligned left (the others align right, as numbers do).
        notes: Lines printed under the table (not in CSV).
    """

    title: str
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)
    left: frozenset[str] = frozenset()
    notes: list[str] = field(default_factory=list)

    def add_row(self, *cells: str) -> None:
        if len(cells) != len(self.columns):
            raise ValueError(f"expected {len(self.columns)} cells {self.columns}, got {cells}")
        self.rows.append([str(c) for c in cells])


def check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise ValueError(f"table format must be one of {FORMATS}, got {fmt!r}")
    return fmt


@contextlib.contextmanager
def full_width(console: Console) -> Iterator[Console]:
    """Inside, a console that is not a terminal is wide enough for any table."""
    if console.is_terminal:
        yield console
        return
    before = console.width
    console.width = max(before, LOG_WIDTH)
    try:
        yield console
    finally:
        console.width = before


def render_plain(table: TextTable) -> str:
    widths = [max([len(h)] + [len(r[i]) for r in table.rows]) for i, h in enumerate(table.columns)]

    def line(cells: Sequence[str]) -> str:
        out = [
            c.ljust(w) if h in table.left else c.rjust(w)
            for c, w, h in zip(cells, widths, table.columns)
        ]
        return "  ".join(out).rstrip()

    body = [line(table.columns), "  ".join("-" * w for w in widths)]
    body += [line(r) for r in table.rows]
    return "\n".join([table.title, *body])


def render_markdown(table: TextTable) -> str:
    def escape(cell: str) -> str:
        return cell.replace("|", "\\|")

    rule = ["---" if h in table.left else "---:" for h in table.columns]
    lines = [f"**{escape(table.title)}**", ""]
    lines.append("| " + " | ".join(escape(h) for h in table.columns) + " |")
    lines.append("| " + " | ".join(rule) + " |")
    lines += ["| " + " | ".join(escape(c) for c in r) + " |" for r in table.rows]
    return "\n".join(lines)


def render_csv(tables: Sequence[TextTable]) -> str:
    """One CSV for all ``tables``: a ``table`` column, then the union of their columns."""
    columns = list(dict.fromkeys(c for t in tables for c in t.columns))
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["table", *columns])
    for t in tables:
        for row in t.rows:
            cells = dict(zip(t.columns, row))
            writer.writerow([t.title, *(cells.get(c, "") for c in columns)])
    return buf.getvalue()


def _rich(table: TextTable) -> Table:
    out = Table(title=table.title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    for column in table.columns:
        justify = "left" if column in table.left else "right"
        out.add_column(column, justify=justify, no_wrap=True)
    for row in table.rows:
        out.add_row(*row)
    return out


def print_tables(
    tables: Sequence[TextTable],
    console: Console | None = None,
    fmt: str = "rich",
    notes: Sequence[str] = (),
) -> None:
    """Print ``tables`` (then ``notes``, except in CSV) in format ``fmt``.

    Raises:
        ValueError: ``fmt`` is not one of :data:`FORMATS`.
    """
    check_format(fmt)
    console = console or Console()
    with full_width(console) as out:
        if fmt == "csv":
            out.file.write(render_csv(tables))
            out.file.flush()
            return
        for table in tables:
            if fmt == "rich":
                out.print(_rich(table))
            else:
                text = render_plain(table) if fmt == "plain" else render_markdown(table)
                out.print(text + "\n", markup=False, highlight=False, soft_wrap=True)
            for note in table.notes:
                out.print(note, markup=False, highlight=False, soft_wrap=True)
        for note in notes:
            out.print(note, style="dim" if fmt == "rich" else None, markup=False, soft_wrap=True)
