"""统一社会信用代码 check character (GB 32100-2015)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from marketplace.common.credit_code import ALPHABET, check_character, credit_code_problem

body17 = st.text(alphabet=ALPHABET, min_size=17, max_size=17)


@pytest.mark.parametrize(
    "code",
    ["91350100M000100Y43", "91110000600037341L", "91320500MA0000005C"],
)
def test_known_valid_codes(code):
    """Codes published on real business licences pass."""
    assert credit_code_problem(code) is None


def test_check_character_by_hand():
    """The weighted sum mod 31 rule, worked through for one code."""
    body = "91350100M000100Y4"
    total = sum(
        ALPHABET.index(ch) * w
        for ch, w in zip(body, (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28), strict=True)
    )
    assert check_character(body) == ALPHABET[(31 - total % 31) % 31] == "3"


@given(body17)
def test_computed_check_character_validates(body):
    """Any 17 characters of the alphabet plus their check character make a valid code."""
    assert credit_code_problem(body + check_character(body)) is None


@given(body17, st.integers(0, 16), st.sampled_from(ALPHABET))
def test_any_single_substitution_is_caught(body, position, replacement):
    """Changing one character of the body invalidates the check character."""
    code = body + check_character(body)
    changed = code[:position] + replacement + code[position + 1 :]
    if changed != code:
        assert credit_code_problem(changed) == "统一社会信用代码校验位不正确"


@pytest.mark.parametrize(
    ("code", "problem"),
    [
        ("91350100M000100Y4", "统一社会信用代码应为 18 位"),
        ("91350100M000100Y433", "统一社会信用代码应为 18 位"),
        ("91350100M000100I43", "统一社会信用代码含非法字符：I"),
        ("91350100O000100S43", "统一社会信用代码含非法字符：OS"),
        ("91350100M000100Y44", "统一社会信用代码校验位不正确"),
    ],
)
def test_malformed_codes_say_why(code, problem):
    """Length, alphabet and check character each get their own message."""
    assert credit_code_problem(code) == problem
