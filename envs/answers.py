"""Answer matching shared by the question-answering games (quiz, twenty questions, help desk).

Free-text answers are compared after :func:`normalize_answer`, in the spirit of the SQuAD
evaluation script: case, accents, punctuation and the articles *a*, *an*, *the* do not
matter, and numbers may be written in words or digits (``"Twelve" == "12"``,
``"one hundred and five" == "105"``, ``"12,000" == "12000"``, ``"the 1990's" == "1990s"``).

:func:`answers_match` also drops a lead-in such as "The answer is" or "I think it is", so
``"The answer is twelve."`` matches ``"12"``. :func:`is_abstention` recognises "I don't know"
and its relatives ("unknown", "cannot be determined", "the passage does not say").

>>> normalize_answer("The Twelve Bridges!")
'12 bridges'
>>> answers_match("It is twenty-one.", ["21"])
True
>>> is_abstention("Sorry, I don't know.")
True
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

_UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19,
}  # fmt: skip
_TENS = {
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
    "eighty": 80, "ninety": 90,
}  # fmt: skip
_SCALES = {"hundred": 100, "thousand": 1_000, "million": 1_000_000, "billion": 1_000_000_000}
_NUMBER_WORDS = _UNITS.keys() | _TENS.keys() | _SCALES.keys()
_ARTICLES = frozenset({"a", "an", "the"})

_DIGIT_COMMA = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
_APOSTROPHES = re.compile(r"['\u2018\u2019\u02bc`]")
# A hyphen inside a code such as "A-48213" joins; between words ("twenty-one") it separates.
_CODE_HYPHEN = re.compile(r"(?<=[a-z])-(?=\d)|(?<=\d)-(?=[a-z\d])")
_NOT_WORD = re.compile(r"[^a-z0-9.\s]")
_STRAY_DOT = re.compile(r"(?<!\d)\.|\.(?!\d)")
_DECIMAL = re.compile(r"^(\d+)\.(\d*?)0*$")

_LEAD_INS = re.compile(
    r"^(?:(?:final|my|short) )?(?:answer|response)(?: is| would be)? "
    r"|^(?:i think|i believe|i guess|probably|maybe)(?: that)?(?: it is| its| it was| they are)? "
    r"|^(?:it is|its|it was|they are|that is|thats) "
)

_ABSTAIN_WHOLE = frozenset(
    {"pass", "skip", "abstain", "unknown", "none", "n", "n a", "na", "no answer", "unsure", "idk"}
)
_ABSTAIN_PHRASES = re.compile(
    r"\b(?:"
    r"i (?:really |honestly )?(?:do not|dont|dunno|cannot|cant|can not) know"
    r"|(?:do not|dont) know|dunno|no idea|no clue|not sure|unsure|idk"
    r"|(?:cannot|cant|can not|could not|couldnt|impossible to) "
    r"(?:be )?(?:determined?|answer(?:ed)?|tell|say|know|known|infer(?:red)?)"
    r"|(?:not|no|insufficient) (?:enough )?(?:information|info|context|data|details)"
    r"|(?:does not|doesnt|do not|dont|did not|didnt) (?:say|mention|state|specify|tell|give)"
    r"|not (?:stated|mentioned|given|specified|provided|said|known)"
    r"|unanswerable|no answer|i abstain|i pass|abstaining"
    r"|(?:is|remains|answer) unknown|unknown to me"
    r")\b"
)


def _numbers_from_words(tokens: list[str]) -> list[str]:
    """Replace runs of number words with digits: ``["twenty", "one"]`` -> ``["21"]``."""
    out: list[str] = []
    i = 0
    while i < len(tokens):
        if tokens[i] not in _NUMBER_WORDS:
            # "12 thousand" -> "12000"
            if tokens[i].isdigit() and i + 1 < len(tokens) and tokens[i + 1] in _SCALES:
                out.append(str(int(tokens[i]) * _SCALES[tokens[i + 1]]))
                i += 2
                continue
            out.append(tokens[i])
            i += 1
            continue
        total, current, last, j = 0, 0, "", i
        while j < len(tokens):
            word = tokens[j]
            if word in _UNITS:
                if last in ("unit", "teen"):  # "one two" is two numbers
                    break
                current += _UNITS[word]
                last = "teen" if _UNITS[word] >= 10 else "unit"
            elif word in _TENS:
                if last in ("unit", "teen", "tens"):
                    break
                current += _TENS[word]
                last = "tens"
            elif word in _SCALES:
                scale = _SCALES[word]
                if scale == 100:
                    current = max(current, 1) * 100
                else:
                    total += max(current, 1) * scale
                    current = 0
                last = "scale"
            elif word == "and" and last == "scale" and j + 1 < len(tokens):
                if tokens[j + 1] not in _UNITS and tokens[j + 1] not in _TENS:
                    break
            else:
                break
            j += 1
        out.append(str(total + current))
        i = j
    return out


def _tidy_number(token: str) -> str:
    """``"12.50"`` -> ``"12.5"``, ``"12.0"`` -> ``"12"``, ``"007"`` -> ``"7"``."""
    match = _DECIMAL.match(token)
    if match:
        whole, frac = match.groups()
        token = f"{whole}.{frac}" if frac else whole
    if token.isdigit():
        return str(int(token))
    return token


def normalize_answer(text: str) -> str:
    """Canonical form of an answer for comparison.

    Lower case, no accents, no punctuation (apostrophes vanish, other marks become spaces,
    a decimal point between digits stays), no articles, numbers as digits, single spaces.

    Args:
        text: Any answer text.

    Returns:
        The normalised text (possibly ``""``).

    >>> normalize_answer("Café  Déjà-vu")
    'cafe deja vu'
    >>> normalize_answer("Order A-48213")
    'order a48213'
    >>> normalize_answer("one hundred and five")
    '105'
    """
    if not isinstance(text, str):
        raise TypeError(f"an answer must be a str, got {type(text).__name__}")
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    text = _DIGIT_COMMA.sub("", text).replace("%", " percent ")
    text = _APOSTROPHES.sub("", text)
    text = _CODE_HYPHEN.sub("", text)
    text = _STRAY_DOT.sub(" ", _NOT_WORD.sub(" ", text))
    tokens = _numbers_from_words(text.split())
    return " ".join(_tidy_number(t) for t in tokens if t not in _ARTICLES)


def strip_lead_in(normalized: str) -> str:
    """Drop one lead-in such as ``"answer is"`` or ``"i think it is"`` from normalised text."""
    return _LEAD_INS.sub("", normalized, count=1).strip()


def answers_match(given: str, gold_aliases: Iterable[str] | str) -> bool:
    """Whether ``given`` is one of the gold answers, after normalisation.

    Args:
        given: The contestant's answer text.
        gold_aliases: The accepted answers (one string, or several aliases).

    Returns:
        True if the normalised answer, with or without a lead-in ("the answer is ..."),
        equals a normalised alias. An empty answer matches nothing.

    >>> answers_match("Twelve", ["12"])
    True
    >>> answers_match("the 1990s", ["1990s"])
    True
    >>> answers_match("not twelve", ["12"])
    False
    """
    aliases = [gold_aliases] if isinstance(gold_aliases, str) else list(gold_aliases)
    golds = {normalize_answer(a) for a in aliases} - {""}
    norm = normalize_answer(given)
    return bool(norm) and (norm in golds or strip_lead_in(norm) in golds)


def is_abstention(text: str) -> bool:
    """Whether ``text`` declines to answer ("I don't know", "unknown", "cannot be determined").

    A reply that hedges ("I'm not sure, maybe 12") counts as an abstention: it commits to
    nothing. Words that are abstentions only on their own ("pass", "unknown", "none") count
    only when they are the whole reply, so "Khyber Pass" is an answer.

    >>> is_abstention("It cannot be determined from the passage.")
    True
    >>> is_abstention("Khyber Pass")
    False
    """
    norm = normalize_answer(text)
    if not norm:
        return False
    return norm in _ABSTAIN_WHOLE or _ABSTAIN_PHRASES.search(norm) is not None
