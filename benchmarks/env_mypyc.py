"""Would compiling the env code reach issue 16's 2x? negotiation-v0 compiled with mypyc, measured.

    pip install -e ".[bench]"                   # textarena==0.7.4 and mypy (mypyc), benchmark only
    python benchmarks/env_mypyc.py              # build (~2 min), env tests, then the side by side
    python benchmarks/env_mypyc.py --no-tests --episodes 100 --rounds 3

An experiment, not a build option: palaestra ships pure Python. This script copies the
package into a temporary folder laid out as installed (``palaestra/envs``, ...: the map in
setup.py), compiles ``envs/core.py`` (messages, transcript, views) and
``envs/negotiation/rules.py`` (the negotiation rules) there with mypyc, and runs
``env_vs_textarena.py`` on that copy, so the compiled env and TextArena are timed side by side
in one process exactly as the pure one is.

The copy differs from the repository in the few places mypyc needs (each edit below must
match, or the script stops): the two "fill a frozen dataclass's ``__dict__`` through
``object.__new__``" shortcuts become plain constructor calls (a compiled dataclass refuses
``object.__new__``, and its constructor is fast anyway); every class but the enums and named
tuples is opened to interpreted subclasses (``mypyc_attr(allow_interpreted_subclasses=True)``:
the other games, the tests and users' code subclass ``Game`` and ``GameState``); and two lines
that mypy's strict reading rejects get a ``type: ignore``. The adapter (``envs/adapter.py``)
is left in Python: its AEC and parallel envs subclass PettingZoo's classes and use
``functools.cached_property``, neither of which a mypyc native class supports, so compiling
it means splitting a compiled core out of the PettingZoo classes first.

Unless ``--no-tests``, the env tests (golden transcripts, conformance, negotiation, ...) run
against the compiled copy first, and their outcome is stored with the timings: the compiled
rules must play the same episodes. Results go to ``--json`` (default
``benchmarks/results/env_vs_textarena_mypyc.json``).
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import shutil
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def package_dirs() -> dict[str, str]:
    """setup.py's ``PACKAGE_DIRS`` (import name -> folder), read without running setup()."""
    for node in ast.parse((ROOT / "setup.py").read_text()).body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "PACKAGE_DIRS":
            return ast.literal_eval(node.value)
    raise SystemExit("setup.py no longer defines PACKAGE_DIRS")


#: The modules compiled, as paths inside the installed layout.
COMPILED = ("palaestra/envs/core.py", "palaestra/envs/negotiation/rules.py")

#: (file, text in the repository, text in the compiled copy): what mypyc needs changed.
EDITS = (
    (
        "palaestra/envs/core.py",
        """        message = _new_object(Message)
        fields = message.__dict__
        fields["sender"], fields["text"], fields["to"] = sender, text, to
""",
        "        message = Message(sender, text, to)\n",
    ),
    (
        "palaestra/envs/core.py",
        """    view = _new_object(RoleView)
    fields = view.__dict__
    fields["preamble"], fields["instruction"] = preamble, instruction
    fields["vector"], fields["facts"] = vector, facts
    return view""",
        "    return RoleView(preamble, instruction, vector, facts)",
    ),
    (
        "palaestra/envs/negotiation/rules.py",
        "self.info = _with_max_turns(type(self), max_turns)\n",
        "self.info = _with_max_turns(type(self), max_turns)  # type: ignore[misc]\n",
    ),
    (
        "palaestra/envs/negotiation/rules.py",
        "(state.counts, *map(state.values.get, ROLES)))\n",
        "(state.counts, *map(state.values.get, ROLES)))  # type: ignore[arg-type]\n",
    ),
)

#: Run in the child: drop the editable install's finder so that ``palaestra`` is the copy.
PRELUDE = """import sys
sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in repr(f).lower()]
sys.path.insert(0, {tree!r})
import palaestra.envs.core, palaestra.envs.negotiation.rules as rules
assert rules.__file__.endswith(".so"), rules.__file__
"""


#: Put before every top-level class of a compiled module but enums and named tuples: the
#: other games, the tests and users' code subclass ``Game``, ``GameState`` and the rest.
OPEN_CLASS = "@mypyc_attr(allow_interpreted_subclasses=True)\n"
CLASS = re.compile(r"^((?:@dataclass.*\n)?class (?!\w+\([^)]*(?:Enum|NamedTuple)\)))", re.MULTILINE)


def open_classes(source: str) -> str:
    """``source`` with its classes (but enums and named tuples) open to interpreted ones."""
    source = CLASS.sub(lambda m: OPEN_CLASS + m.group(1), source)
    future = "from __future__ import annotations\n"
    return source.replace(future, future + "\nfrom mypy_extensions import mypyc_attr\n", 1)


def build(tree: Path) -> None:
    """The package copied into ``tree`` as installed, edited, and compiled in place."""
    for name, folder in package_dirs().items():
        shutil.copytree(
            ROOT / folder,
            tree / name.replace(".", "/"),
            ignore=shutil.ignore_patterns("__pycache__", "*.so"),
            dirs_exist_ok=True,
        )
    for path, old, new in EDITS:
        source = (tree / path).read_text()
        if source.count(old) != 1:
            sys.exit(f"{path}: the text to edit for mypyc is not there once:\n{old}")
        (tree / path).write_text(source.replace(old, new))
    for path in COMPILED:
        (tree / path).write_text(open_classes((tree / path).read_text()))
    subprocess.run(
        [sys.executable, "-m", "mypyc", "--ignore-missing-imports", *COMPILED],
        cwd=tree,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def run_in(tree: Path, code: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a child Python that imports palaestra from ``tree``."""
    prelude = PRELUDE.format(tree=str(tree))
    command = [sys.executable, "-c", prelude + code]
    return subprocess.run(command, cwd=ROOT, check=check, text=True, capture_output=not check)


def env_tests(tree: Path) -> dict[str, object]:
    """The env tests against the compiled copy: exit code, summary line and what failed."""
    tests = ["tests/envs", "-q", "-p", "no:cacheprovider", "-W", "ignore"]
    done = run_in(tree, f"import pytest; sys.exit(pytest.main({tests!r}))", check=False)
    lines = done.stdout.splitlines()
    failed = [line.split(" - ")[0][len("FAILED ") :] for line in lines if line.startswith("FAILED")]
    summary = lines[-1] if lines else done.stderr[-500:]
    print(f"env tests on the compiled copy: {summary}")
    for test in failed:
        print(f"  failed: {test}")
    return {"exit_code": done.returncode, "summary": summary.strip("= "), "failed": failed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--no-tests", dest="tests", action="store_false")
    parser.add_argument(
        "--tree",
        help="build the compiled copy in this folder and keep it (default: a temporary one)",
    )
    parser.add_argument("--json", default="benchmarks/results/env_vs_textarena_mypyc.json")
    args = parser.parse_args()
    if shutil.which("cc") is None and shutil.which("gcc") is None:
        sys.exit("mypyc needs a C compiler (cc or gcc)")
    out = Path(args.json).resolve()  # the child runs in the repository root
    with tempfile.TemporaryDirectory(prefix="palaestra-mypyc-") as folder:
        tree = Path(args.tree or folder)
        if tree.exists() and args.tree:
            shutil.rmtree(tree)
        build(tree)
        tests = env_tests(tree) if args.tests else None
        bench = str(ROOT / "benchmarks" / "env_vs_textarena.py")
        argv = [bench, "--episodes", str(args.episodes), "--rounds", str(args.rounds)]
        argv += ["--phases", "--json", str(out), "--label", "mypyc: envs/core.py + rules.py"]
        run_in(
            tree,
            f"import runpy; sys.argv = {argv!r}; runpy.run_path({bench!r}, run_name='__main__')",
        )
    result = json.loads(out.read_text())
    result["compiled_with_mypyc"] = {
        "mypy": metadata.version("mypy"),
        "modules": list(COMPILED),
        "env_tests": tests,
    }
    out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
