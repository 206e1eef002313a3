"""What the commands share: the error for bad input they find themselves, and files they write."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

# Exit codes: everything as expected, a property violated, bad input, unknown or a
# resource limit, a bug in ftverify.
EXIT_OK, EXIT_VIOLATED, EXIT_BAD_INPUT, EXIT_UNKNOWN, EXIT_INTERNAL = 0, 1, 2, 3, 4


def echo(message: object = "", err: bool = False, nl: bool = True) -> None:
    """click.echo, after taking the progress line off the screen."""
    from ftverify.checker.engines.control import current

    if current().display is not None:
        current().display.clear()  # type: ignore[union-attr]
    click.echo(message, err=err, nl=nl)


class BadInput(Exception):
    """Bad input found by the CLI itself (already formatted)."""


def check_output(path: str | None, what: str) -> None:
    """An output file must be writable where it is asked for, before any work starts."""
    if path is None:
        return
    parent = Path(path).resolve().parent
    if not parent.is_dir():
        usage_error(f"{what} {path}: no such directory {parent}")
    if Path(path).is_dir():
        usage_error(f"{what} {path}: is a directory")
    if not os.access(parent, os.W_OK):
        usage_error(f"{what} {path}: cannot write in {parent}")


def usage_error(message: str) -> None:
    echo(f"error: {message}", err=True)
    sys.exit(EXIT_BAD_INPUT)


def write_file(path: str, text: str) -> None:
    try:
        Path(path).write_text(text, encoding="utf-8")
    except OSError as e:
        raise BadInput(f"cannot write {path}: {e.strerror}") from None
    echo(f"wrote {path}", err=True)
