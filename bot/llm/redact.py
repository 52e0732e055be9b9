"""Mask secrets, tokens and e-mail addresses before anything is sent to the model.

    r = Redactor(extra=settings.llm.redact_patterns)
    r.redact("password=hunter2 for ana@example.com")   # 'password=[redacted:password] for [redacted:email]'

Default patterns cover AWS access keys and secret keys, Slack tokens (``xox[abposr]-``),
bearer tokens, ``password=``/``token=``/``api_key=`` assignments, PEM private keys,
JWTs and e-mail addresses. Extra patterns (regexes) mask their whole match.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

# (kind, pattern, group to mask: 0 = the whole match)
DEFAULT_PATTERNS: tuple[tuple[str, str, int], ...] = (
    ("private_key", r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|\Z)", 0),
    ("aws_access_key", r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA)[0-9A-Z]{16}\b", 0),
    ("aws_secret_key", r"(?i)\baws_secret_access_key\b\s*[=:]\s*[\"']?([A-Za-z0-9/+=]{20,})", 1),
    ("slack_token", r"\bxox[abposr]-[0-9A-Za-z-]{6,}", 0),
    ("jwt", r"\beyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}", 0),
    ("bearer", r"(?i)\bbearer\s+([A-Za-z0-9._~+/=-]{8,})", 1),
    ("password", r"(?i)\b(?:password|passwd|pwd|secret|api[_-]?key|access[_-]?token|token)\b\s*[=:]\s*"
                 r"[\"']?([^\s\"',;&]+)", 1),
    ("dsn_password", r"\b[a-z][a-z0-9+.-]*://[^/\s:@]+:([^@\s/]+)@", 1),
    ("email", r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b", 0),
)


class Redactor:
    def __init__(self, extra: Iterable[str] = (), *, skip: Iterable[str] = ()) -> None:
        """``skip``: default kinds to leave alone (e.g. ``("email",)`` for text people read)."""
        skipped = set(skip)
        self._patterns: list[tuple[str, re.Pattern[str], int]] = [
            (kind, re.compile(p), g) for kind, p, g in DEFAULT_PATTERNS if kind not in skipped
        ]
        for i, p in enumerate(extra):
            try:
                self._patterns.append((f"custom-{i + 1}", re.compile(p), 0))
            except re.error as e:
                raise ValueError(f"AISRE_LLM__REDACT_PATTERNS[{i}]: not a valid regex ({e})") from None
        self.count = 0  # how many values were masked, for the audit

    def redact(self, text: str) -> str:
        for kind, pat, group in self._patterns:
            text = pat.sub(lambda m, k=kind, g=group: self._mask(m, k, g), text)  # type: ignore[misc]
        return text

    def _mask(self, m: re.Match[str], kind: str, group: int) -> str:
        self.count += 1
        if group == 0 or m.group(group) is None:
            return f"[redacted:{kind}]"
        s, e = m.span(group)
        whole_s = m.start()
        full = m.group(0)
        return full[: s - whole_s] + f"[redacted:{kind}]" + full[e - whole_s:]

    def redact_obj(self, obj: Any) -> Any:
        """The same structure with every string redacted (dict keys included)."""
        if isinstance(obj, str):
            return self.redact(obj)
        if isinstance(obj, dict):
            return {self.redact(str(k)): self.redact_obj(v) for k, v in obj.items()}
        if isinstance(obj, list | tuple):
            return [self.redact_obj(v) for v in obj]
        return obj
