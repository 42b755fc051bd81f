"""White space as the text rules expect it: single spaces, single line breaks."""

from __future__ import annotations


def collapse_spaces(text: str) -> str:
    """Every run of white space as one space, no blank lines, nothing at a line's ends.

    String methods rather than a pattern: `\\s*\\n\\s*` retries a long run of spaces at each of
    its characters, quadratic in the run. After this, no `\\s*` in a later rule sees more than
    one character.
    """
    lines = (" ".join(line.split()) for line in text.split("\n"))
    return "\n".join(line for line in lines if line)
