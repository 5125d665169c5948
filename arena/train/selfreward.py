"""Self-reward on unlabelled prompts: the majority answer as pseudo-label (test-time RL).

TTRL (Zuo et al. 2025, "Test-Time Reinforcement Learning") samples several answers to the same
question from the policy, takes the most common one as the label and rewards the samples that
agree with it. Here the samples of one group (same game and seed, hence same question) vote.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

_SPACE = re.compile(r"\s+")
_END_PUNCT = ".,;:!?\"' "


def normalise_answer(text: str) -> str:
    """Lower-case, collapse whitespace, strip end punctuation: ``" Paris. "`` -> ``"paris"``."""
    return _SPACE.sub(" ", text.lower()).strip(_END_PUNCT)


def extract_answer(text: str, pattern: str | None = None) -> str | None:
    """The normalised answer in ``text`` (the regex's first group, else the whole text);
    ``None`` when the pattern does not match or the answer is empty."""
    if pattern is not None:
        match = re.search(pattern, text, re.IGNORECASE | re.DOTALL)
        if match is None:
            return None
        text = match.group(1) if match.groups() else match.group(0)
    answer = normalise_answer(text)
    return answer or None


def majority_vote(answers: Sequence[str | None], min_votes: int = 1) -> str | None:
    """The most common non-``None`` answer; ties go to the one seen first; ``None`` if the
    winner has fewer than ``min_votes`` votes."""
    counts = Counter(a for a in answers if a is not None)
    if not counts:
        return None
    best = max(counts.values())
    label = next(a for a in answers if a is not None and counts[a] == best)
    return label if best >= min_votes else None


def self_rewards(
    answers: Sequence[str | None],
    agree: float = 1.0,
    disagree: float = 0.0,
    min_votes: int = 2,
) -> tuple[list[float], str | None]:
    """Pseudo-rewards of one group's answers and the pseudo-label.

    Without a label (no answer reached ``min_votes``) every sample gets 0, so the group
    carries no gradient.
    """
    label = majority_vote(answers, min_votes)
    if label is None:
        return [0.0] * len(answers), None
    return [agree if a == label else disagree for a in answers], label
