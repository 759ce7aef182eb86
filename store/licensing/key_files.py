"""Read a key file: a plain list of keys, one a line, or a CSV file with a ``key`` column.

The file is a seekable binary stream (an open file, or an upload) read from the start,
streaming, as many times as needed: ``check_key_file`` reads it whole once to refuse a
file that is not UTF-8 text or a CSV without a ``key`` column, before anything is written.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePath
from typing import BinaryIO

from flask_babel import lazy_gettext as _l

from store.errors import InvalidInput

MAX_LINE_READ = 4096  # characters of one line kept in memory; longer lines are invalid
READ_CHUNK = 64 * 1024  # bytes read to tell a CSV from a plain list


class ImportFileError(InvalidInput):
    """The file as a whole cannot be imported; nothing was imported."""

    title = _l("The key file cannot be imported")


@dataclass(frozen=True)
class KeySource:
    """A key file to read: its name (a ".csv" suffix means CSV) and a seekable binary
    stream (an open file, or an upload), read from the start each time."""

    name: str
    stream: BinaryIO


@dataclass(frozen=True)
class KeyFile:
    """What ``check_key_file`` learnt: the format and the number of lines, for progress."""

    name: str
    is_csv: bool
    lines: int


def _text_lines(source: KeySource) -> Iterator[str]:
    """Yield the file's lines decoded as UTF-8, each ending in "\\n" but perhaps the last.

    A BOM is dropped; CRLF, LF and CR line ends all read as "\\n". Streams the file.
    Raises ImportFileError on binary content or another encoding.
    """
    number = 0
    source.stream.seek(0)
    text = io.TextIOWrapper(source.stream, encoding="utf-8-sig", newline=None)
    try:
        while line := text.readline(MAX_LINE_READ):
            number += 1
            if "\x00" in line:
                raise ImportFileError(_l("This is a binary file, not a list of keys."))
            if not line.endswith("\n") and len(line) == MAX_LINE_READ:
                # An absurdly long line: keep its start (it is invalid anyway), skip the rest.
                while (rest := text.readline(MAX_LINE_READ)) and not rest.endswith("\n"):
                    pass
                line += "\n"
            yield line
    except UnicodeDecodeError:
        raise ImportFileError(
            _l(
                "The file is not UTF-8 text (near line %(line)d). Save it as UTF-8 and "
                "try again.",
                line=number + 1,
            )
        ) from None
    finally:
        # The stream is the caller's: leave it open for the next reading (unless the
        # caller closed it already, abandoning this reading half-way).
        if not source.stream.closed:
            text.detach()


def _looks_like_csv(name: str, first_line: str) -> bool:
    return PurePath(name).suffix.lower() == ".csv" or "," in first_line or ";" in first_line


def _csv_rows(lines: Iterator[str], first: str) -> Iterator[tuple[int, str]]:
    """Yield (first line number, key) of each CSV record after the header ``first``.

    Quoted fields may span lines; a record is numbered by the line it starts on.
    """
    try:
        dialect = csv.Sniffer().sniff(first, delimiters=",;\t")
    except csv.Error:  # a single column: nothing to sniff
        dialect = csv.excel
    header = [name.strip().lower() for name in next(csv.reader([first], dialect), [])]
    if "key" not in header:
        raise ImportFileError(
            _l("The CSV file has no “key” column. Its first line must name the columns.")
        )
    column = header.index("key")
    reader = csv.reader(lines, dialect)
    while True:
        start = reader.line_num + 2  # the header was line 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error:
            raise ImportFileError(
                _l("The CSV file is malformed near line %(line)d.", line=start)
            ) from None
        yield start, row[column] if column < len(row) else ""


def read_key_file(source: KeySource) -> Iterator[tuple[int, str]]:
    """Yield (line number, raw key) from a key list or a CSV with a ``key`` column."""
    lines = _text_lines(source)
    first = next(lines, None)
    if first is None:
        return
    if _looks_like_csv(source.name, first):
        yield from _csv_rows(lines, first)
        return
    yield 1, first.rstrip("\n")
    for number, line in enumerate(lines, start=2):
        yield number, line.rstrip("\n")


def check_key_file(source: KeySource) -> KeyFile:
    """Read the whole file once, streaming, and raise ImportFileError if it is unusable."""
    count = 0
    for count, _entry in enumerate(read_key_file(source), start=1):
        pass
    if count == 0:
        raise ImportFileError(_l("The file is empty."))
    source.stream.seek(0)
    first = source.stream.readline(READ_CHUNK).decode("utf-8-sig", errors="replace")
    return KeyFile(name=source.name, is_csv=_looks_like_csv(source.name, first), lines=count)
