"""Shared fixtures of the trainer tests."""

from __future__ import annotations

import pytest

from palaestra.agents.tiny import build_tiny_model


@pytest.fixture(scope="session")
def tiny(tmp_path_factory) -> str:
    """A tiny local model directory (built once, no hub)."""
    return str(build_tiny_model(tmp_path_factory.mktemp("tiny")))
