"""Reading TOML files the user edits (config, prompt metadata, section spec, case metadata,
expected failures), with a syntax or read error reported as one line naming the file."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from harness.errors import InputError


def read_toml_file(path: Path) -> dict[str, Any]:
    """The parsed TOML document at ``path``; InputError when it cannot be read or parsed."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise InputError(f"{path}: invalid TOML: {error}") from None
    except UnicodeDecodeError as error:
        raise InputError(f"{path}: not UTF-8 text (byte {error.start}); expected a TOML file") from None
    except OSError as error:
        raise InputError(f"{path}: cannot read: {error.strerror}") from None
