"""统一社会信用代码 (GB 32100-2015): format and check character."""

from __future__ import annotations

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def check_character(first17: str) -> str:
    """Return the check character for the first 17 characters of a code.

    :raises ValueError: if ``first17`` is not 17 characters of the code alphabet.
    """
    if len(first17) != 17 or any(ch not in ALPHABET for ch in first17):
        raise ValueError("expected 17 characters of the credit-code alphabet")
    total = sum(ALPHABET.index(ch) * weight for ch, weight in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def credit_code_problem(code: str) -> str | None:
    """Say in Chinese what is wrong with ``code``, or return None if it is valid."""
    if len(code) != 18:
        return "统一社会信用代码应为 18 位"
    bad = sorted({ch for ch in code if ch not in ALPHABET})
    if bad:
        return "统一社会信用代码含非法字符：" + "".join(bad)
    if check_character(code[:17]) != code[17]:
        return "统一社会信用代码校验位不正确"
    return None
