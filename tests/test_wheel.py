"""The built wheel is complete: installed on its own, every game works.

An editable install reads files straight from the checkout, so a data file left out of the
package configuration breaks only users who install the wheel. These tests build the wheel
from a copy of the checkout's files, check it against `git ls-files`, install it into a fresh
venv and run the env conformance tests there, from a folder outside the checkout.

The fresh venv borrows the dev venv's third-party packages (torch, pettingzoo, pytest...)
through a plain path line in a `.pth` file. A path line only extends `sys.path`; the `.pth`
files inside the borrowed folder are not run, so the editable install's import finder for
palaestra is not active there and `palaestra` can only come from the wheel (checked).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
#: Checkout folder -> where its files land in the wheel (the package-dir map in setup.py).
FOLDERS = {
    "palaestra": "palaestra",
    "envs": "palaestra/envs",
    "agents": "palaestra/agents",
    "arena": "palaestra/arena",
}
#: Every env whose data files were once missing from the wheel, and a game without data.
RESET_FROM_WHEEL = ("taboo-v0", "adversarial-taboo-v0", "negotiation-v0")


def _checkout_files() -> list[str]:
    """Tracked files plus untracked ones git does not ignore: what a commit would ship."""
    try:
        out = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout
    except (OSError, subprocess.CalledProcessError) as err:
        pytest.skip(f"the wheel tests need a git checkout: {err}")
    return [name for name in out.splitlines() if (REPO / name).is_file()]


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env.update(
        PYTHONNOUSERSITE="1",
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        OMP_NUM_THREADS="1",
    )
    return env


def _run(
    cmd: list[str], cwd: Path, timeout: float = 300, **env: str
) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        cmd, cwd=cwd, env={**_clean_env(), **env}, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, f"{cmd} failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    return done


@pytest.fixture(scope="module")
def checkout_files() -> list[str]:
    return _checkout_files()


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory, checkout_files: list[str]) -> Path:
    """The wheel built from a copy of the checkout (no stale build/ folder, no network)."""
    source = tmp_path_factory.mktemp("source")
    for name in checkout_files:
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, source / name)
    dist = tmp_path_factory.mktemp("dist")
    pip_wheel = [sys.executable, "-m", "pip", "wheel", str(source), "--no-deps"]
    _run([*pip_wheel, "--no-build-isolation", "--no-index", "-q", "-w", str(dist)], cwd=dist)
    (built,) = dist.glob("palaestra-*.whl")
    return built


@pytest.fixture(scope="module")
def fresh_python(tmp_path_factory: pytest.TempPathFactory, wheel: Path) -> Path:
    """A new venv with the wheel installed and the dev venv's third-party packages visible."""
    venv = tmp_path_factory.mktemp("venv")
    _run([sys.executable, "-m", "venv", "--without-pip", "--clear", str(venv)], cwd=venv)
    python = venv / "bin" / "python"
    # Installed before the dev venv's packages become visible, so that pip never sees (and
    # never offers to uninstall) the editable palaestra.
    install = [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps"]
    _run([*install, "--no-index", "-q", str(wheel)], cwd=venv)
    site = Path(
        _run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], venv
        ).stdout.strip()
    )
    borrowed = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}
    (site / "dev-venv-packages.pth").write_text("".join(f"{p}\n" for p in sorted(borrowed)))
    return python


def test_wheel_holds_every_file_of_the_package_folders(wheel: Path, checkout_files: list[str]):
    with zipfile.ZipFile(wheel) as archive:
        shipped = {n for n in archive.namelist() if ".dist-info/" not in n}
    expected = set()
    for name in checkout_files:
        top, _, rest = name.partition("/")
        if top in FOLDERS and rest:
            expected.add(f"{FOLDERS[top]}/{rest}")
    assert "palaestra/envs/taboo/data/words.json" in expected
    assert sorted(expected - shipped) == [], "files missing from the wheel"
    assert sorted(shipped - expected) == [], "files in the wheel that the checkout lacks"


def test_palaestra_resolves_to_the_wheel(fresh_python: Path, tmp_path: Path):
    code = (
        "import palaestra, palaestra.envs, palaestra.agents, palaestra.arena\n"
        "for m in (palaestra, palaestra.envs, palaestra.agents, palaestra.arena):\n"
        "    print(m.__file__)\n"
    )
    files = _run([str(fresh_python), "-c", code], cwd=tmp_path).stdout.split()
    venv = fresh_python.parent.parent
    assert len(files) == 4
    for file in files:
        assert Path(file).is_relative_to(venv), f"{file} is not from the installed wheel"


def test_data_games_reset_from_the_wheel(fresh_python: Path, tmp_path: Path):
    code = (
        "import sys, gymnasium, palaestra\n"
        "from palaestra.envs import make, spec\n"
        "for env_id in sys.argv[1:]:\n"
        "    make(env_id).reset(seed=0)\n"
        "    gymnasium.make(spec(env_id).gym_id).reset(seed=0)\n"
        "    print(env_id, 'ok')\n"
    )
    out = _run([str(fresh_python), "-c", code, *RESET_FROM_WHEEL], cwd=tmp_path).stdout
    assert out.split("\n")[:-1] == [f"{env_id} ok" for env_id in RESET_FROM_WHEEL]


def test_conformance_tests_pass_against_the_installed_wheel(fresh_python: Path, tmp_path: Path):
    tests = tmp_path / "tests"
    tests.mkdir()
    shutil.copy2(REPO / "tests" / "conftest.py", tests / "conftest.py")
    shutil.copy2(REPO / "tests" / "envs" / "test_conformance.py", tests / "test_conformance.py")
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    venv = fresh_python.parent.parent
    # Asserted in the same process that runs the tests, before they import anything else.
    code = (
        "import sys, pathlib, pytest, palaestra.envs\n"
        f"assert pathlib.Path(palaestra.envs.__file__).is_relative_to({str(venv)!r}), "
        "palaestra.envs.__file__\n"
        "sys.exit(pytest.main(['-q', '-p', 'no:cacheprovider', 'tests']))\n"
    )
    out = _run([str(fresh_python), "-c", code], cwd=tmp_path, timeout=600).stdout
    assert " passed" in out and "failed" not in out, out[-2000:]


def test_installed_command_lists_the_games(fresh_python: Path, tmp_path: Path):
    command = fresh_python.parent / "palaestra"
    out = _run([str(command), "envs"], cwd=tmp_path, COLUMNS="400").stdout  # no wrapped ids
    for env_id in RESET_FROM_WHEEL:
        assert env_id in out
