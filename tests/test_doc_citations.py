"""Comments cite only documents (and sections) that exist in the repository."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("envs", "agents", "arena", "palaestra", "tests", "benchmarks")
#: ``"Section title" in docs/page.md``, the form the code uses to cite a section.
SECTION = re.compile(r'"([^"\n]{3,60})" in (docs/[\w-]+\.md)')
PAGE = re.compile(r"\b(docs/[\w/-]+\.md)\b")


def _sources() -> list[Path]:
    this = Path(__file__).resolve()  # its own docstrings show the patterns
    return sorted(
        p for folder in FOLDERS for p in (ROOT / folder).rglob("*.py") if p.resolve() != this
    )


def test_no_numbered_section_citations() -> None:
    bad = [
        f"{p.relative_to(ROOT)}:{n}"
        for p in _sources()
        for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"design\.md §", line)
    ]
    assert not bad, f"cite a section of docs/design.md by its title: {bad}"


def test_cited_pages_and_sections_exist() -> None:
    missing = []
    for path in _sources():
        text = path.read_text(encoding="utf-8")
        for page in PAGE.findall(text):
            if not (ROOT / page).is_file():
                missing.append(f"{path.relative_to(ROOT)} cites {page}")
        for title, page in SECTION.findall(text):
            doc = ROOT / page
            headings = doc.read_text(encoding="utf-8") if doc.is_file() else ""
            if not re.search(
                rf"^#+ {re.escape(title)}\s*$|\*\*{re.escape(title)}\*\*", headings, re.M
            ):
                missing.append(f"{path.relative_to(ROOT)} cites section {title!r} of {page}")
    assert not missing, "\n".join(missing)
