"""``aisre sandbox serve SCENARIO [--speed N] [--bot-url URL] [--fire/--no-fire]``"""

from __future__ import annotations

import shlex
import signal
import threading
from pathlib import Path

import typer

from bot.cli.errors import CliError, say_error

app = typer.Typer(help="Scenario-backed sandbox servers (Datadog, Prometheus, flags, Kubernetes, ...).",
                  no_args_is_help=True)


@app.command()
def serve(
    scenario: Path = typer.Argument(..., help="Scenario file (FORMAT.md v1)"),
    speed: float = typer.Option(1.0, "--speed", min=0.01, help="Scenario minutes per wall-clock minute"),
    bot_url: str | None = typer.Option(None, "--bot-url", help="Fire the scenario's alert at this bot"),
    fire_alert: bool = typer.Option(True, "--fire/--no-fire", help="Fire the alert when --bot-url is given"),
) -> None:
    """Serve a scenario through the real vendor protocols until Ctrl-C."""
    from bot.sandbox import firing
    from bot.sandbox.replay import Replay
    from bot.sandbox.servers import start_all
    from bot.scenarios import ScenarioError, load_scenario
    from bot.settings import load_settings

    try:
        sc = load_scenario(scenario)
    except ScenarioError as e:
        for line in e.problems:
            say_error(line)
        raise typer.Exit(1) from None
    replay = Replay(sc, speed=speed)  # the truth stays server-side: it drives after_action effects
    servers = start_all(replay)
    stop = threading.Event()
    try:
        typer.echo(f"sandbox for scenario {sc.id} ({sc.title}), speed {speed:g}")
        for name, url in servers.urls.items():
            typer.echo(f"  {name:<11} {url}")
        for name, why in servers.skipped.items():
            say_error(f"aisre: sandbox {name} not started: {why}")
        typer.echo("environment for the bot:")
        for k, v in servers.env.items():
            typer.echo(f"  export {k}={shlex.quote(v)}")
        if bot_url and fire_alert:
            settings = load_settings()
            f = firing.build(replay, bot_url, settings)
            try:
                r = firing.fire(f)
            except Exception as e:
                raise CliError(f"could not deliver the alert to {f.url}: {e}", code=1) from None
            typer.echo(f"fired the {sc.alert.source} alert at {f.url}: HTTP {r.status_code}")
        typer.echo("serving; Ctrl-C to stop")
        previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            signal.signal(signal.SIGTERM, previous)
    finally:
        servers.stop()
        typer.echo("sandbox stopped")
