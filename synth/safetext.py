"""Text from records is shown, never obeyed: on a terminal and in a spreadsheet.

Terminals. A title or abstract can carry terminal escape sequences (``\\x1b[2J`` clears the screen, an OSC sequence
retitles the window, a carriage return overwrites the line) and Unicode bidirectional overrides that reorder
what is displayed. :func:`visible` replaces each such character with its escape (``\\x1b``, ``\\u202e``), so
the text stays readable and nothing is hidden; tabs and, unless asked otherwise, line ends are kept.
:func:`readable` first decodes what databases escape (HTML entities, inline tags) so the screen shows ``p < 0.001``.

Spreadsheets. A CSV cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is run as a
formula by Excel, LibreOffice and Google Sheets (OWASP "CSV injection"). :func:`spreadsheet_safe` writes such a
cell with a leading ``'`` (the spreadsheets' own "this is text" mark), except numbers such as ``-0.5``, which
stay numbers; :func:`from_spreadsheet` removes the mark again when synth reads the file back, so the round trip
loses nothing.
"""

from __future__ import annotations

import html
import re

# C0 controls but tab and line feed, DEL, C1 controls, and the Unicode bidirectional controls
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_CONTROL_NL = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: str, *, newlines: bool = True) -> str:
    """``text`` with every control character shown as its escape (line ends kept when ``newlines``)."""
    if not text:
        return text
    return (_CONTROL if newlines else _CONTROL_NL).sub(_escape, text)


# inline markup databases leave in titles and abstracts (HTML, JATS, MathML's wrappers): only these names, so
# text such as "p <0.05 and >3 visits" is never touched
_MARKUP = re.compile(r"</?(?:i|b|u|em|strong|sup|sub|sc|small|span|p|br|div|mml:\w+|jats:\w+)(?:\s[^<>]*)?/?>",
                     re.IGNORECASE)
_ENTITY = re.compile(r"&(?:#\d+|#x[0-9a-f]+|[a-z][a-z0-9]*);", re.IGNORECASE)


def readable(text: str) -> str:
    """``text`` as a person reads it: inline markup tags dropped, HTML entities decoded (``p &lt; 0.001`` ->
    ``p < 0.001``). Apply before :func:`visible`, which then shows any control character an entity spelt."""
    if not text or ("<" not in text and "&" not in text):
        return text
    text = _MARKUP.sub("", text)
    return html.unescape(text) if _ENTITY.search(text) else text


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def spreadsheet_safe(value: str) -> str:
    """``value`` as a CSV cell no spreadsheet runs as a formula (``'`` before a formula-like start)."""
    if value.startswith(_FORMULA_START) and not _is_number(value):
        return "'" + value
    return value


def from_spreadsheet(value: str) -> str:
    """The text :func:`spreadsheet_safe` was given (the guard ``'`` removed; other text unchanged)."""
    if value.startswith("'") and value[1:].startswith(_FORMULA_START) and not _is_number(value[1:]):
        return value[1:]
    return value


_TAG_START = re.compile(r"<(?=[A-Za-z/!?])")
_ENTITY = re.compile(r"&(?=#?\w+;)")


def markdown_safe(document: str) -> str:
    """A Markdown document whose text cannot inject HTML: every ``<`` that would open a tag and every ``&``
    that would start an entity is escaped (``&lt;``, ``&amp;``) outside fenced code blocks, where Markdown
    shows text as it is. A comparison such as ``k < 10`` stays as written."""
    out: list[str] = []
    fence = ""
    for line in document.split("\n"):
        run = re.match(r"\s*(`{3,})", line)
        if run and (not fence or run.group(1) == fence):
            fence = "" if fence else run.group(1)
        elif not fence:
            line = _TAG_START.sub("&lt;", _ENTITY.sub("&amp;", line))
        out.append(line)
    return "\n".join(out)
