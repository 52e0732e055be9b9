"""heartbeats.yaml validation: precise, one line per problem, naming the file and key path."""

from __future__ import annotations

import pytest

from bot.scheduler.config import HeartbeatsError, load_heartbeats, load_heartbeats_text, parse_duration


def _problems(text: str) -> list[str]:
    with pytest.raises(HeartbeatsError) as e:
        load_heartbeats_text(text, "heartbeats.yaml")
    return e.value.problems


def test_unknown_key_names_the_path_and_the_allowed_keys():
    (p,) = _problems("checks:\n  - {name: a, kind: http, url: 'http://x/', timout: 3s}\n")
    assert p.startswith("heartbeats.yaml: checks[0].timout: unknown key (expected one of: ")
    assert "timeout" in p and "max_latency" in p


def test_unknown_top_level_and_defaults_keys():
    assert _problems("chekcs: []\n") == [
        "heartbeats.yaml: chekcs: unknown key (expected one of: checks, defaults, version)"]
    (p,) = _problems("defaults: {intervall: 1m}\n")
    assert p.startswith("heartbeats.yaml: defaults.intervall: unknown key")


@pytest.mark.parametrize(("value", "expected"), [
    ("soon", 'checks[0].interval: expected a duration like 30s, 5m or 1h, got "soon"'),
    ("5 minutes", 'checks[0].interval: expected a duration like 30s, 5m or 1h, got "5 minutes"'),
    ("0s", "checks[0].interval: must be at least 1s, got 0s"),
    ("-5", "checks[0].interval: must be at least 1s, got -5s"),
])
def test_bad_interval(value, expected):
    assert _problems(f"checks:\n  - {{name: d, kind: disk, path: /, above: 90, interval: '{value}'}}\n") == [
        f"heartbeats.yaml: {expected}"]


@pytest.mark.parametrize(("check", "expected"), [
    ("{name: d, kind: disk, path: /, above: lots}", 'checks[0].above: expected a number, got "lots"'),
    ("{name: d, kind: disk, path: /, above: 120}", "checks[0].above: expected a percentage between 0 and 100, got 120"),
    ("{name: m, kind: metric, source: datadog, service: s, metric: m}",
     "checks[0]: missing a threshold: give above or below"),
    ("{name: m, kind: metric, source: datadog, service: s, metric: m, above: 1, below: 0}",
     "checks[0].below: give either above or below, not both"),
    ("{name: m, kind: metric, source: graphite, service: s, metric: m, above: 1}",
     "checks[0].source: Input should be 'datadog' or 'prometheus'"),
])
def test_bad_threshold_and_fields(check, expected):
    assert _problems(f"checks:\n  - {check}\n") == [f"heartbeats.yaml: {expected}"]


def test_every_problem_is_reported_and_kinds_are_checked():
    problems = _problems("""
checks:
  - {name: a, kind: ping}
  - {name: b, kind: http}
  - {name: c, kind: disk, path: /, above: 90, for: -1m}
""")
    assert problems == [
        'heartbeats.yaml: checks[0].kind: expected one of http, postgres, disk, metric, anomaly, got "ping"',
        "heartbeats.yaml: checks[1].url: missing",
        "heartbeats.yaml: checks[2].for: must not be negative, got -60s",
    ]


def test_duplicate_names_and_yaml_errors(tmp_path):
    assert _problems("checks:\n  - {name: a, kind: disk, path: /, above: 9}\n  - {name: a, kind: disk, path: /, above: 9}\n"
                     ) == ["heartbeats.yaml: checks[1].name: duplicate check name 'a'"]
    assert _problems("checks: [")[0].startswith("heartbeats.yaml: line ")
    f = tmp_path / "hb.yaml"
    f.write_text("checks:\n  - {name: x, kind: disk, path: /, above: 90, bogus: 1}\n")
    with pytest.raises(HeartbeatsError) as e:
        load_heartbeats(f)
    assert str(e.value).startswith(f"{f}: checks[0].bogus: unknown key")
    with pytest.raises(HeartbeatsError, match="no such file"):
        load_heartbeats(tmp_path / "missing.yaml")


def test_durations_defaults_and_checks_needed():
    assert parse_duration("1h30m") == 5400 and parse_duration("250ms") == 0.25 and parse_duration(45) == 45
    c = load_heartbeats_text("""
defaults: {interval: 30s, for: 1m}
checks:
  - {name: a, kind: disk, path: /, above: 90}
  - {name: b, kind: disk, path: /, above: 90, interval: 1m, for: 0s}
  - {name: c, kind: disk, path: /, above: 90, interval: 1m, for: 90s}
""")
    a, b, cc = c.checks
    assert (c.interval(a), c.for_(a), c.checks_needed(a)) == (30, 60, 3)
    assert c.checks_needed(b) == 1
    assert c.checks_needed(cc) == 3


def test_the_example_file_is_valid():
    from pathlib import Path

    cfg = load_heartbeats(Path(__file__).parents[2] / "heartbeats.example.yaml")
    assert {c.kind for c in cfg.checks} == {"http", "postgres", "disk", "metric", "anomaly"}
