"""The ``aisre`` command line.

Each component adds its commands in its own module under ``bot/cli/`` and one
``add_typer``/``command`` line below. Errors the user can fix print one line
and exit non-zero; they never show a traceback.
"""

from __future__ import annotations

import sys

import typer

from bot.cli.errors import run_cli

app = typer.Typer(
    name="aisre",
    help="ai-sre: a Slack-native AI SRE bot. Opens incidents, investigates with cited evidence, acts safely.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _register() -> None:
    # One line per component. Keep the imports here so `aisre --help` stays fast to import.
    from bot.cli import db as db_cli
    from bot.cli import demo as demo_cli
    from bot.cli import docs as docs_cli
    from bot.cli import drill as drill_cli
    from bot.cli import runbooks as runbooks_cli
    from bot.cli import sandbox as sandbox_cli
    from bot.cli import scenario as scenario_cli
    from bot.cli import serve as serve_cli

    app.add_typer(scenario_cli.app, name="scenario", help="Validate incident scenarios.")
    app.add_typer(db_cli.app, name="db", help="The bot's own database: migrations.")
    app.add_typer(runbooks_cli.app, name="runbooks", help="Lint, index and search runbooks.")
    app.add_typer(sandbox_cli.app, name="sandbox", help="Serve a scenario through Datadog/Prometheus/... APIs.")

    app.add_typer(docs_cli.app, name="docs", help="Generate and check the documentation (configuration reference).")
    app.add_typer(__import__("bot.cli.heartbeats", fromlist=["app"]).app, name="heartbeats", help="Validate heartbeats.yaml.")
    app.command("serve")(serve_cli.serve)
    app.command("config")(serve_cli.show_config)
    app.command("drill")(drill_cli.drill)
    app.command("eval")(drill_cli.evaluate)
    app.command("demo")(demo_cli.demo)


def main() -> None:
    _register()
    sys.exit(run_cli(app))


if __name__ == "__main__":
    main()
