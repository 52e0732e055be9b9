"""Figures in the model's prose must appear in the evidence it cites.

:func:`figures` pulls the numbers out of a sentence, ignoring ones that are part of
an identifier (``cfg-77``, ``p95``, ``node-3``, ``ev-12``, version strings). Each is
compared with every number in the cited evidence, with normalisation:
``1,200`` is ``1200``, ``1.2k`` is ``1200``, ``18%`` matches ``0.18`` (and ``0.18``
matches ``18``), the sign is ignored (``8 minutes before`` matches ``at -8``),
and a figure matches when the evidence value rounds to it at the precision it
was written with, or is within 1%.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

# a word containing a letter (identifiers, units glued to ids), version strings, evidence ids
_IDENT = re.compile(r"[A-Za-z_][\w.-]*\d[\w.-]*|\d[\w.-]*[A-Za-z_][\w-]*(?<![kK%])\b|\b\d+(?:\.\d+){2,}\b")
_NUM = re.compile(r"(?<![\w.])[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:\s?[kKmM](?![a-zA-Z]))?\s?%?")
_UNIT_OK = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|min|m|h|x|k|K|M)$")
TRIVIAL = {0.0, 1.0, 2.0}  # "one", "two": too common to police
REL_TOL = 0.01


def _strip_identifiers(text: str) -> str:
    def keep_units(m: re.Match[str]) -> str:
        u = _UNIT_OK.match(m.group(0))
        return f" {u.group(1)}{'k' if u.group(2) in ('k', 'K') else ''} " if u else " "
    return _IDENT.sub(keep_units, text)


def figures(text: str) -> list[tuple[float, int, bool]]:
    """(value, decimals written, was a percentage) for every figure in ``text``."""
    out = []
    for m in _NUM.finditer(_strip_identifiers(text)):
        raw = m.group(0).strip()
        pct = raw.endswith("%")
        raw = raw.rstrip("%").strip()
        mult = 1.0
        if raw[-1:] in ("k", "K"):
            mult, raw = 1000.0, raw[:-1].strip()
        elif raw[-1:] in ("m", "M"):
            mult, raw = 1_000_000.0, raw[:-1].strip()
        raw = raw.replace(",", "")
        try:
            v = abs(float(raw))
        except ValueError:
            continue
        dec = len(raw.split(".")[1]) if "." in raw else 0
        if mult != 1.0:
            dec = max(0, dec - int(math.log10(mult)))
        out.append((v * mult, dec, pct))
    return out


def numbers(text: str) -> set[float]:
    return {v for v, _, _ in figures(text)}


def _variants(v: float, pct: bool) -> list[float]:
    return [v, v / 100.0] if pct else [v, v * 100.0, v / 100.0]


def _matches(claim: float, dec: int, pct: bool, value: float) -> bool:
    for c in _variants(claim, pct):
        d = dec + (2 if pct and c != claim else 0)
        if round(value, d) == round(c, d) or (c and abs(value - c) <= REL_TOL * abs(c)):
            return True
    return False


def unsupported(claim_text: str, evidence_texts: Iterable[str]) -> list[str]:
    """The figures of ``claim_text`` that appear in none of ``evidence_texts`` (as written)."""
    pool: set[float] = set()
    for t in evidence_texts:
        pool |= numbers(t)
    bad = []
    for v, dec, pct in figures(claim_text):
        if not pct and v in TRIVIAL:
            continue
        if not any(_matches(v, dec, pct, e) for e in pool):
            bad.append(_show(v, dec, pct))
    return bad


def _show(v: float, dec: int, pct: bool) -> str:
    s = f"{v:.{dec}f}" if dec else f"{v:g}"
    return s + ("%" if pct else "")
