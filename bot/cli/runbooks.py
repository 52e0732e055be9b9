"""``aisre runbooks``: lint, index and search the runbooks."""

from __future__ import annotations

import time
from pathlib import Path

import typer

app = typer.Typer(name="runbooks", help="Lint, index and search runbooks.", no_args_is_help=True)


@app.command("lint")
def lint(
    paths: list[Path] = typer.Argument(None, help="Runbook files or directories (default: the runbooks dir)"),
) -> None:
    """Check runbooks: one line per problem; exit 1 if there is any."""
    from bot.knowledge.runbooks import lint_paths

    if not paths:
        from bot.settings import load_settings

        paths = [load_settings().knowledge.runbooks_dir]
    problems = lint_paths(paths)
    for line in problems:
        typer.echo(line)
    if problems:
        raise typer.Exit(1)
    typer.echo("ok: no problems", err=True)


@app.command("index")
def index() -> None:
    """Index the runbooks incrementally (only changed files are embedded again)."""
    from bot.knowledge.index import KnowledgeIndex
    from bot.settings import load_settings

    settings = load_settings().knowledge
    t0 = time.perf_counter()
    idx = KnowledgeIndex.from_settings(settings)
    report = idx.sync_runbooks(settings.runbooks_dir)
    for _path, lines in sorted(report.invalid.items()):
        for line in lines:
            typer.echo(f"skipped: {line}", err=True)
    typer.echo(
        f"indexed {len(report.indexed)}, unchanged {len(report.unchanged)}, removed {len(report.removed)}, "
        f"invalid {len(report.invalid)} ({report.chunks} chunks) in {time.perf_counter() - t0:.2f}s"
    )


@app.command("search")
def search(
    query: str = typer.Argument(..., help="An incident description"),
    k: int = typer.Option(5, "--k", min=1, max=50, help="How many runbooks"),
    service: list[str] = typer.Option([], "--service", help="Boost runbooks for this service"),
) -> None:
    """Find the runbooks that match a description."""
    from rich.console import Console
    from rich.table import Table

    from bot.knowledge.index import KnowledgeIndex
    from bot.settings import load_settings

    idx = KnowledgeIndex.from_settings(load_settings().knowledge)
    hits = idx.search(query, k=k, services=service)
    if not hits:
        typer.echo("no runbooks indexed or nothing matches; run `aisre runbooks index`", err=True)
        raise typer.Exit(1)
    table = Table(title=f"runbooks for: {query}")
    table.add_column("score")
    table.add_column("runbook", no_wrap=True)
    for col in ("section", "categories", "actions"):
        table.add_column(col)
    for h in hits:
        table.add_row(
            f"{h.score:.2f}",
            h.path,
            h.section,
            ", ".join(h.categories),
            ", ".join(a["name"] for a in h.actions),
        )
    Console().print(table)
