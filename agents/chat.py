"""Observations as chat messages, and back (shared by the ``hf:``, ``openai:`` and serve code).

An observation becomes a system message (its :attr:`~Observation.preamble`: rules, role,
private facts) and a user message (the transcript and this turn's instruction). A chat request
that arrives over HTTP becomes an observation the same way round.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import fields
from typing import Any

from palaestra.envs.protocol import Observation

#: Game name of observations rebuilt from a plain chat request.
CHAT_GAME = "chat"


def observation_messages(obs: Observation) -> list[dict[str, str]]:
    """``[system: preamble, user: the rest]``, or one user message when there is no preamble."""
    if obs.preamble and obs.text.startswith(obs.preamble):
        rest = obs.text[len(obs.preamble) :].strip()
        return [
            {"role": "system", "content": obs.preamble.strip()},
            {"role": "user", "content": rest},
        ]
    return [{"role": "user", "content": obs.text}]


def message_text(content: Any) -> str:
    """The text of a message's ``content``: a string, or a list of ``{"type": "text"}`` parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, Sequence):
        parts = [p.get("text", "") for p in content if isinstance(p, Mapping)]
        return "".join(parts)
    if content is None:
        return ""
    raise TypeError(f"message content must be a string or a list of parts, got {content!r}")


def messages_observation(messages: Sequence[Mapping[str, Any]]) -> Observation:
    """Rebuild an observation from chat messages (the inverse of :func:`observation_messages`).

    System messages form the preamble. One remaining user message is the rest of the text as it
    is; a longer conversation is written out as ``role: content`` paragraphs.

    Raises:
        ValueError: No messages, or a message without a role.
    """
    if not messages:
        raise ValueError("a chat request needs at least one message")
    system, rest = [], []
    for message in messages:
        role = message.get("role") if isinstance(message, Mapping) else None
        if not role:
            raise ValueError(f"each message needs a 'role', got {message!r}")
        text = message_text(message.get("content"))
        (system if role in ("system", "developer") else rest).append((role, text))
    preamble = "\n\n".join(text for _, text in system)
    if len(rest) == 1 and rest[0][0] == "user":
        body = rest[0][1]
    else:
        body = "\n\n".join(f"{role}: {text}" for role, text in rest)
    text = f"{preamble}\n\n{body}" if preamble else body
    return Observation(text=text, game=CHAT_GAME, role="assistant", preamble=preamble)


def observation_to_dict(obs: Observation) -> dict[str, Any]:
    """A JSON-able copy of an observation (sent alongside a chat request when asked to)."""
    return {
        "text": obs.text,
        "game": obs.game,
        "role": obs.role,
        "preamble": obs.preamble,
        "instruction": obs.instruction,
        "facts": dict(obs.facts),
        "vector": [float(v) for v in obs.vector],
        "episode": obs.episode,
        "turn": int(obs.turn),
    }


def observation_from_dict(data: Mapping[str, Any]) -> Observation:
    """Inverse of :func:`observation_to_dict`.

    Raises:
        ValueError: Missing ``text``/``game``/``role``, or unknown keys.
    """
    names = {f.name for f in fields(Observation)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ValueError(f"unknown observation keys {unknown}; expected some of {sorted(names)}")
    missing = [k for k in ("text", "game", "role") if k not in data]
    if missing:
        raise ValueError(f"an observation needs {missing}")
    return Observation(**dict(data))
