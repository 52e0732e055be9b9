"""The scenario loader implements FORMAT.md version 1: every example loads; every mistake is one precise line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bot.scenarios import ScenarioError, load_scenario_text, validate_file
from bot.scenarios.model import MetricSpec, Segment
from bot.scenarios.series import generate

EXAMPLES = sorted(Path("/work/shared/scenarios/examples").glob("*.yaml"))
OWN = sorted((Path(__file__).parents[2] / "scenarios").glob("*.yaml"))

MINIMAL = """
version: 1
id: tiny
title: "tiny"
services:
  - {name: api, tier: critical, depends_on: [db]}
  - {name: db, kind: database}
alert: {source: datadog, title: "api errors", service: api, metric: error_rate, value: 0.1, threshold: 0.05}
"""


@pytest.mark.parametrize("path", EXAMPLES + OWN, ids=lambda p: p.name)
def test_every_shared_example_and_own_scenario_loads_clean(path: Path) -> None:
    assert validate_file(path) == []


def test_defaults() -> None:
    s = load_scenario_text(MINIMAL, "tiny.yaml")
    assert s.window == [-360.0, 30.0] and s.seed == 0 and s.truth is None
    db = s.service("db")
    assert db is not None and db.namespace == "default" and db.kind == "database"
    assert s.alert.at == 0
    cat = s.catalog()
    assert cat.dependencies("api") == ["db"] and cat.dependents("db") == ["api"]


def problems(text: str) -> list[str]:
    with pytest.raises(ScenarioError) as e:
        load_scenario_text(text, "bad.yaml")
    return e.value.problems


def test_one_precise_line_per_problem() -> None:
    text = MINIMAL + """
metrics:
  - {service: api, name: error_rate, baseline: 0.01, colour: red}
events:
  - {id: e1, kind: deploy, at: -5, service: api, version: "1.2"}
  - {id: e1, kind: config, at: soon, service: apx, key: a, new: 1}
"""
    assert problems(text) == [
        "bad.yaml: metrics[0].colour: unknown key",
        'bad.yaml: events[1].at: expected a number of minutes, got "soon"',
        'bad.yaml: events[1].service: no service named "apx"',
        'bad.yaml: events[1].id: duplicate id "e1" (first at events[0])',
    ]


@pytest.mark.parametrize(
    ("patch", "expected"),
    [
        ("version: 2", "bad.yaml: version: expected one of 1, got 2"),
        ("id: Not_A_Slug", 'bad.yaml: id: expected a slug matching ^[a-z0-9-]+$, got "Not_A_Slug"'),
        ("window: [30, -360]", "bad.yaml: window: expected [first_minute, last_minute] with first < last"),
        ("seed: 1.5", "bad.yaml: seed: expected a whole number, got 1.5"),
        ("logs: [{service: api, level: loud, from: 0, to: 1, per_min: 1, message: m}]",
         'bad.yaml: logs[0].level: expected one of \'debug\', \'info\', \'warn\', \'warning\', \'error\', \'fatal\' or \'critical\', got "loud"'),
        ("events: [{id: c, kind: cron, at: -1, service: api, job: j, status: stuck}]",
         'bad.yaml: events[0].status: expected one of started | running | finished | failed, got "stuck"'),
        ("events: [{id: c, kind: scaling, at: -1, service: api, old: 1, new: 2, flag: x}]",
         "bad.yaml: events[0].flag: not a field of a scaling event (expected new, old)"),
        ("truth: {category: deploy_regression, culprit: nope, mitigation: rollback, target: api}",
         'bad.yaml: truth.culprit: no event, pod, node, db session or service named "nope"'),
        ("metrics: [{service: api, name: x, baseline: 1, segments: [{from: 5, value: 1, ramp_to: 2}]}]",
         "bad.yaml: metrics[0].segments[0]: expected exactly one of value or ramp_to"),
    ],
)
def test_each_kind_of_mistake(patch: str, expected: str) -> None:
    key = patch.split(":")[0]
    lines = [ln for ln in MINIMAL.splitlines() if not ln.startswith(key + ":")]
    assert expected in problems("\n".join(lines) + "\n" + patch + "\n")


def test_yaml_errors_and_duplicate_keys_name_the_line() -> None:
    assert problems("version: 1\nid: [unclosed\n")[0].startswith("bad.yaml: line ")
    dup = problems(MINIMAL + "title: again\n")
    assert dup == ['bad.yaml: line 9: duplicate key "title"']
    assert problems("") == ["bad.yaml: the file is empty; expected a scenario mapping"]
    assert problems("- 1\n- 2\n") == ["bad.yaml: expected a mapping at the top level, got a list"]


def test_series_are_seeded_and_follow_segments_in_order() -> None:
    spec = MetricSpec(service="api", name="error_rate", baseline=0.002, noise=0.0, segments=[
        Segment(**{"from": -30, "to": -25, "value": 0.04}),
        Segment(**{"from": -10, "to": -5, "ramp_to": 0.05}),
        Segment(**{"from": -3, "value": 0.06}),
    ])
    v = generate(spec, -40, 10, seed=1)
    at = lambda m: v[m + 40]  # noqa: E731
    assert at(-31) == pytest.approx(0.002) and at(-30) == pytest.approx(0.04) and at(-25) == pytest.approx(0.04)
    assert at(-24) == pytest.approx(0.002)  # a bounded segment stops applying after its `to`
    assert at(-10) == pytest.approx(0.002) and at(-5) == pytest.approx(0.05)  # a ramp from the curve's value
    assert at(-4) == pytest.approx(0.002) and at(0) == pytest.approx(0.06) and at(10) == pytest.approx(0.06)
    noisy = spec.model_copy(update={"noise": 0.1})
    assert np.array_equal(generate(noisy, -40, 10, seed=7), generate(noisy, -40, 10, seed=7))
    assert not np.array_equal(generate(noisy, -40, 10, seed=7), generate(noisy, -40, 10, seed=8))


def test_cli_validate_prints_each_problem_and_exits_1(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(MINIMAL + "metrics: [{service: nope, name: x, baseline: '1'}]\n")
    aisre = Path(sys.executable).with_name("aisre")
    out = subprocess.run([str(aisre), "scenario", "validate", str(bad), *map(str, EXAMPLES[:3])],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 1
    assert out.stderr.splitlines() == [
        f'{bad}: metrics[0].baseline: expected a number, got "1"',
        f'{bad}: metrics[0].service: no service named "nope"',
    ]
    ok = subprocess.run([str(aisre), "scenario", "validate", *map(str, EXAMPLES)], capture_output=True, text=True,
                        timeout=60)
    assert ok.returncode == 0 and ok.stdout == "" and ok.stderr == ""
