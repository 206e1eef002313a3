"""Errors as values with source spans, printed by one function.

Every problem with a user's input (syntax, names, types, limits) is a SpecError
carrying the span of the offending text; `format_error` renders it as
``file:line:col: error: message`` followed by the source line and a caret.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar


@dataclass(frozen=True, slots=True)
class Span:
    """A region of a source file; lines and columns start at 1."""

    file: str
    line: int
    col: int
    end_line: int
    end_col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


NO_SPAN = Span("<builtin>", 0, 0, 0, 0)


class SourceCache:
    """The text of every file read, so that errors can quote the offending line."""

    _texts: ClassVar[dict[str, str]] = {}

    @classmethod
    def put(cls, file: str, text: str) -> None:
        cls._texts[file] = text

    @classmethod
    def text(cls, file: str) -> str | None:
        if file not in cls._texts:
            try:
                cls._texts[file] = Path(file).read_text(encoding="utf-8", errors="replace")
            except OSError:
                return None
        return cls._texts[file]

    @classmethod
    def line(cls, file: str, line: int) -> str | None:
        text = cls._texts.get(file)
        if text is None:
            try:
                text = Path(file).read_text(encoding="utf-8", errors="replace")
            except OSError:
                return None
            cls._texts[file] = text
        lines = text.splitlines()
        if 1 <= line <= len(lines):
            return lines[line - 1]
        return None


@dataclass
class SpecError(Exception):
    """A problem in the user's input, located at `span`."""

    span: Span
    message: str
    hint: str | None = None
    notes: list[tuple[Span, str]] = field(default_factory=list)

    def __str__(self) -> str:
        return format_error(self)


def excerpt(span: Span) -> list[str]:
    text = SourceCache.line(span.file, span.line)
    if text is None:
        return []
    text = text.replace("\t", " ")
    width = 1
    if span.end_line == span.line and span.end_col > span.col:
        width = span.end_col - span.col
    col = span.col - 1
    # Long lines are shown as a window around the caret.
    start = max(0, col - 60)
    end = min(len(text), col + max(width, 1) + 40)
    shown = ("..." if start else "") + text[start:end] + ("..." if end < len(text) else "")
    caret_at = col - start + (3 if start else 0)
    gutter = f"{span.line:>4} | "
    return [gutter + shown, " " * (len(gutter) + caret_at) + "^" * max(1, min(width, 60))]


def format_error(err: SpecError) -> str:
    """The one rendering of a SpecError: location, message, excerpt with caret, hint."""
    out = [f"{err.span}: error: {err.message}"]
    out += excerpt(err.span)
    for span, note in err.notes:
        out.append(f"{span}: note: {note}")
        out += excerpt(span)
    if err.hint:
        out.append(f"  hint: {err.hint}")
    return "\n".join(out)
