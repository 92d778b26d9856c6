"""One table of characters that pass for ASCII digits, dots, dashes and letters, or that
Python reads as digits (`int("１")`, `int("1_0")`, `"¹".isdigit()`), and the variants of a
valid value they make. Every parser of user or external input is tested with it: each
variant must be refused."""

from __future__ import annotations

#: Stand-ins for the digit 1.
DIGITS = [
    ("fullwidth", "\uff11"),  # １
    ("arabic-indic", "\u0661"),  # ١
    ("extended-arabic-indic", "\u06f1"),  # ۱
    ("devanagari", "\u0967"),  # १
    ("bengali", "\u09e7"),  # ১
    ("superscript", "\u00b9"),  # ¹
    ("subscript", "\u2081"),  # ₁
    ("circled", "\u2460"),  # ①
    ("math-bold", "\U0001d7cf"),  # 𝟏
    ("double-struck", "\U0001d7d9"),  # 𝟙
]

#: Stand-ins for `.`.
DOTS = [("fullwidth-full-stop", "\uff0e"), ("one-dot-leader", "\u2024")]

#: Stand-ins for `-`.
HYPHENS = [("hyphen", "\u2010"), ("en-dash", "\u2013"), ("minus-sign", "\u2212"), ("non-breaking-hyphen", "\u2011")]

#: Stand-ins for letters (`rc`, `ee`, `v`, usernames).
LETTERS = [
    ("small-capital-r", "r", "\u0280"),  # ʀ
    ("modifier-capital-r", "r", "\u1d3f"),  # ᴿ
    ("cyrillic-e", "e", "\u0435"),  # е
    ("fullwidth-e", "e", "\uff45"),  # ｅ
    ("cyrillic-a", "a", "\u0430"),  # а
]

#: What else a paste can bring in: whitespace and invisible characters inside, and the
#: forms of numbers that int() accepts but no version has.
ODDITIES = [
    ("space-inside", lambda text: text.replace(".", ". ", 1)),
    ("tab-inside", lambda text: text.replace(".", "\t.", 1)),
    ("newline-inside", lambda text: text.replace(".", ".\n", 1)),
    ("no-break-space-before", lambda text: "\u00a0" + text),
    ("ideographic-space-after", lambda text: text + "\u3000"),
    ("zero-width-space-inside", lambda text: text.replace(".", ".\u200b", 1)),
    ("bidi-override-before", lambda text: "\u202e" + text),
    ("underscore-in-number", lambda text: _first_digit_doubled(text, "_")),
    ("leading-plus", lambda text: "+" + text),
]


#: The ids of ODDITIES, for parsers that find a value inside text rather than read all of it.
ODDITY_IDS = tuple(name for name, _ in ODDITIES)


def _first_digit_doubled(text: str, separator: str) -> str:
    """`11.1.0` -> `1_1.1.0`: int() reads `1_1` as 11."""
    for index, character in enumerate(text):
        if character.isascii() and character.isdigit():
            return text[: index + 1] + separator + text[index:]
    return text


def spoofs(valid: str, *, skip: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    """`(id, text)`: `valid` with one character swapped for each look-alike that applies
    to it, then the whitespace, invisible and number-form variants; `skip` leaves out the
    ids that are valid where `valid` comes from (`_` in a branch name or a username)."""
    variants: list[tuple[str, str]] = []
    if "1" in valid:
        variants += [(name, valid.replace("1", character, 1)) for name, character in DIGITS]
    if valid.count("1") > 1:  # `11.1.0-rc١`: the last digit too, the RC number in a version
        head, _, tail = valid.rpartition("1")
        variants += [(f"{name}-last", head + character + tail) for name, character in DIGITS]
    if "." in valid:
        variants += [(name, valid.replace(".", character, 1)) for name, character in DOTS]
    if "-" in valid:
        variants += [(name, valid.replace("-", character, 1)) for name, character in HYPHENS]
    variants += [(name, valid.replace(letter, character, 1)) for name, letter, character in LETTERS if letter in valid]
    variants += [(name, change(valid)) for name, change in ODDITIES]
    variants = [(name, text) for name, text in variants if text != valid and name not in skip]
    assert variants, f"no look-alike applies to {valid!r}"
    return variants


def params(valid: str, **kwargs) -> dict:
    """`pytest.mark.parametrize` arguments for `spoofs(valid)`: values, then ids."""
    variants = spoofs(valid, **kwargs)
    return {"argvalues": [text for _, text in variants], "ids": [name for name, _ in variants]}
