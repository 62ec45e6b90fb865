"""LaTeX to Unicode for BibTeX values: accents (``{\\"o}``, ``\\'e``), specials (``\\ss``, ``\\o``),
escaped characters (``\\&``), text macros (``\\textit{x}``) and protective braces removed.

A small regex decoder handles what exports contain (fast); a value with any other macro falls back to
:mod:`pylatexenc` (thorough but about 100 times slower).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Any

__all__ = ["latex_to_text"]

_PLAIN = re.compile(r"^[^\\{}$~]*$")
_ACCENTS = {"'": "\u0301", '"': "\u0308", "`": "\u0300", "^": "\u0302", "~": "\u0303", "=": "\u0304",
            ".": "\u0307", "u": "\u0306", "v": "\u030c", "H": "\u030b", "c": "\u0327", "k": "\u0328",
            "r": "\u030a", "d": "\u0323", "b": "\u0331"}
_SPECIALS = {"ss": "ß", "o": "ø", "O": "Ø", "aa": "å", "AA": "Å", "ae": "æ", "AE": "Æ", "oe": "œ", "OE": "Œ",
             "l": "ł", "L": "Ł", "i": "ı", "j": "ȷ", "textbackslash": "\ue002", "textasciitilde": "~",
             "textasciicircum": "^", "textendash": "–", "textemdash": "—", "dag": "†", "S": "§", "P": "¶",
             "pounds": "£", "copyright": "©", "textregistered": "®", "texttrademark": "™", "ldots": "…",
             "dots": "…", "textquoteright": "’", "textquoteleft": "‘", "textdegree": "°", "textmu": "µ"}
_ACCENT = re.compile(r"\\([a-zA-Z]\b|['\"`^~=.])\s*(?:\{\s*(\\[ij]\b|\\[ij](?=\W)|[A-Za-z])\s*\}|(\\[ij]\b|[A-Za-z]))")
_SPECIAL = re.compile(r"\\(" + "|".join(sorted(_SPECIALS, key=len, reverse=True)) + r")(?![A-Za-z])(?:\{\})?\s?")
_ESCAPED = re.compile(r"\\([&%$#_])")
_TEXT_MACRO = re.compile(r"\\(?:text(?:it|bf|rm|tt|sc|sf|up|sl|normal|superscript|subscript)|emph|mathrm|mbox|"
                         r"url|mathit|mathbf|textsubscript|ensuremath)\s*\{")
_SWITCH = re.compile(r"\{\\(?:em|it|bf|rm|tt|sc|sf|sl|small|scriptsize|footnotesize|large|Large)\s+")
_OPEN, _CLOSE = "\ue000", "\ue001"


def _accent(match: re.Match[str]) -> str:
    mark = _ACCENTS.get(match.group(1))
    letter = match.group(2) or match.group(3) or ""
    if mark is None:
        return match.group(0)
    if letter in ("\\i", "\\j"):
        letter = letter[1]
    return unicodedata.normalize("NFC", letter + mark)


def _fast(value: str) -> str | None:
    text = value.replace("\\{", _OPEN).replace("\\}", _CLOSE)
    text = _ESCAPED.sub(r"\1", text)
    text = _ACCENT.sub(_accent, text)
    text = text.replace("~", "\u00a0")  # a tie; a literal ~ arrives as \textasciitilde below
    text = _SPECIAL.sub(lambda m: _SPECIALS[m.group(1)], text)
    text = _TEXT_MACRO.sub("{", text)
    text = _SWITCH.sub("{", text)
    if "\\" in text:
        return None
    text = text.replace("{", "").replace("}", "")
    return text.replace(_OPEN, "{").replace(_CLOSE, "}").replace("\ue002", "\\")


@lru_cache(maxsize=1)
def _converter() -> Any:
    from pylatexenc.latex2text import LatexNodes2Text

    return LatexNodes2Text(math_mode="verbatim", strict_latex_spaces=False)


def latex_to_text(value: str) -> str:
    """Unicode text for a BibTeX field value; plain values come back unchanged."""
    if not value:
        return ""
    if _PLAIN.match(value):
        return value
    fast = _fast(value)
    if fast is not None:
        return fast
    try:
        return str(_converter().latex_to_text(value))
    except Exception:  # pylatexenc is lenient, but an odd value must never lose the record
        return value.replace("{", "").replace("}", "")
