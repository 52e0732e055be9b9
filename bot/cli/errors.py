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
        rc = app(standalone_mode=False)
    except SettingsError as e:
        for line in str(e).splitlines():
            say_error(f"aisre: invalid setting: {line}" if line.startswith("AISRE_") else f"aisre: {line}")
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
        if type(e).__name__ == "NoArgsIsHelpError":
            return 0
        show = getattr(e, "show", None)
        code = getattr(e, "exit_code", None)
        if callable(show) and isinstance(code, int):  # a click usage error: print it the click way
            show(file=sys.stderr)
            return code
        raise
    return rc if isinstance(rc, int) else 0
