"""Answer matching shared by the question games: normalisation, matching, abstention."""

from __future__ import annotations

import pytest

from palaestra.envs.answers import answers_match, is_abstention, normalize_answer

NORMALIZE_CASES = [
    ("Paris", "paris"),
    ("  The   Eiffel Tower! ", "eiffel tower"),
    ("an apple", "apple"),
    ("Twelve", "12"),
    ("twenty-one", "21"),
    ("one hundred and five", "105"),
    ("a hundred", "100"),
    ("two thousand and twenty", "2020"),
    ("45 thousand", "45000"),
    ("12,000", "12000"),
    ("3.50", "3.5"),
    ("12.0", "12"),
    ("007", "7"),
    ("one two", "1 2"),  # two numbers, not twelve
    ("the 1990s", "1990s"),
    ("the 1990's", "1990s"),
    ("Café Déjà-vu", "cafe deja vu"),
    ("Order A-48213", "order a48213"),
    ("ilsa.vorne@example.com", "ilsa vorne example com"),
    ("50%", "50 percent"),
    ("", ""),
    ("?!", ""),
]


@pytest.mark.parametrize(("text", "expected"), NORMALIZE_CASES)
def test_normalize_answer(text, expected):
    assert normalize_answer(text) == expected


MATCH_CASES = [
    ("Twelve", ["12"], True),
    ("12", ["twelve"], True),
    ("the 1990s", ["1990s"], True),
    ("1990s", ["the 1990s"], True),
    ("The answer is twelve.", ["12"], True),
    ("Answer: Paris", ["paris"], True),
    ("I think it is Paris.", ["Paris"], True),
    ("It was 1874", "1874", True),  # one gold string
    ("Sabe River", ["Sabe", "the Sabe River"], True),
    ("45,000", ["45000"], True),
    ("not twelve", ["12"], False),
    ("1874 or 1875", ["1874"], False),
    ("13", ["12"], False),
    ("Paris, Texas", ["Paris"], False),
    ("", ["12"], False),
    ("the", ["a"], False),  # both normalise to nothing: no match
]


@pytest.mark.parametrize(("given", "golds", "expected"), MATCH_CASES)
def test_answers_match(given, golds, expected):
    assert answers_match(given, golds) is expected


ABSTENTION_CASES = [
    ("I don't know", True),
    ("I do not know.", True),
    ("Sorry, I really don't know", True),
    ("Unknown", True),
    ("unknown.", True),
    ("The answer is unknown", True),
    ("It cannot be determined from the passage.", True),
    ("Can't be determined", True),
    ("There is not enough information.", True),
    ("The passage does not say.", True),
    ("It is not mentioned", True),
    ("I'm not sure, maybe 12", True),  # a hedge commits to nothing
    ("No idea", True),
    ("idk", True),
    ("N/A", True),
    ("pass", True),
    ("Unanswerable", True),
    ("Paris", False),
    ("12", False),
    ("Khyber Pass", False),  # "pass" only counts on its own
    ("Unknown Soldier", False),
    ("The Known World", False),
    ("no", False),
    ("", False),
]


@pytest.mark.parametrize(("text", "expected"), ABSTENTION_CASES)
def test_is_abstention(text, expected):
    assert is_abstention(text) is expected


def test_normalize_rejects_non_text():
    with pytest.raises(TypeError, match="str"):
        normalize_answer(12)  # type: ignore[arg-type]
