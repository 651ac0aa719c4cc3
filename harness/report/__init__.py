"""Reports of leaderboards and comparisons: terminal (rich), markdown for CI, JSON/CSV, HTML."""

import re

_CONTROL = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)|\x1b.|[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def strip_control(text: str) -> str:
    """Remove ANSI escape sequences and control characters (keeps newlines and tabs): model text
    must not drive a terminal or hide in a report."""
    return _CONTROL.sub("", text)
