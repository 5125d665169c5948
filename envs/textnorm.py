"""Word normalisation shared by the word games: case, accents, punctuation and inflections.

Games that ask "did this text say that word?" (taboo, adversarial taboo, twenty questions,
help desk) use the same rules, so a move that counts as saying a word in one game counts in
every game.

* :func:`normalize_word` maps a word to a canonical key: lower case, accents folded,
  apostrophes and possessives dropped, irregular forms looked up in a small table
  (``ran -> run``, ``mice -> mouse``) and regular inflections removed by a light stemmer
  (plurals, ``-ing``, ``-ed``). Two words that are forms of each other get the same key:
  ``run``, ``runs``, ``running`` and ``ran`` all map to ``"run"``. The key is a matching key,
  not a dictionary word (``"make"`` maps to ``"mak"``).
* :func:`words_in` splits a text into normalised words.
* :func:`mentions_word` tells whether a text says a word (or a multi-word phrase) in any
  inflected form, also written as one word or hyphenated (``ice-cream``, ``icecream``).
* :func:`spells_word` catches a word spelled out letter by letter (``r-u-n``, ``R U N``).

The stemmer is deliberately light: derivations (``quickly``, ``teacher``) are different words.
It errs towards matching forms of the same word, at the cost of a few rare collisions between
unrelated words with the same stem (``hope`` and ``hop``).

>>> normalize_word("Running")
'run'
>>> words_in("Children's mice ran!")
['child', 'mous', 'run']
>>> mentions_word("She was running late", "run")
True
>>> mentions_word("a brunch", "run")
False
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

__all__ = ["IRREGULAR", "mentions_word", "normalize_word", "spells_word", "words_in"]

#: Irregular forms -> base form (verbs, nouns, adjectives). Forms that are also common
#: unrelated words (``saw``, ``left``, ``rose``, ``lay``) are left out on purpose.
IRREGULAR: dict[str, str] = {
    # verbs
    "am": "be", "is": "be", "are": "be", "was": "be", "were": "be", "been": "be",
    "ran": "run", "went": "go", "gone": "go", "ate": "eat", "eaten": "eat",
    "seen": "see", "took": "take", "taken": "take", "gave": "give", "given": "give",
    "came": "come", "made": "make", "did": "do", "done": "do", "got": "get", "gotten": "get",
    "knew": "know", "known": "know", "thought": "think", "brought": "bring", "bought": "buy",
    "caught": "catch", "taught": "teach", "flew": "fly", "flown": "fly", "drove": "drive",
    "driven": "drive", "wrote": "write", "written": "write", "spoke": "speak",
    "spoken": "speak", "broke": "break", "broken": "break", "chose": "choose",
    "chosen": "choose", "froze": "freeze", "frozen": "freeze", "sang": "sing", "sung": "sing",
    "rang": "ring", "rung": "ring", "drank": "drink", "drunk": "drink", "swam": "swim",
    "swum": "swim", "began": "begin", "begun": "begin", "fell": "fall", "fallen": "fall",
    "felt": "feel", "kept": "keep", "slept": "sleep", "met": "meet", "sat": "sit",
    "stood": "stand", "told": "tell", "sold": "sell", "found": "find", "held": "hold",
    "built": "build", "sent": "send", "spent": "spend", "lost": "lose", "paid": "pay",
    "said": "say", "wore": "wear", "worn": "wear", "tore": "tear", "torn": "tear",
    "rode": "ride", "ridden": "ride", "risen": "rise", "grew": "grow", "grown": "grow",
    "threw": "throw", "thrown": "throw", "blew": "blow", "blown": "blow", "drew": "draw",
    "drawn": "draw", "hid": "hide", "hidden": "hide", "bit": "bite", "bitten": "bite",
    "shook": "shake", "shaken": "shake", "woke": "wake", "woken": "wake", "stole": "steal",
    "stolen": "steal", "fought": "fight", "sought": "seek", "led": "lead", "fed": "feed",
    "bled": "bleed", "fled": "flee", "heard": "hear", "understood": "understand",
    "forgot": "forget", "forgotten": "forget", "won": "win", "shot": "shoot",
    "dug": "dig", "hung": "hang", "stuck": "stick", "struck": "strike", "swung": "swing",
    "meant": "mean", "dealt": "deal", "dreamt": "dream", "burnt": "burn",
    "learnt": "learn", "lent": "lend", "bent": "bend", "wept": "weep",
    "swept": "sweep", "crept": "creep", "knelt": "kneel", "sped": "speed", "slid": "slide",
    "has": "have", "had": "have", "having": "have",
    # nouns
    "men": "man", "women": "woman", "children": "child", "feet": "foot", "teeth": "tooth",
    "geese": "goose", "mice": "mouse", "lice": "louse", "people": "person", "oxen": "ox",
    "knives": "knife", "wives": "wife", "lives": "life", "wolves": "wolf", "leaves": "leaf",
    "halves": "half", "shelves": "shelf", "loaves": "loaf", "calves": "calf",
    "thieves": "thief", "scarves": "scarf", "hooves": "hoof", "elves": "elf",
    "selves": "self", "cacti": "cactus", "fungi": "fungus", "crises": "crisis",
    "phenomena": "phenomenon", "criteria": "criterion", "data": "datum",
    # adjectives
    "better": "good", "best": "good", "worse": "bad", "worst": "bad",
}  # fmt: skip

#: Words whose ending only looks like an inflection; they are kept whole.
UNINFLECTED = frozenset(
    {"morning", "evening", "ceiling", "nothing", "something", "anything", "everything",
     "during", "pudding", "wedding", "bowling", "earring", "herring", "offspring",
     "ring", "thing", "king", "sing", "wing",
     "spring", "string", "swing", "sting", "bring", "cling", "fling", "sling", "news",
     "series", "species", "lens", "always", "perhaps", "towards", "yes", "this", "thus",
     "gas", "bus", "plus", "atlas", "canvas", "chaos", "iris", "tennis", "physics", "maths"}
)  # fmt: skip

_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'", "\u02bc": "'"})
_VOWEL = re.compile(r"[aeiouy]")
_DOUBLE = re.compile(r"([bcdfghjkmnpqrtvwx])\1$")


def _fold(text: str) -> str:
    """Lower case, accents folded, curly apostrophes made straight."""
    text = unicodedata.normalize("NFKD", text.translate(_APOSTROPHES).casefold())
    return "".join(ch for ch in text if not unicodedata.combining(ch))


def _strip_suffix(word: str) -> str:
    """Remove one regular inflection (plural, -ing, -ed) from a folded word."""
    if word in UNINFLECTED or len(word) <= 3:
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("sses"):
        return word[:-2]
    if word.endswith("es") and re.search(r"(?:[sxz]|ch|sh)es$", word):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is", "'s")):
        return word[:-1]
    for suffix in ("ing", "ed"):
        if not word.endswith(suffix):
            continue
        stem = word[: -len(suffix)]
        if suffix == "ed" and word.endswith("eed"):
            # need, seed, speed are not past tenses; agreed, guaranteed are
            return word if len(word) <= 5 else word[:-1]
        if suffix == "ing" and word.endswith("ying") and len(word) <= 5:
            return word[:-4] + "ie"  # dying, lying, tying
        if suffix == "ed" and word.endswith("ied") and len(word) > 4:
            return word[:-3] + "y"
        if len(stem) >= 2 and _VOWEL.search(stem):
            return stem[:-1] if _DOUBLE.search(stem) else stem
    return word


def _canonical(word: str) -> str:
    """Fold a stem so that ``make``/``mak`` and ``city``/``citi`` agree."""
    if len(word) >= 3 and word.endswith("e") and not word.endswith("ee"):
        word = word[:-1]
    if len(word) >= 3 and word.endswith("y") and word[-2] not in "aeiou":
        word = word[:-1] + "i"
    return word


@lru_cache(maxsize=65_536)
def normalize_word(word: str) -> str:
    """The matching key of one word: every inflected form of a word gets the same key.

    Args:
        word: One word, in any case, with or without surrounding punctuation.

    Returns:
        The key (lower case ASCII letters and digits where the word was Latin script), or
        ``""`` for a string with no letters or digits.

    >>> [normalize_word(w) for w in ("run", "Runs", "running", "ran")]
    ['run', 'run', 'run', 'run']
    >>> normalize_word("Cities'") == normalize_word("city")
    True
    """
    tokens = _WORD.findall(_fold(word))
    if not tokens:
        return ""
    token = "".join(tokens)
    if token.endswith("'s"):
        token = token[:-2]
    token = token.replace("'", "")
    if token in IRREGULAR:
        token = IRREGULAR[token]
    else:
        token = _strip_suffix(token)
        token = IRREGULAR.get(token, token)
    return _canonical(token)


def _raw_words(text: str) -> list[str]:
    return _WORD.findall(_fold(text))


def words_in(text: str) -> list[str]:
    """The normalised words of a text, in order (see :func:`normalize_word`).

    >>> words_in("Dogs' bones, DOG-bone!")
    ['dog', 'bon', 'dog', 'bon']
    """
    return [key for key in map(normalize_word, _raw_words(text)) if key]


def mentions_word(text: str, word: str) -> bool:
    """Whether ``text`` says ``word`` in any inflected form.

    ``word`` may be a phrase (``"ice cream"``): it matches its words in sequence, and also
    the phrase written as one word (``icecream``) or hyphenated. A one-word ``word`` also
    matches when the text splits it in two or three (``fire-fighter`` for ``firefighter``).
    Matching is by whole words: ``run`` is not found in ``brunch``.

    Raises:
        ValueError: If ``word`` has no letters or digits.

    >>> mentions_word("We flew home", "fly")
    True
    >>> mentions_word("I love ice-cream", "ice cream")
    True
    """
    target = [normalize_word(w) for w in _raw_words(word)]
    if not target:
        raise ValueError(f"mentions_word needs a word with letters or digits, got {word!r}")
    joined = normalize_word("".join(_raw_words(word)))
    raw = _raw_words(text)
    keys = [normalize_word(w) for w in raw]
    n = len(target)
    for i in range(len(keys)):
        if keys[i : i + n] == target:
            return True
        for span in (1, 2, 3):
            if i + span <= len(raw) and normalize_word("".join(raw[i : i + span])) == joined:
                return True
    return False


def spells_word(text: str, word: str) -> bool:
    """Whether ``text`` spells ``word`` out as single letters (``r-u-n``, ``R. U. N.``).

    Only the word's own letters count (no inflections); words of one letter never match.

    >>> spells_word("it is spelled c-a-t", "cat")
    True
    """
    letters = [ch for ch in _fold(word) if ch.isalnum()]
    if len(letters) < 2:
        return False
    singles = "".join(t if len(t) == 1 else " " for t in _raw_words(text))
    return "".join(letters) in singles
