"""ICAO 9303 check digits (part 3, section 4.9): weights 7, 3, 1 repeating, modulo 10.

Character values: ``0``-``9`` are themselves, ``A``-``Z`` are 10-35, the filler ``<`` is 0.
"""

from __future__ import annotations

WEIGHTS = (7, 3, 1)


def char_value(char: str) -> int:
    """The numeric value of one MRZ character; ``ValueError`` for anything outside ``0-9A-Z<``."""
    if char == "<":
        return 0
    if "0" <= char <= "9":
        return ord(char) - ord("0")
    if "A" <= char <= "Z":
        return ord(char) - ord("A") + 10
    raise ValueError("not an MRZ character")


def check_digit(data: str) -> str:
    """The check digit of ``data`` as a one-character string."""
    total = sum(char_value(c) * WEIGHTS[i % 3] for i, c in enumerate(data))
    return str(total % 10)


def verify(data: str, digit: str) -> bool:
    """Whether ``digit`` is the check digit of ``data``.

    A filler in place of the digit holds only for an all-filler field (ICAO allows ``<`` for an
    empty optional-data field in TD3).
    """
    try:
        if digit == "<":
            return set(data) <= {"<"}
        return check_digit(data) == digit
    except ValueError:
        return False
