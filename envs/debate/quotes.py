"""Quotes in debate arguments: parse, verify against the passage, mark for the judge.

A debater quotes the passage as ``<quote>exact words</quote>``. A quote is *verified* when,
after :func:`normalize` (Unicode NFKC, case folded, every run of punctuation and spaces made
one space), its words are a contiguous run of the passage's words: so case and punctuation do
not matter, a part of a sentence verifies, but a paraphrase, a spliced quote, a piece of a
word or an invented sentence does not (the normalised exact match of Khan et al. 2024).

The judge sees a verified quote as ``<v_quote>...</v_quote>`` and any other as
``<u_quote>...</u_quote>``. Text that imitates these marks cannot pass as one: every quote-like
tag outside a debater's own quote spans is removed, and a quote that contains a tag is never
verified (its tags are removed too).

>>> arg = parse_argument("As it says, <quote>The SKY is blue</quote>.", "The sky is blue.")
>>> arg.render()
'As it says, <v_quote>The SKY is blue</v_quote>.'
>>> parse_argument("<quote>The sea is blue</quote>", "The sky is blue.").render()
'<u_quote>The sea is blue</u_quote>'
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

_QUOTE_SPAN = re.compile(r"<quote>(.*?)</quote>", re.IGNORECASE | re.DOTALL)
#: Any tag that looks like a quote mark: <quote>, </v_quote>, <u_quote ...>, <verified_quote/>.
_QUOTE_LIKE_TAG = re.compile(r"<\s*/?\s*[a-z_]*quote\b[^<>]*>", re.IGNORECASE)
_ANY_TAG = re.compile(r"<\s*/?\s*[a-z_][^<>]*>", re.IGNORECASE)
_NON_WORD = re.compile(r"[\W_]+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def normalize(text: str) -> str:
    """Words of ``text``, case folded, separated by single spaces (punctuation dropped).

    >>> normalize("  Mary's  LAMB -- was, white! ")
    'mary s lamb was white'
    """
    return _NON_WORD.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


def split_sentences(passage: str) -> list[str]:
    """The passage's sentences (split after ``.``, ``!`` or ``?``)."""
    return [s.strip() for s in _SENTENCE_END.split(passage) if s.strip()]


def verify_quote(quote: str, passage: str) -> bool:
    """Whether ``quote`` is a contiguous run of whole words of ``passage`` (normalised)."""
    words = normalize(quote)
    return bool(words) and f" {words} " in f" {normalize(passage)} "


@dataclass(frozen=True)
class Quote:
    """One quote as the judge sees it.

    Attributes:
        text: The quoted words as written (quote-like tags removed).
        verified: Whether the words are in the passage.
        reason: Why a quote is not verified (``""`` when it is).
    """

    text: str
    verified: bool
    reason: str = ""

    def render(self) -> str:
        tag = "v_quote" if self.verified else "u_quote"
        return f"<{tag}>{self.text}</{tag}>"


@dataclass(frozen=True)
class Argument:
    """A parsed argument: plain text and quotes, in order.

    Attributes:
        parts: Text pieces (``str``) and :class:`Quote` objects.
        truncated: Whether words beyond the word limit were dropped.
    """

    parts: tuple[str | Quote, ...] = ()
    truncated: bool = False

    @property
    def quotes(self) -> tuple[Quote, ...]:
        return tuple(p for p in self.parts if isinstance(p, Quote))

    @property
    def words(self) -> int:
        return sum(len((p.text if isinstance(p, Quote) else p).split()) for p in self.parts)

    def render(self) -> str:
        """The argument with verified/unverified marks, as every seat reads it."""
        text = "".join(p.render() if isinstance(p, Quote) else p for p in self.parts).strip()
        return f"{text} [cut at the word limit]" if self.truncated else text


def _check(words: str, passage: str) -> Quote:
    if _ANY_TAG.search(words):
        return Quote(_QUOTE_LIKE_TAG.sub("", words).strip(), False, "a quote may not hold tags")
    if not normalize(words):
        return Quote(words.strip(), False, "the quote is empty")
    if not verify_quote(words, passage):
        return Quote(words.strip(), False, "not found word for word in the passage")
    return Quote(words.strip(), True)


def _cut(parts: list[str | Quote], limit: int) -> tuple[list[str | Quote], bool]:
    """Keep the first ``limit`` words; a quote cut short is re-checked by the caller."""
    kept: list[str | Quote] = []
    left = limit
    for part in parts:
        text = part.text if isinstance(part, Quote) else part
        words = text.split()
        if len(words) <= left:
            kept.append(part)
            left -= len(words)
            continue
        head = " ".join(words[:left])
        if head:
            kept.append(Quote(head, False) if isinstance(part, Quote) else f" {head}")
        return kept, True
    return kept, False


def parse_argument(text: str, passage: str, word_limit: int | None = None) -> Argument:
    """Split ``text`` into text and checked quotes, dropping words beyond ``word_limit``."""
    parts: list[str | Quote] = []
    position = 0
    for match in _QUOTE_SPAN.finditer(text):
        parts.append(_QUOTE_LIKE_TAG.sub("", text[position : match.start()]))
        parts.append(Quote(match.group(1), False))
        position = match.end()
    parts.append(_QUOTE_LIKE_TAG.sub("", text[position:]))
    truncated = False
    if word_limit is not None:
        parts, truncated = _cut(parts, word_limit)
    checked = [_check(p.text, passage) if isinstance(p, Quote) else p for p in parts]
    return Argument(tuple(p for p in checked if p), truncated)
