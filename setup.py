"""Package discovery for palaestra's folder layout (everything else is in pyproject.toml).

The code folders `envs/`, `agents/` and `arena/` at the top of the repository are the
subpackages `palaestra.envs`, `palaestra.agents` and `palaestra.arena` (README.md, "Layout").
setuptools' own discovery (`[tool.setuptools.packages.find]`) names what it finds
after the folder (`envs.taboo`, not `palaestra.envs.taboo`), so the package list is built here
from the same folder map: a new subpackage or data folder is picked up
without editing anything. Data files are matched by the globs in pyproject.toml.
"""

from __future__ import annotations

from setuptools import find_namespace_packages, setup

# Import name -> folder. The only place this mapping is written down.
PACKAGE_DIRS = {
    "palaestra": "palaestra",
    "palaestra.envs": "envs",
    "palaestra.agents": "agents",
    "palaestra.arena": "arena",
}


def discover_packages(package_dirs: dict[str, str]) -> list[str]:
    """Every folder under each mapped folder, named under its import root.

    Namespace discovery, so that a data folder without an `__init__.py` (`envs/taboo/data/`)
    is a package too and its files are matched by the package-data globs, rather than
    shipped through setuptools' deprecated "data folder inside a package" fallback.
    """
    packages = []
    for name, folder in package_dirs.items():
        packages.append(name)
        found = find_namespace_packages(folder, exclude=["__pycache__", "*.__pycache__"])
        packages.extend(f"{name}.{sub}" for sub in found)
    return sorted(set(packages))


setup(packages=discover_packages(PACKAGE_DIRS), package_dir=PACKAGE_DIRS)
