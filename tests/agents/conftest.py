from __future__ import annotations

import pytest
import torch

from palaestra.agents.models import pull_model
from palaestra.envs.protocol import Observation


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Tiny models gain nothing from two threads, and on a busy two-core machine the second
    thread's spin-waits make them many times slower."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def palaestra_home(tmp_path_factory: pytest.TempPathFactory):
    """A private PALAESTRA_HOME for this test session, with the tiny model pulled into it."""
    home = tmp_path_factory.mktemp("palaestra-home")
    mp = pytest.MonkeyPatch()
    mp.setenv("PALAESTRA_HOME", str(home))
    pull_model("tiny")
    yield home
    mp.undo()


@pytest.fixture
def observations() -> list[Observation]:
    """Four chat observations of different lengths (so batching needs padding)."""
    preamble = "You are alice. Your values: book=2 hat=3 ball=1."
    out = []
    for i in range(4):
        history = " ".join(["bob: OFFER: book=1 hat=1 ball=0."] * i)
        text = f"{preamble}\n\nTranscript: {history}\n\nMove {i + 1}. Your message, alice:"
        out.append(
            Observation(
                text=text,
                game="negotiation-v0",
                role="alice",
                preamble=preamble,
                instruction=f"Move {i + 1}. Your message, alice:",
                episode=f"ep{i}",
                turn=i,
            )
        )
    return out
