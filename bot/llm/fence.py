"""Untrusted text reaches the model as data between delimiters an attacker cannot forge.

Each call gets a random marker: ``<<DATA-3f9a...>>`` ... ``<<END-3f9a...>>``. Before
wrapping, any sequence that looks like a marker (any token, any case, with
spaces) is replaced, and every remaining ``<<``/``>>`` is turned into ``‹‹``/``››``,
so the data can neither close the block nor open a new one. The system prompt
tells the model that text inside the markers is data, never instructions.
"""

from __future__ import annotations

import re
import secrets

MARKER_LIKE = re.compile(r"<\s*<\s*/?\s*(?:DATA|END)\b[^>\n]{0,80}>\s*>", re.IGNORECASE)
REPLACED = "[delimiter removed]"


def neutralise(text: str) -> str:
    text = MARKER_LIKE.sub(REPLACED, text)
    return text.replace("<<", "‹‹").replace(">>", "››")


class Fence:
    def __init__(self, token: str | None = None) -> None:
        self.token = token or secrets.token_hex(8)

    @property
    def open(self) -> str:
        return f"<<DATA-{self.token}>>"

    @property
    def close(self) -> str:
        return f"<<END-{self.token}>>"

    def wrap(self, text: str) -> str:
        return f"{self.open}\n{neutralise(text)}\n{self.close}"

    def blocks(self, prompt: str) -> list[str]:
        """The contents of every data block in a rendered prompt, in order."""
        pat = re.compile(re.escape(self.open) + r"\n(.*?)\n" + re.escape(self.close), re.DOTALL)
        return pat.findall(prompt)

    def outside(self, prompt: str) -> str:
        """The prompt with every data block removed: what the model may read as instructions."""
        pat = re.compile(re.escape(self.open) + r".*?" + re.escape(self.close), re.DOTALL)
        return pat.sub("", prompt)

    def well_formed(self, prompt: str) -> bool:
        """Every open marker is closed before the next opens, and no stray marker of this token exists."""
        depth = 0
        for m in re.finditer(re.escape(self.open) + "|" + re.escape(self.close), prompt):
            depth += 1 if m.group(0) == self.open else -1
            if depth not in (0, 1):
                return False
        return depth == 0
