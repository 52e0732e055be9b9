"""``aisre demo``: the bot, the Slack emulator and a scenario's sandbox, with no credentials."""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import typer

from bot.cli.errors import CliError


def demo(
    scenario: Path = typer.Option(None, "--scenario", help="A scenario file (default: a bundled deploy regression)"),
    list_: bool = typer.Option(False, "--list", help="List the bundled scenarios and exit"),
    check: bool = typer.Option(False, "--check", help="Run the whole demo unattended; exit 0 only if every step happened"),
    speed: float = typer.Option(20.0, help="How much faster the scenario's clock runs"),
    port: int = typer.Option(8600, help="The bot's port"),
    slack_port: int = typer.Option(8700, help="The Slack emulator's port (the page)"),
) -> None:
    """Start the sandbox, the Slack emulator and the bot; fire the alert; print the page's URL."""
    from bot.sandbox.demo import DEFAULT_SCENARIO, bundled_scenarios, run_demo, summary_line
    from bot.sandbox.demo import check as run_check
    from bot.scenarios import ScenarioError, load_scenario

    bundled = bundled_scenarios()
    if list_:
        for p in bundled:
            try:
                s = load_scenario(p)
                typer.echo(f"{p.name:60} {s.title}")
            except ScenarioError as e:
                typer.echo(f"{p.name:60} (invalid: {e.problems[0]})")
        return
    path = scenario or next((p for p in bundled if p.name == DEFAULT_SCENARIO), bundled[0] if bundled else None)
    if path is None:
        raise CliError("no scenario given and none bundled in scenarios/")
    try:
        load_scenario(path)
    except ScenarioError as e:
        raise CliError("; ".join(e.problems)) from None
    say = (lambda s: None) if check else (lambda s: typer.secho(f"• {s}", fg="cyan"))
    try:
        d = run_demo(path, speed=speed, bot_port=None if check else port, slack_port=None if check else slack_port,
                     progress=say)
    except OSError as e:
        raise CliError(f"could not start the demo: {e} (is port {port} or {slack_port} in use? try --port/--slack-port)") from None
    try:
        if check:
            result = run_check(d)
            line = summary_line(result)
            typer.echo(line)
            raise typer.Exit(0 if all(v == "ok" for k, v in result.items() if k != "brief_s") else 1)
        typer.secho(f"\nOpen {d.page_url} — the incident channel is in the sidebar. Approve the card to mitigate.",
                    fg="green", bold=True)
        typer.echo("Ctrl-C stops everything.")
        done = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: done.set())
        try:
            while not done.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
    finally:
        d.stop()
        if not check:
            typer.echo("stopped.")
