"""``aisre drill FILE --json`` and ``aisre eval DIR [--json] [--reasoner deterministic]``."""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path

import typer

from bot.cli.errors import CliError, say_error

REASONERS = ("deterministic", "llm")


def _load(path: Path):  # type: ignore[no-untyped-def]
    from bot.scenarios import ScenarioError, load_scenario

    try:
        return load_scenario(path)
    except ScenarioError as e:
        raise CliError(e.problems[0] if len(e.problems) == 1 else "\n".join(e.problems), code=1) from None


def drill(
    file: Path = typer.Argument(..., help="A scenario file (FORMAT.md version 1)"),
    as_json: bool = typer.Option(False, "--json", help="Print the drill's JSON object"),
    direct: bool = typer.Option(False, "--direct", hidden=True, help="In-memory sources instead of the sandbox servers"),
    real_postgres: bool = typer.Option(False, "--real-postgres", hidden=True,
                                       help="Serve db sessions from a real PostgreSQL (session ages are lost)"),
) -> None:
    """Investigate a scenario's alert (without its truth) and print what the bot found."""
    from bot.investigation.drill import run_drill

    scenario = _load(file)
    out = run_drill(scenario, direct=direct, real_postgres=real_postgres)
    if as_json:
        sys.stdout.write(json.dumps(out, indent=2) + "\n")
        return
    from rich.console import Console

    con = Console()
    con.print(f"[bold]{out['scenario']}[/] severity {out['severity']} ({out['seconds_to_brief']}s)")
    for i, h in enumerate(out["hypotheses"], 1):
        con.print(f"  {i}. {h['category']} culprit={h['culprit']} confidence={h['confidence']} "
                  f"evidence={','.join(h['evidence'])}")
    m = out["mitigation"]
    con.print(f"  mitigation: {m['kind']} {m['target']} via {m['action']}" if m else "  mitigation: none")


def evaluate(
    directory: Path = typer.Argument(..., help="A directory of scenario files"),
    as_json: bool = typer.Option(False, "--json", help="Per-scenario results and totals as JSON"),
    reasoner: str = typer.Option("deterministic", "--reasoner", help="Which reasoner: deterministic, or llm (the local fake unless AISRE_LLM__API_KEY is set)"),
    direct: bool = typer.Option(False, "--direct", hidden=True, help="In-memory sources instead of the sandbox servers"),
    real_postgres: bool = typer.Option(False, "--real-postgres", hidden=True),
) -> None:
    """Run a drill for every scenario in DIR and score it (top-1, top-3, mitigation, cited)."""
    from bot.investigation.drill import Score, run_drill, score, totals
    from bot.scenarios import ScenarioError, load_scenario

    if reasoner not in REASONERS:
        raise CliError(f"--reasoner: expected one of {', '.join(REASONERS)}, got {reasoner!r}")
    if not directory.is_dir():
        raise CliError(f"{directory}: not a directory of scenario files")
    files = sorted(directory.glob("*.yaml"))
    scores: list[Score] = []
    problems: list[str] = []
    from rich.console import Console
    from rich.progress import Progress

    err = Console(stderr=True)
    runner = run_drill
    stack = contextlib.ExitStack()
    if reasoner == "llm":  # bot/llm/drill.py: the same drill with the LLM reasoner folded in
        from bot.llm.drill import llm_runner
        from bot.settings import load_settings

        runner = stack.enter_context(llm_runner(load_settings().llm))
    with stack, Progress(console=err, transient=True, disable=as_json and not err.is_terminal) as progress:
        task = progress.add_task("drills", total=len(files))
        for f in files:
            try:
                sc = load_scenario(f)
            except ScenarioError as e:
                problems.extend(e.problems)
                progress.advance(task)
                continue
            if sc.truth is None:
                problems.append(f"{f}: truth: required to score a drill")
                progress.advance(task)
                continue
            try:
                out = runner(sc, direct=direct, real_postgres=real_postgres)
            except Exception as e:  # noqa: BLE001 - one broken drill never stops the eval
                problems.append(f"{f}: drill failed: {type(e).__name__}: {e}")
                progress.advance(task)
                continue
            scores.append(score(out, sc.truth))
            progress.advance(task)
    for p in problems:
        say_error(p)
    t = totals(scores)
    line = (f"top1={t['top1']:.2f} top3={t['top3']:.2f} mitigation={t['mitigation']:.2f} cited={t['cited']:.2f} "
            f"scenarios={len(scores)} failed_to_load={len(problems)}")
    if as_json:
        sys.stdout.write(json.dumps({"results": [s.to_json() for s in scores],
                                     "totals": {**{k: round(v, 4) for k, v in t.items()}, "scenarios": len(scores),
                                                "failed_to_load": len(problems)},
                                     "problems": problems}, indent=2) + "\n")
        return
    _table(scores)
    sys.stdout.write(line + "\n")


def _table(scores: list) -> None:  # type: ignore[type-arg]
    from rich.console import Console
    from rich.table import Table

    by: dict[str, list] = {}  # type: ignore[type-arg]
    for s in scores:
        by.setdefault(s.category, []).append(s)
    table = Table(title="drills by category")
    for col in ("category", "n", "top1", "top3", "mitigation", "cited", "misses"):
        table.add_column(col)
    for cat in sorted(by):
        ss = by[cat]
        n = len(ss)
        misses = ", ".join(f"{s.scenario} -> {s.got.get('got_category')}:{s.got.get('got_culprit')}"
                           for s in ss if not (s.top1 and s.mitigation))
        table.add_row(cat, str(n), f"{sum(s.top1 for s in ss)}/{n}", f"{sum(s.top3 for s in ss)}/{n}",
                      f"{sum(s.mitigation for s in ss)}/{n}", f"{sum(s.cited for s in ss)}/{n}", misses)
    Console().print(table)
