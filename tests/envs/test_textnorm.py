"""Table tests of the shared word normalisation (palaestra.envs.textnorm)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from palaestra.envs.textnorm import (
    IRREGULAR,
    mentions_word,
    normalize_word,
    spells_word,
    words_in,
)

# Every word of a row must get the same key, and the key is the one given.
SAME_KEY = [
    ("run", ["run", "Runs", "running", "RAN"]),
    ("go", ["go", "goes", "going", "went", "gone"]),
    ("mak", ["make", "makes", "making", "made"]),
    ("citi", ["city", "cities", "City's"]),
    ("movi", ["movie", "movies"]),
    ("box", ["box", "boxes"]),
    ("watch", ["watch", "watches", "watched", "watching"]),
    ("glass", ["glass", "glasses"]),
    ("bus", ["bus", "buses"]),
    ("carri", ["carry", "carries", "carried", "carrying"]),
    ("stop", ["stop", "stops", "stopped", "stopping"]),
    ("di", ["die", "dies", "died", "dying"]),
    ("agree", ["agree", "agrees", "agreed", "agreeing"]),
    ("see", ["see", "sees", "seeing", "seen"]),
    ("mous", ["mouse", "mice"]),
    ("knif", ["knife", "knives"]),
    ("child", ["child", "children", "children's"]),
    ("dog", ["dog", "dogs", "dog's", "dogs'", "DOG!", "\u201cdog\u201d"]),
    ("caf", ["cafe", "caf\u00e9", "CAF\u00c9S"]),
    ("fli", ["fly", "flies", "flew", "flown"]),
    ("good", ["good", "better", "best"]),
    ("buzz", ["buzz", "buzzes", "buzzed", "buzzing"]),
    ("fill", ["fill", "filled", "filling"]),
    ("need", ["need", "needs", "needed"]),
]

# Pairs that must NOT be merged (different words, or a false inflection).
DIFFERENT = [
    ("bee", "be"),
    ("seed", "see"),
    ("sing", "s"),
    ("thing", "th"),
    ("morning", "morn"),
    ("earring", "ear"),
    ("news", "new"),
    ("flower", "flow"),
    ("bed", "b"),
    ("spring", "spr"),
]


@pytest.mark.parametrize(("key", "forms"), SAME_KEY)
def test_forms_of_a_word_share_one_key(key, forms):
    assert [normalize_word(w) for w in forms] == [key] * len(forms)


@pytest.mark.parametrize(("a", "b"), DIFFERENT)
def test_different_words_keep_different_keys(a, b):
    assert normalize_word(a) != normalize_word(b)


@pytest.mark.parametrize("text", ["", "   ", "!!!", "\x00\x01", "--"])
def test_no_letters_gives_empty_key(text):
    assert normalize_word(text) == ""


def test_irregular_table_maps_to_base_forms():
    assert IRREGULAR["ran"] == "run" and IRREGULAR["mice"] == "mouse"
    # Ambiguous forms stay out: "saw" the tool, "left" the side, "rose" the flower.
    assert not {"saw", "left", "rose", "lay"} & set(IRREGULAR)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("Children's mice ran!", ["child", "mous", "run"]),
        ("Dogs' bones, DOG-bone!", ["dog", "bon", "dog", "bon"]),
        ("  \n\t ", []),
        ("x_y 42 apples", ["x", "y", "42", "appl"]),
    ],
)
def test_words_in(text, words):
    assert words_in(text) == words


@pytest.mark.parametrize(
    ("text", "word", "expected"),
    [
        ("She was running late", "run", True),
        ("he ran home", "run", True),
        ("a brunch", "run", False),
        ("RUNS!", "run", True),
        ("we flew home", "fly", True),
        ("two knives", "knife", True),
        ("I love ice-cream", "ice cream", True),
        ("I love icecream", "ice cream", True),
        ("ice and cream", "ice cream", False),
        ("the fire-fighter came", "firefighter", True),
        ("a fire fighter", "firefighter", True),
        ("firefighters", "firefighter", True),
        ("no such word here", "apple", False),
        ("", "apple", False),
        ("the bee buzzes", "be", False),
        ("to be or not", "bee", False),
        ("a caf\u00e9 nearby", "cafe", True),
    ],
)
def test_mentions_word(text, word, expected):
    assert mentions_word(text, word) is expected


def test_mentions_word_rejects_an_empty_word():
    with pytest.raises(ValueError, match="letters or digits"):
        mentions_word("anything", "  ")


@pytest.mark.parametrize(
    ("text", "word", "expected"),
    [
        ("it is spelled c-a-t", "cat", True),
        ("R. U. N.", "run", True),
        ("r u n", "run", True),
        ("a cat", "cat", False),
        ("c a r t", "cat", False),
        ("I a m", "a", False),
    ],
)
def test_spells_word(text, word, expected):
    assert spells_word(text, word) is expected


@given(st.text(max_size=200))
def test_any_text_gives_nonempty_keys_without_spaces(text):
    for key in words_in(text):
        assert key and not any(ch.isspace() for ch in key)


@given(st.text(max_size=200), st.sampled_from(["run", "apple", "ice cream", "fly"]))
def test_a_word_is_found_when_appended(text, word):
    assert mentions_word(f"{text} {word}", word)
