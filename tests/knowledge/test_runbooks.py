from __future__ import annotations

from pathlib import Path

import pytest

from bot.knowledge import embedding
from bot.knowledge.known_actions import KNOWN_ACTIONS
from bot.knowledge.runbooks import (
    RunbookError,
    lint_paths,
    load_runbooks,
    parse_runbook,
    render_params,
    split_sections,
)
from tests.knowledge.conftest import REPO, runbook_text

P = "runbooks/db-pool.md"


def problems(text: str, **kw: object) -> list[str]:
    with pytest.raises(RunbookError) as e:
        parse_runbook(text, path=P, known_actions=KNOWN_ACTIONS, **kw)  # type: ignore[arg-type]
    return e.value.problems


def test_valid_runbook_parses() -> None:
    rb = parse_runbook(runbook_text(extra="owners: ['@db']\nlast_reviewed: 2025-01-31\n"), path=P, known_actions=KNOWN_ACTIONS)
    assert rb.title == "Pool exhausted" and rb.services == ["checkout"]
    assert rb.categories == ["connection_leak"]
    assert rb.actions[0].name == "k8s.rollout_restart" and rb.actions[0].params == {"deployment": "{service}"}
    assert [s.heading for s in rb.sections] == ["Diagnosis", "Mitigation"]
    assert str(rb.last_reviewed) == "2025-01-31" and rb.owners == ["@db"]
    assert len(rb.content_hash) == 64


def test_unknown_action_did_you_mean_exact() -> None:
    text = runbook_text(actions="[{name: k8s.restartt, params: {}}]")
    assert problems(text) == [
        'runbooks/db-pool.md: front matter: actions[0].name: no action named "k8s.restartt"; '
        'did you mean "k8s.rollout_restart"?'
    ]


def test_known_actions_are_injectable() -> None:
    text = runbook_text(actions="[{name: custom.thing}]")
    assert parse_runbook(text, path=P, known_actions={"custom.thing"}).actions[0].name == "custom.thing"
    assert problems(text) == ['runbooks/db-pool.md: front matter: actions[0].name: no action named "custom.thing"']


def test_unknown_param_name_when_params_are_known() -> None:
    text = runbook_text(actions='[{name: k8s.scale, params: {deploymnet: "{service}", replicas: 8}}]')
    assert problems(text, action_params={"k8s.scale": {"deployment", "namespace", "replicas"}}) == [
        'runbooks/db-pool.md: front matter: actions[0].params: k8s.scale has no parameter "deploymnet"; '
        'did you mean "deployment"?'
    ]


def test_unknown_placeholder() -> None:
    text = runbook_text(actions='[{name: k8s.scale, params: {deployment: "{servcie}"}}]')
    assert problems(text) == [
        'runbooks/db-pool.md: front matter: actions[0].params: unknown placeholder "{servcie}"; did you mean "{service}"?'
    ]


def test_unknown_front_matter_key() -> None:
    assert problems(runbook_text(extra="ownres: ['@db']\n")) == [
        'runbooks/db-pool.md: front matter: unknown key "ownres"; did you mean "owners"?'
    ]
    far = problems(runbook_text(extra="zzz: 1\n"))
    assert far[0].startswith('runbooks/db-pool.md: front matter: unknown key "zzz"; expected one of: actions, categories')


def test_wrong_types() -> None:
    assert problems(runbook_text(services='"checkout"')) == [
        "runbooks/db-pool.md: front matter: services: expected a list of non-empty strings, got str 'checkout'"
    ]
    assert problems(runbook_text(actions="{name: k8s.scale}"))[0].startswith(
        "runbooks/db-pool.md: front matter: actions: expected a list of {name, params, when}, got dict"
    )
    assert problems(runbook_text(actions="[{name: k8s.scale, params: [1]}]")) == [
        "runbooks/db-pool.md: front matter: actions[0].params: expected a mapping of parameter names to values, "
        "got list [1]"
    ]


def test_unknown_category() -> None:
    assert problems(runbook_text(categories="[conection_leak]")) == [
        'runbooks/db-pool.md: front matter: categories[0]: unknown category "conection_leak"; '
        'did you mean "connection_leak"?'
    ]


def test_missing_required_key() -> None:
    text = runbook_text().replace('symptoms: ["timeouts acquiring a connection"]\n', "")
    assert problems(text) == ['runbooks/db-pool.md: front matter: missing required key "symptoms"']


def test_missing_front_matter() -> None:
    assert problems("# Just prose\n") == [
        "runbooks/db-pool.md: missing front matter: the file must start with a '---' line"
    ]
    assert problems("---\ntitle: x\n") == ["runbooks/db-pool.md: front matter: no closing '---' line"]


def test_malformed_yaml_has_line_number() -> None:
    text = "---\ntitle: ok\nservices: [checkout\nsymptoms: []\n---\n## A\ntext\n"
    (line,) = problems(text)
    assert line.startswith("runbooks/db-pool.md: front matter: line ")
    assert "invalid YAML" in line
    bad_indent = "---\ntitle: ok\n  services: x\n---\n## A\ntext\n"
    assert problems(bad_indent)[0].startswith("runbooks/db-pool.md: front matter: line 3: invalid YAML")


def test_every_problem_reported_at_once() -> None:
    text = runbook_text(categories="[nope]", actions="[{name: k8s.nope, colour: red}]")
    got = problems(text)
    assert len(got) == 3
    assert any('unknown key "colour"' in g for g in got)


def test_sections_ignore_headings_in_code_fences() -> None:
    body = "# Title\nIntro text.\n## One\n```\n## not a heading\n```\n## Two\nmore\n"
    secs = split_sections(body)
    assert [s.heading for s in secs] == ["Overview", "One", "Two"]
    assert "## not a heading" in secs[1].text


def test_bad_runbook_is_skipped_not_fatal(write_runbook) -> None:  # type: ignore[no-untyped-def]
    write_runbook("good.md")
    bad = write_runbook("bad.md", actions="[{name: k8s.restartt}]")
    good, bad_map = load_runbooks(bad.parent, known_actions=KNOWN_ACTIONS)
    assert [r.path for r in good] == ["runbooks/good.md"]
    assert list(bad_map) == ["runbooks/bad.md"]


def test_starter_runbooks_lint_clean_and_cover_every_category() -> None:
    assert lint_paths([REPO / "runbooks"]) == []
    good, _ = load_runbooks(REPO / "runbooks")
    from bot.investigation.evidence import CATEGORIES

    covered = {c for rb in good for c in rb.categories}
    assert covered == set(CATEGORIES)
    assert len(good) >= 15


def test_render_params() -> None:
    out = render_params({"deployment": "{service}", "text": "pods of {service} in {zone}", "n": 3, "o": "{owners}"},
                        {"service": "checkout", "owners": ["@a"]})
    assert out == {"deployment": "checkout", "text": "pods of checkout in {zone}", "n": 3, "o": ["@a"]}


def test_missing_model_package_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embedding, "MODEL_PACKAGE", "no_such_model_pkg_xyz")
    with pytest.raises(embedding.ModelNotFoundError, match="is not installed"):
        embedding.model_dir()


def test_lint_reports_missing_path(tmp_path: Path) -> None:
    assert lint_paths([tmp_path / "nope.md"], known_actions=KNOWN_ACTIONS) == [f"{tmp_path / 'nope.md'}: no such file or directory"]
