"""One place that turns known errors into a one-line message and an exit code."""

from __future__ import annotations

import sys

import typer


def say_error(message: str) -> None:
    """One plain line on stderr (no wrapping, no markup)."""
    sys.stderr.write(message.rstrip("\n") + "\n")


class CliError(Exception):
    """An error the user can act on: printed as one line, exit code ``code``."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


def run_cli(app: typer.Typer) -> int:
    from bot.settings import SettingsError

    try:
        app(standalone_mode=False)
    except SettingsError as e:
        for line in str(e).splitlines():
            say_error(f"aisre: invalid setting: {line}")
        return 2
    except CliError as e:
        say_error(f"aisre: {e}")
        return e.code
    except typer.Exit as e:
        return int(e.exit_code or 0)
    except typer.Abort:
        say_error("aisre: aborted")
        return 130
    except KeyboardInterrupt:
        return 130
    except Exception as e:  # click usage errors and friends
        import click

        if isinstance(e, click.exceptions.ClickException):
            e.show(file=sys.stderr)
            return e.exit_code
        raise
    return 0
