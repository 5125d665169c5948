"""benchmarks/env_mypyc.py's source edits (no compiler needed): each still matches the code
it edits, and the compiled copy is laid out as the package is installed."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

import env_mypyc  # noqa: E402


def _source(path: str) -> str:
    """A compiled module's text in the repository (``palaestra/envs/x.py`` -> ``envs/x.py``)."""
    return ROOT.joinpath(*Path(path).parts[1:]).read_text()


def test_every_edit_for_mypyc_matches_the_code_it_edits_exactly_once():
    for path, old, new in env_mypyc.EDITS:
        assert path in env_mypyc.COMPILED
        assert _source(path).count(old) == 1, (path, old)
        assert old != new


def test_the_copy_follows_setup_pys_folder_map():
    dirs = env_mypyc.package_dirs()
    assert dirs["palaestra.envs"] == "envs" and dirs["palaestra"] == "palaestra"
    for path in env_mypyc.COMPILED:  # each compiled module is a file of a mapped folder
        assert (ROOT / dirs["palaestra." + Path(path).parts[1]]).is_dir()
        assert _source(path)


def test_classes_are_opened_to_interpreted_subclasses_but_enums_and_named_tuples():
    source = (
        "from __future__ import annotations\n\n"
        "class Channel(str, enum.Enum):\n    pass\n\n"
        "class Move(NamedTuple):\n    a: int\n\n"
        "@dataclass(frozen=True)\nclass Message:\n    text: str\n\n"
        "class Game(ABC):\n    pass\n"
    )
    opened = env_mypyc.open_classes(source)
    lines = opened.splitlines()
    assert lines[2] == "from mypy_extensions import mypyc_attr"  # after the __future__ import
    before = {lines[i + 1]: line for i, line in enumerate(lines[:-1])}
    mark = env_mypyc.OPEN_CLASS.strip()
    assert before["@dataclass(frozen=True)"] == mark  # above the dataclass decorator
    assert before["class Game(ABC):"] == mark
    assert before["class Channel(str, enum.Enum):"] != mark
    assert before["class Move(NamedTuple):"] != mark
    assert opened.count(mark) == 2
