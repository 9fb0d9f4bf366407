"""The digits the archive reads: ASCII 0-9, Persian ۰-۹ (U+06F0..) and Arabic-Indic ٠-٩
(U+0660..), nothing else.

Python is more generous than that, in three inconsistent ways: ``str.isdigit()`` is true
for superscripts and circled digits ("²", "①") that ``int()`` refuses, while ``int()``,
``float()`` and the regular expression ``\\d`` accept every Unicode decimal digit
(Devanagari, fullwidth, Tibetan...). Parse digits through these helpers instead.
"""

from __future__ import annotations

PERSIAN = "".join(chr(0x06F0 + i) for i in range(10))
ARABIC_INDIC = "".join(chr(0x0660 + i) for i in range(10))
ACCEPTED = frozenset("0123456789" + PERSIAN + ARABIC_INDIC)
# the Arabic decimal separator (٫) reads as a point in numbers typed on a Persian keyboard
_TO_LATIN = str.maketrans(PERSIAN + ARABIC_INDIC + "\u066b", "0123456789" * 2 + ".")
_TO_PERSIAN = str.maketrans("0123456789", PERSIAN)


def to_latin_digits(text: str) -> str:
    return text.translate(_TO_LATIN)


def to_persian_digits(text: str) -> str:
    return text.translate(_TO_PERSIAN)


def is_ascii_digits(text: str) -> bool:
    """True for a non-empty run of 0-9 only (not "²", not "١", not "")."""
    return text.isascii() and text.isdigit()


def foreign_digit(text: str) -> str | None:
    """The first character that looks like a number but is not a digit the archive reads."""
    return next((ch for ch in text if ch.isnumeric() and ch not in ACCEPTED), None)


def parse_int(text: str, *, max_digits: int = 18, ascii_only: bool = False) -> int | None:
    """A non-negative integer written in accepted digits (surrounding spaces allowed), or
    None. At most ``max_digits`` digits, so the value fits a 64-bit column. HTTP headers
    pass ``ascii_only`` (the protocol's numbers are ASCII)."""
    latin = text.strip() if ascii_only else to_latin_digits(text.strip())
    if not is_ascii_digits(latin) or len(latin) > max_digits:
        return None
    return int(latin)


def parse_float(text: str) -> float | None:
    """A finite decimal number ("-35.5", "۳۵٫۵", "35,5"), or None (no exponents, no nan)."""
    latin = to_latin_digits(text.strip()).replace(",", ".")
    body = latin[1:] if latin[:1] in ("-", "+") else latin
    whole, _, frac = body.partition(".")
    if not (whole or frac) or len(body) > 40:
        return None
    if (whole and not is_ascii_digits(whole)) or (frac and not is_ascii_digits(frac)):
        return None
    return float(latin)
