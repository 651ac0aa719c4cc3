"""User-facing errors: each renders as one line that names the file or option at fault."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pydantic import ValidationError


class HarnessError(Exception):
    """An error caused by input or usage, shown to the user as one line (CLI exit code 2)."""

    exit_code = 2

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))


class InputError(HarnessError):
    """A file the user gave us (case, prompt, recording, config) is not what we expect."""


class UsageError(HarnessError):
    """A command-line option or configuration value is invalid."""


def first_problem(error: ValidationError) -> str:
    """The first problem pydantic found, as ``field.path: message``, for a one-line error."""
    first = error.errors(include_url=False)[0]
    location = ".".join(str(part) for part in first["loc"]) or "(top level)"
    return f"{location}: {first['msg']}"
