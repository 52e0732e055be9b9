"""``aisre docs config [--check]``: write or check the generated configuration reference."""

from __future__ import annotations

from pathlib import Path

import typer

from bot.cli.errors import CliError
from bot.docs_gen import DOCS_FILE, check_configuration, render_configuration

app = typer.Typer(no_args_is_help=True)


@app.command("config")
def config(
    check: bool = typer.Option(False, "--check", help="Exit 1 if the file is out of date instead of writing it"),
    path: Path = typer.Option(DOCS_FILE, "--path", help="Where the reference lives"),
) -> None:
    """Generate docs/configuration.md from bot/settings.py (every AISRE_* variable)."""
    if check:
        problem = check_configuration(path)
        if problem:
            raise CliError(problem, code=1)
        typer.echo(f"{path}: up to date")
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_configuration(), encoding="utf-8")
    typer.echo(f"wrote {path}")
