"""``aisre serve``: run the bot (web server, Slack app, scheduler)."""

from __future__ import annotations

import json

import typer

from bot.settings import load_settings, mask_url_passwords


def serve(
    host: str = typer.Option(None, help="Bind address (default: AISRE_HOST)"),
    port: int = typer.Option(None, help="Port (default: AISRE_PORT)"),
) -> None:
    """Run the bot: webhooks, Slack listeners, health and metrics, scheduled jobs."""
    overrides: dict[str, object] = {}
    if host:
        overrides["host"] = host
    if port:
        overrides["port"] = port
    settings = load_settings(**overrides)
    from bot.investigation.skills import SkillError
    from bot.runtime import run_server

    try:
        run_server(settings)
    except SkillError as e:
        typer.echo(f"aisre serve: the investigation skills do not load:\n{e}", err=True)
        raise typer.Exit(2) from None


def show_config() -> None:
    """Print the effective settings (secrets masked)."""
    settings = load_settings()
    typer.echo(mask_url_passwords(json.dumps(json.loads(settings.model_dump_json()), indent=2)))
