"""``aisre heartbeats``: validate a heartbeats.yaml."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(name="heartbeats", help="Validate heartbeat checks.", no_args_is_help=True)


@app.command("check")
def check(path: Path = typer.Argument(..., help="A heartbeats.yaml")) -> None:
    """Validate FILE: one line per problem and exit 1, or a summary of the checks."""
    from bot.scheduler.config import HeartbeatsError, load_heartbeats

    try:
        cfg = load_heartbeats(path)
    except HeartbeatsError as e:
        for line in e.problems:
            typer.echo(line)
        raise typer.Exit(1) from None
    for c in cfg.checks:
        typer.echo(f"{c.name}: {c.kind} every {cfg.interval(c):g}s, breach after {cfg.checks_needed(c)} "
                   f"failing checks (for {cfg.for_(c):g}s)")
    typer.echo(f"ok: {len(cfg.checks)} checks", err=True)
