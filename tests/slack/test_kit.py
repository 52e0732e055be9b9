"""truncate() and fit(): whatever the input, the output is something Slack accepts."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.slack.blocks import fit, fit_tail, truncate
from bot.slack.blocks.kit import ELLIPSIS, escape, link, who

texts = st.text(alphabet=st.characters(codec="utf-8"), max_size=400) | st.from_regex(r"[a&<> \n|@]{0,300}")


@given(texts, st.integers(min_value=1, max_value=500))
def test_truncate_fits(text: str, limit: int) -> None:
    out = truncate(text, limit)
    assert len(out) <= limit
    if len(text) <= limit:
        assert out == text
    else:
        assert out.endswith(ELLIPSIS)


@given(st.lists(texts, max_size=60), st.integers(min_value=20, max_value=800), st.integers(min_value=1, max_value=6))
@settings(max_examples=300)
def test_fit_respects_limits(lines: list[str], limit: int, max_chunks: int) -> None:
    for pack in (fit, fit_tail):
        chunks = pack(lines, limit=limit, max_chunks=max_chunks)
        assert len(chunks) <= max_chunks
        assert all(0 < len(c) <= limit for c in chunks)
        if lines:
            assert chunks


def test_fit_notes_what_it_drops() -> None:
    lines = [f"line {i} " + "x" * 50 for i in range(100)]
    chunks = fit(lines, limit=500, max_chunks=2)
    assert chunks[-1].endswith("more (see thread)")
    kept = sum(c.count("line ") for c in chunks)
    assert f"and {100 - kept} more" in chunks[-1]
    tail = fit_tail(lines, limit=500, max_chunks=1, more=lambda n: f"{n} earlier")
    assert tail[0].startswith(f"{100 - tail[0].count('line ')} earlier") and "line 99" in tail[0]


def test_truncate_does_not_split_entities_or_links() -> None:
    assert truncate("aaaa &amp; bbbb", 9) == "aaaa…"
    assert "<" not in truncate("see <https://example.com/very/long|link> now", 20)


def test_escape_keeps_slack_syntax() -> None:
    assert escape("<@U123> & <#C1|inc> <!here> <https://a.b|x> a<b") == \
        "<@U123> &amp; <#C1|inc> <!here> <https://a.b|x> a&lt;b"
    assert who("U0ALICE") == "<@U0ALICE>" and who("scheduler") == "scheduler" and who(None) == "ai-sre"
    assert link("https://a|b", "t") == "t (https://a|b)"
