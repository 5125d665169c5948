"""The game core: what every palaestra game is made of.

A game is a :class:`Game` (pure rules, no PettingZoo) over a :class:`GameState` that keeps
the turn, the transcript and the outcome. The PettingZoo adapter in
:mod:`palaestra.envs.adapter` turns any ``Game`` into an AEC (and, for simultaneous games, a
Parallel) environment; nothing here imports PettingZoo.

Text in and out:

* :func:`split_reasoning` removes ``<think>...</think>`` from a reply; reasoning never reaches
  another player.
* :func:`clean_text` strips control characters and bounds the length of what a player says.
* :class:`Transcript` holds public, private and game-master messages and renders each role's
  view append-only, so a seat's previous prompt (less its last instruction) is a prefix of
  the next one. Player text is rendered after a speaker tag on the same line and every
  continuation line is indented, so it cannot start a line that looks like the game master
  or another player.
"""

from __future__ import annotations

import enum
import re
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

GAME_MASTER = "game master"

#: Upper bound on the raw reply length looked at (bytes beyond are dropped before parsing,
#: so a 1 MB reply costs no more than this).
MAX_RAW_CHARS = 20_000


class InvalidMove(ValueError):
    """A reply that does not parse or breaks the rules; ``reason`` is shown to the player."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Channel(str, enum.Enum):
    """Who may read a message."""

    PUBLIC = "public"
    PRIVATE = "private"
    GAME_MASTER = "game_master"


@dataclass(frozen=True)
class Message:
    """One line of the transcript.

    Attributes:
        sender: A role name, or :data:`GAME_MASTER`.
        text: What was said (already cleaned; never contains reasoning).
        to: ``None`` for everyone, else the only role that sees it (besides the sender).
    """

    sender: str
    text: str
    to: str | None = None

    @property
    def channel(self) -> Channel:
        if self.sender == GAME_MASTER:
            return Channel.GAME_MASTER
        return Channel.PUBLIC if self.to is None else Channel.PRIVATE

    def visible_to(self, role: str) -> bool:
        return self.to is None or self.to == role or self.sender == role

    def render(self, viewer: str) -> str:
        """The message as ``viewer`` reads it; player text cannot forge a header line."""
        if self.sender == GAME_MASTER:
            tag = "[game master]" if self.to is None else "[game master, to you]"
        else:
            who = "you" if self.sender == viewer else self.sender
            tag = f"[{who}]" if self.to is None else f"[{who}, privately]"
        body = self.text.replace("\n", "\n    ") if "\n" in self.text else self.text
        return f"{tag} {body}" if body else tag


class Transcript:
    """Append-only list of messages with per-role views."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        # Per viewer: how many messages were rendered, and the text so far (it only grows).
        self._rendered: dict[str, tuple[int, str]] = {}

    def add(self, sender: str, text: str, to: str | None = None) -> Message:
        # Message(sender, text, to), without the frozen dataclass's per-field __setattr__.
        message = _new_object(Message)
        fields = message.__dict__
        fields["sender"], fields["text"], fields["to"] = sender, text, to
        self.messages.append(message)
        return message

    def gm(self, text: str, to: str | None = None) -> Message:
        """A game-master message (public, or private to ``to``)."""
        return self.add(GAME_MASTER, text, to)

    def visible(self, role: str) -> list[Message]:
        return [m for m in self.messages if m.visible_to(role)]

    def render(self, role: str) -> str:
        done, text = self._rendered.get(role, (0, ""))
        messages = self.messages
        if done == len(messages):
            return text
        # Message.visible_to, inlined: this runs for every new message and seat.
        new = [
            m.render(role)
            for m in messages[done:]
            if m.to is None or m.to == role or m.sender == role
        ]
        if new:  # a rendered message is never empty, so "" means no line yet
            joined = "\n".join(new)
            text = f"{text}\n{joined}" if text else joined
        self._rendered[role] = (len(messages), text)
        return text


_new_object = object.__new__

_THINK_BLOCK = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)
_THINK_OPEN = re.compile(r"<think>", re.IGNORECASE)
_THINK_CLOSE = re.compile(r"</think>", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]")
_BLANK_LINES = re.compile(r"\n{3,}")


def split_reasoning(text: str) -> tuple[str, str]:
    """Split a reply into ``(reasoning, visible)``.

    Complete ``<think>...</think>`` blocks are reasoning. An unclosed ``<think>`` makes the rest
    of the reply reasoning; a ``</think>`` without an opening tag makes everything before it
    reasoning (some chat templates put the opening tag in the prompt).

    >>> split_reasoning("<think>bluff</think>I offer 2 books")
    ('bluff', 'I offer 2 books')
    >>> split_reasoning("plan</think>deal")
    ('plan', 'deal')
    """
    if "<" not in text:  # no tag at all (most replies): nothing to split
        return "", text.strip()
    thoughts = [m.group(0)[7:-8] for m in _THINK_BLOCK.finditer(text)]
    visible = _THINK_BLOCK.sub("", text)
    close = _THINK_CLOSE.search(visible)
    if close:
        thoughts.insert(0, visible[: close.start()])
        visible = _THINK_CLOSE.sub("", visible[close.end() :])
    opened = _THINK_OPEN.search(visible)
    if opened:
        thoughts.append(visible[opened.end() :])
        visible = visible[: opened.start()]
    return "\n".join(t.strip() for t in thoughts if t.strip()), visible.strip()


def _printable(text: str) -> bool:
    return (text.replace("\n", "") if "\n" in text else text).isprintable()


def clean_text(text: str, max_chars: int) -> str:
    """Drop control and invisible formatting characters and bound the length."""
    # The `in` checks skip copies of the (usual) text that has nothing to replace.
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "\t" in text:
        text = text.replace("\t", " ")
    # ASCII text without control characters (the usual reply) has nothing to drop: the
    # pattern's other ranges are all outside ASCII, and isprintable() is False only for
    # \x00-\x1f and \x7f there (newlines, which stay, are taken out of the test).
    if not (text.isascii() and _printable(text)):
        text = _CONTROL.sub("", text)
    if "\n\n\n" in text:
        text = _BLANK_LINES.sub("\n\n", text)
    text = text.strip()
    if len(text) > max_chars:
        text = text[:max_chars].rstrip() + " [...]"
    return text


def require_int(name: str, value: object, minimum: int) -> None:
    """Raise ``ValueError`` naming ``value`` unless it is an integer >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")


@dataclass(frozen=True)
class GameInfo:
    """What a game is, as data (in the spirit of OpenSpiel's GameType).

    Attributes:
        name: Short name, e.g. ``"negotiation"``.
        roles: Seat names, in seat order.
        description: One line for listings.
        reward_range: Bounds of every per-step reward (penalties included).
        max_turns: Hard bound on the number of moves in an episode.
        discount: The discount a trainer should use for returns.
        simultaneous: Whether the roles on turn move at the same time.
        zero_sum: Whether the payoffs always sum to zero.
        vector_size: Length of the numeric observation vector.
        vector_bounds: ``(low, high)`` of every entry of that vector.
    """

    name: str
    roles: tuple[str, ...]
    description: str
    reward_range: tuple[float, float]
    max_turns: int
    discount: float = 1.0
    simultaneous: bool = False
    zero_sum: bool = False
    vector_size: int = 1
    vector_bounds: tuple[float, float] = (0.0, 1.0)


@dataclass
class GameState:
    """Turn, transcript and outcome, shared by every game (game states subclass it)."""

    to_move: tuple[str, ...] = ()
    transcript: Transcript = field(default_factory=Transcript)
    turn: int = 0
    done: bool = False
    outcome: str = ""
    returns: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class RoleView:
    """What one role may know at one moment.

    Attributes:
        preamble: What does not change during the episode (rules, role, private facts).
        instruction: A short instruction for this turn (appended after the transcript).
        vector: Numeric summary of the role's view (inside ``GameInfo.vector_bounds``).
        facts: The same information as plain data, for scripted agents.
    """

    preamble: str
    instruction: str
    vector: Sequence[float]
    facts: Mapping[str, Any] = field(default_factory=dict)


def new_role_view(
    preamble: str, instruction: str, vector: Sequence[float], facts: Mapping[str, Any]
) -> RoleView:
    """``RoleView(preamble, instruction, vector, facts)``, built without the frozen
    dataclass's per-field ``__setattr__`` (a game's view runs at every move)."""
    view = _new_object(RoleView)
    fields = view.__dict__
    fields["preamble"], fields["instruction"] = preamble, instruction
    fields["vector"], fields["facts"] = vector, facts
    return view


@dataclass(frozen=True)
class StepOutcome:
    """What applying the moves of one turn produced."""

    rewards: Mapping[str, float] = field(default_factory=dict)


class Game(ABC):
    """Pure, deterministic rules of one game.

    Subclasses set :attr:`info` and implement the abstract methods; all randomness comes from
    the generator passed to :meth:`new_state`.
    """

    info: ClassVar[GameInfo]

    @abstractmethod
    def new_state(self, rng: np.random.Generator) -> GameState:
        """A fresh state; ``to_move`` names who moves first."""

    @abstractmethod
    def parse(self, state: GameState, role: str, text: str) -> Any:
        """Turn visible reply text into a move, or raise :class:`InvalidMove` with the reason."""

    @abstractmethod
    def apply(self, state: GameState, moves: Mapping[str, Any]) -> StepOutcome:
        """Apply the moves of every role in ``state.to_move`` and advance the state.

        Must add what each player said to ``state.transcript`` and, when the game ends, set
        ``state.done``, ``state.outcome`` and ``state.returns``.
        """

    @abstractmethod
    def view(self, state: GameState, role: str) -> RoleView:
        """What ``role`` may see now."""

    def null_move(self, state: GameState, role: str) -> Any:
        """The move played for a role whose invalid move is penalised (``penalty`` policy)."""
        raise NotImplementedError(f"{self.info.name} has no null move")

    def forfeit(self, state: GameState, role: str) -> dict[str, float]:
        """Final rewards when ``role`` forfeits: the offender gets the minimum, others 0."""
        low, _ = self.info.reward_range
        return {r: (low if r == role else 0.0) for r in self.info.roles}

    def truncate(self, state: GameState) -> dict[str, float]:
        """Final rewards when the episode is cut short from outside (``max_cycles``)."""
        return dict.fromkeys(self.info.roles, 0.0)

    def summary(self, state: GameState) -> dict[str, Any]:
        """Game-specific facts for ``infos`` (e.g. agreement, scores); JSON-serialisable."""
        return {}

    def render_view(self, state: GameState, role: str, view: RoleView | None = None) -> str:
        """The full prompt text of ``role``: preamble, transcript, then this turn's instruction."""
        view = view if view is not None else self.view(state, role)
        history = state.transcript.render(role)
        # Never rewrite what the seat already read: an empty transcript is just the heading.
        # One f-string per case: the preamble is most of the text, copied once.
        preamble, instruction = view.preamble.strip(), view.instruction
        if instruction:
            instruction = instruction.strip()
            if history:
                return f"{preamble}\n\nTranscript:\n{history}\n\n{instruction}"
            return f"{preamble}\n\nTranscript:\n\n{instruction}"
        return f"{preamble}\n\nTranscript:\n{history}" if history else f"{preamble}\n\nTranscript:"
