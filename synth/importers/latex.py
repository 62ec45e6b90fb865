"""LaTeX to Unicode for BibTeX values: accents (``{\\"o}``, ``\\'e``), specials (``\\ss``, ``\\o``),
escaped characters (``\\&``), text macros (``\\textit{x}``) and protective braces removed."""

from __future__ import annotations

import re
from functools import lru_cache

__all__ = ["latex_to_text"]

_PLAIN = re.compile(r"^[^\\{}$~]*$")


@lru_cache(maxsize=1)
def _converter():  # type: ignore[no-untyped-def]
    from pylatexenc.latex2text import LatexNodes2Text

    return LatexNodes2Text(math_mode="verbatim", strict_latex_spaces=False)


def latex_to_text(value: str) -> str:
    """Unicode text for a BibTeX field value; plain values come back unchanged (fast path)."""
    if not value:
        return ""
    if _PLAIN.match(value):
        return value
    try:
        text = _converter().latex_to_text(value)
    except Exception:  # pylatexenc is lenient, but never let a odd value lose the record
        text = value.replace("{", "").replace("}", "")
    return str(text)
