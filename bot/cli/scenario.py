"""``aisre scenario validate FILE...``"""

from __future__ import annotations

from pathlib import Path

import typer

from bot.cli.errors import say_error
from bot.scenarios import validate_file

app = typer.Typer(help="Incident scenarios (FORMAT.md version 1).", no_args_is_help=True)


def expand(paths: list[Path]) -> list[Path]:
    """Files as given; a directory stands for its *.yaml files."""
    out: list[Path] = []
    for p in paths:
        out.extend(sorted(p.glob("*.yaml")) if p.is_dir() else [p])
    return out


@app.command()
def validate(files: list[Path] = typer.Argument(..., help="Scenario files or directories")) -> None:
    """Check scenario files: one line per problem, exit 1 if any."""
    problems = 0
    for f in expand(files):
        for line in validate_file(f):
            say_error(line)
            problems += 1
    raise typer.Exit(1 if problems else 0)
