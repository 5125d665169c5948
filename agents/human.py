"""A human at the terminal."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TextIO

from palaestra.envs.protocol import Action, Observation


class HumanAgent:
    """Shows each observation in the terminal and reads a move.

    The game master's private messages in the transcript explain an invalid move, so the
    reason is on screen when the human is asked again. An empty line is sent as an empty move;
    end of input (Ctrl-D) is recorded as an agent error.

    Args:
        stdin, stdout: Streams to use (default: the terminal).
        show: ``"full"`` prints the whole prompt every turn; ``"new"`` (default) prints only what
            is new since this seat's last turn.
    """

    def __init__(
        self,
        name: str = "human",
        stdin: TextIO | None = None,
        stdout: TextIO | None = None,
        show: str = "new",
    ) -> None:
        if show not in ("full", "new"):
            raise ValueError(f"show must be 'full' or 'new', got {show!r}")
        self.name = name
        self.stdin = stdin
        self.stdout = stdout
        self.show = show
        self._seen: dict[str, str] = {}

    def _print(self, text: str) -> None:
        out = self.stdout or sys.stdout
        out.write(text + "\n")
        out.flush()

    def act(self, observations: Sequence[Observation]) -> list[Action]:
        actions = []
        for obs in observations:
            body = obs.text[: len(obs.text) - len(obs.instruction)] if obs.instruction else obs.text
            body = body.rstrip()  # blank lines before the instruction are not part of the past
            seen = self._seen.get(obs.seat, "")
            if self.show == "new" and seen and body.startswith(seen):
                shown = body[len(seen) :].strip()
            else:
                shown = body
            self._seen[obs.seat] = body
            self._print(f"\n=== {obs.game} · you are {obs.role} ===\n{shown}\n{obs.instruction}")
            (self.stdout or sys.stdout).write("> ")
            (self.stdout or sys.stdout).flush()
            line = (self.stdin or sys.stdin).readline()
            if line == "":
                actions.append(Action(error="end of input from the human player"))
            else:
                actions.append(Action(line.rstrip("\n")))
        return actions

    def reset(self) -> None:
        self._seen.clear()
