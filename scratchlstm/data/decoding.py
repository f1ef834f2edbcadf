"""Bytes to text: gzip first (recognised by its magic bytes), then the encoding.

| encoding | how it is recognised |
|---|---|
| UTF-16 | a byte-order mark (``FF FE`` or ``FE FF``) |
| UTF-8 with BOM | the mark ``EF BB BF`` (what spreadsheets write for "CSV UTF-8") |
| UTF-8 | the bytes decode as UTF-8 |
| Windows-1252 | bytes 0x80-0x9F (``€`` is 0x80) that decode as Windows-1252; an assumption, so it is said |
| Latin-1 | anything else without NUL bytes; an assumption, so it is said |

A zip archive is refused: an Excel workbook (``.xlsx``, a zip of XML parts under ``xl/``) with the
way to save it as CSV or read it with pandas, any other with the advice to extract the CSV.

Latin-1 is tried last because every byte string decodes as Latin-1: it would accept a UTF-8 file
and turn its accents into two characters each. Its bytes 0x80-0x9F are control characters, which
no price file means; a file with them comes from Windows (Excel's "CSV" in Western Europe), whose
code page puts ``€``, ``’`` and ``…`` there, and is read as Windows-1252. A gzip file is decompressed with a bound on its
output (``MAX_DECOMPRESSED_BYTES``), so a few kilobytes that expand to gigabytes are refused
instead of exhausting memory.
"""

from __future__ import annotations

import codecs
import io
import re
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from .refusal import refuse

GZIP_MAGIC = b"\x1f\x8b"
ZIP_MAGIC = b"PK\x03\x04"
PARQUET_MAGIC = b"PAR1"
_C1_BYTES = re.compile(rb"[\x80-\x9f]")  # control characters in Latin-1; Windows-1252's printable ones
# The largest real price files we know of (Kaggle's bitstamp minute bars, 2012-2021) are ~350 MB.
MAX_DECOMPRESSED_BYTES = 512 * 2**20


@dataclass(frozen=True)
class Text:
    """A file's text and how it was stored."""

    text: str
    encoding: str  # "UTF-8", "UTF-8 with BOM", "UTF-16", "Windows-1252" or "Latin-1"
    compression: str | None  # "gzip" or None


def read_text(path: Path) -> Text:
    """The text of ``path``, decompressed and decoded (see the module docstring).

    Raises
    ------
    scratchlstm.errors.DataError
        for a missing, empty, binary, corrupt or oversized file.
    """
    if path.is_dir():
        raise refuse(path, "this is a folder, not a price file",
                     "Pass one file of it, or run 'scratchlstm panel' on a folder of price files")
    if not path.is_file():
        raise refuse(path, "no such file", "Check the path (load_embedded() and a command without --csv use the embedded MSFT series)")
    raw = path.read_bytes()
    compression = None
    if raw.startswith(GZIP_MAGIC):
        raw, compression = gunzip(raw, path), "gzip"
    if raw.startswith(ZIP_MAGIC):
        if _is_workbook(raw):
            raise refuse(path, "this is an Excel workbook, not a CSV or JSON price file",
                         "Save the sheet as CSV (File > Save As > CSV), or read it with pandas.read_excel and pass the "
                         "DataFrame to as_price_series or run_forecast")
        raise refuse(path, "this is a zip archive, not a price file", "Extract the CSV from it and pass that")
    if raw.startswith(PARQUET_MAGIC):
        raise refuse(path, "this is a Parquet file; a price file is CSV or JSON text",
                     f"A long-format table (unique_id, ds, y) runs with 'scratchlstm panel {path.name}' (and 'scratchlstm predict "
                     "--series NAME' for one of its series); for one series alone, save it as CSV")
    text, encoding = _decode(raw, path)
    if "\x00" in text:
        raise refuse(path, "this is a binary file, not a CSV or JSON price file", "Export the prices as CSV (Date and Close columns)")
    if not text.strip():
        raise refuse(path, "the file is empty", "Download the prices again; a price file needs a header and rows")
    return Text(text, encoding, compression)


def _is_workbook(raw: bytes) -> bool:
    """Whether zip bytes are an Office Open XML workbook (.xlsx, .xlsm): a content-types part and an ``xl/`` folder."""
    try:
        names = zipfile.ZipFile(io.BytesIO(raw)).namelist()
    except (zipfile.BadZipFile, EOFError, ValueError):  # a broken archive is refused as one
        return False
    return "[Content_Types].xml" in names and any(name.startswith("xl/") for name in names)


def gunzip(raw: bytes, path) -> bytes:
    """Decompress every gzip member of ``raw``, refusing output beyond ``MAX_DECOMPRESSED_BYTES``."""
    parts: list[bytes] = []
    size, rest = 0, raw
    while rest:
        member = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)  # 16+: expect a gzip header
        try:
            part = member.decompress(rest, MAX_DECOMPRESSED_BYTES - size + 1)  # one byte over the bound is enough to know
        except zlib.error as exc:
            raise refuse(path, f"the gzip data is corrupt ({exc})", "Download or compress the file again") from None
        size += len(part)
        if size > MAX_DECOMPRESSED_BYTES:
            raise refuse(path, f"it decompresses to more than {MAX_DECOMPRESSED_BYTES // 2**20} MiB",
                         "Decompress it yourself and pass a smaller file (fewer rows or a coarser frequency)")
        if not member.eof:
            raise refuse(path, "the gzip data is cut short", "Download or compress the file again")
        parts.append(part)
        rest = member.unused_data
    return b"".join(parts)


def _decode(raw: bytes, path) -> tuple[str, str]:
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return raw.decode("utf-16"), "UTF-16"
        except UnicodeDecodeError:
            raise refuse(path, "the file starts with a UTF-16 mark but is not UTF-16 text", "Save it again as UTF-8") from None
    if raw.startswith(codecs.BOM_UTF8):
        try:
            return raw[len(codecs.BOM_UTF8):].decode("utf-8"), "UTF-8 with BOM"
        except UnicodeDecodeError:
            raise refuse(path, "the file starts with a UTF-8 mark but is not UTF-8 text", "Save it again as UTF-8") from None
    if b"\x00" in raw[:4096]:
        raise refuse(path, "this is a binary file (or UTF-16 without a byte-order mark), not a CSV or JSON price file",
                     "Export the prices as CSV (Date and Close columns), saved as UTF-8")
    try:
        return raw.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        pass
    if _C1_BYTES.search(raw):
        try:
            return raw.decode("cp1252"), "Windows-1252"
        except UnicodeDecodeError:  # 0x81, 0x8D, 0x8F, 0x90 and 0x9D mean nothing in Windows-1252
            pass
    return raw.decode("latin-1"), "Latin-1"
