"""Reading an export's bytes as text: UTF-8 with or without BOM, UTF-16 (BOM or NUL pattern), and a
Windows-1252 fallback that is reported as a warning. Binary and empty files are refused with a clear message.
"""

from __future__ import annotations

import codecs
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from synth.errors import InputError

__all__ = ["Decoded", "check_utf8", "decode_bytes"]

_WINDOW = 4096


@dataclass
class Decoded:
    """Bytes plus the encoding to read them with; text is produced on demand (streamed for big files)."""

    data: bytes
    encoding: str
    offset: int = 0
    warnings: list[str] = field(default_factory=list)
    #: False while UTF-8 is assumed but not yet checked (see :func:`check_utf8`).
    checked: bool = True
    #: Called with the number of bytes read so far as :meth:`chunks` reads the file (a progress display).
    progress: Callable[[int], None] | None = None

    def text(self) -> str:
        """The whole file as one string, line ends normalised to ``\\n``."""
        text = self.data[self.offset:].decode(self.encoding, errors="replace" if self.encoding == "cp1252" else "strict")
        if "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        return text

    def chunks(self, size: int = 1 << 23) -> Iterator[str]:
        """The text in pieces of about ``size`` characters (cut anywhere, even inside a line: the reader joins
        them), the last one ending with a line end; CRLF and CR become LF."""
        errors = "replace" if self.encoding == "cp1252" else "strict"
        decoder = codecs.getincrementaldecoder(self.encoding)(errors)
        view = memoryview(self.data)
        total = len(self.data)
        has_cr = b"\r" in self.data
        cr_held = False  # a piece ended in CR: its LF may open the next piece
        held = ""  # the last piece decoded, given once the next one is (the very last must end with a line end)
        for start in range(self.offset, total, size):
            final = start + size >= total
            piece = decoder.decode(view[start:start + size], final=final)
            if has_cr:
                if cr_held:
                    piece, cr_held = "\r" + piece, False
                if piece.endswith("\r") and not final:
                    piece, cr_held = piece[:-1], True
                piece = piece.replace("\r\n", "\n").replace("\r", "\n")
            if self.progress is not None:
                self.progress(min(start + size, total))
            if piece:
                if held:
                    yield held
                held = piece
        if held:
            yield held if held.endswith("\n") else held + "\n"

    def lines(self) -> Iterator[str]:
        """The file's lines without line ends (CRLF, CR and LF all accepted), decoded incrementally."""
        errors = "replace" if self.encoding == "cp1252" else "strict"
        stream = io.TextIOWrapper(io.BytesIO(self.data), encoding=self.encoding, errors=errors, newline=None)
        if self.offset:
            stream.buffer.read(self.offset)
        for line in stream:
            yield line[:-1] if line.endswith("\n") else line


def _valid_utf8(data: bytes, start: int = 0, window_size: int = _WINDOW) -> int | None:
    """``None`` when ``data[start:]`` is valid UTF-8, else the byte offset (in ``data``) of the first invalid
    sequence. Read in small windows: a window of ASCII bytes (most of an English export) needs no decoding, so
    the check costs a third of decoding the file."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    total = len(data)
    for pos in range(start, total, window_size):
        window = data[pos:pos + window_size]
        held = decoder.getstate()[0]  # the start of a sequence cut at the previous window's end
        if not held and window.isascii():
            continue
        try:
            decoder.decode(window, final=pos + window_size >= total)
        except UnicodeDecodeError as exc:
            return pos - len(held) + exc.start
    return None


def _looks_utf16(head: bytes) -> str | None:
    if len(head) < 4:
        return None
    even_nul = head[0::2].count(0) / max(1, len(head[0::2]))
    odd_nul = head[1::2].count(0) / max(1, len(head[1::2]))
    if odd_nul > 0.4 and even_nul < 0.05:
        return "utf-16-le"
    if even_nul > 0.4 and odd_nul < 0.05:
        return "utf-16-be"
    return None


def decode_bytes(data: bytes, name: str, *, check: bool = True) -> Decoded:
    """Choose how to read ``data`` (the contents of file ``name``).

    With ``check=False`` a file that looks like UTF-8 is not read through to prove it (``checked`` stays
    False): for a caller whose readers decode strictly anyway, and who calls :func:`check_utf8` otherwise.
    Raises :class:`~synth.errors.InputError` for an empty or binary file.
    """
    if not data or data.isspace():  # (isspace stops at the first other byte; strip would copy the file)
        raise InputError(f"{name}: the file is empty. Export the records again and import the new file.")
    if data.startswith(codecs.BOM_UTF8):
        encoding, offset = "utf-8", 3
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16-le" if data.startswith(codecs.BOM_UTF16_LE) else "utf-16-be"
        offset = 2
    else:
        encoding, offset = _looks_utf16(data[:4096]) or "utf-8", 0
    decoded = Decoded(data, encoding, offset)
    if encoding.startswith("utf-16"):
        try:
            data[offset:].decode(encoding)
        except UnicodeDecodeError as exc:
            raise InputError(f"{name}: looks like UTF-16 but byte {exc.start + offset} is invalid. "
                             "Re-save the file as UTF-8.") from exc
        return decoded
    head = data[offset:offset + 8192]
    controls = sum(1 for b in head if b < 32 and b not in (9, 10, 12, 13))
    if b"\x00" in head or controls > len(head) * 0.05:
        raise InputError(
            f"{name}: this is a binary file, not a bibliographic export (control bytes near the start). "
            "Export the records as RIS, MEDLINE, BibTeX, CSV, EndNote XML, PubMed XML or OpenAlex JSON."
        )
    if check:
        check_utf8(decoded)
    else:
        decoded.checked = False
    return decoded


def check_utf8(decoded: Decoded) -> list[str]:
    """Prove that a file read as UTF-8 is UTF-8, or else read it as Windows-1252 and say so (the warning is
    added to ``decoded.warnings`` and returned)."""
    decoded.checked = True
    data, offset = decoded.data, decoded.offset
    bad = _valid_utf8(data, offset)
    if bad is None:
        return []
    decoded.encoding = "cp1252"
    line = data.count(b"\n", 0, bad) + 1
    warning = (f"not valid UTF-8 (first bad byte at offset {bad}, line {line}); read as Windows-1252. "
               "Check accented characters, or re-export as UTF-8.")
    decoded.warnings.append(warning)
    return [warning]
