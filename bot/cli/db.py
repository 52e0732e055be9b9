"""``aisre db``: the store's schema (upgrade, current)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import typer

from bot.cli.errors import CliError

T = TypeVar("T")

app = typer.Typer(no_args_is_help=True, help="The bot's own database: migrations.")


def _url() -> str:
    from bot.settings import load_settings

    return load_settings().database_url  # SettingsError prints one line per bad setting


def _run(fn: Callable[..., T], *args: object) -> T:
    from bot.store.db import StoreUnavailable, StoreUrlError
    from bot.store.migrate import MigrationsNotFound

    try:
        return fn(*args)
    except (StoreUnavailable, StoreUrlError, MigrationsNotFound) as e:
        raise CliError(str(e).splitlines()[0], code=1) from None


@app.command("upgrade")
def upgrade(revision: str = typer.Argument("head", help="Target revision")) -> None:
    """Apply migrations up to REVISION (head by default)."""
    from bot.store import migrate
    from bot.store.db import describe_url

    url = _url()
    _run(migrate.upgrade, url, revision)
    typer.echo(f"{describe_url(url)}: at revision {_run(migrate.current, url) or '<none>'}")


@app.command("current")
def current() -> None:
    """Print the revision the database is at ("<none>" for an empty database)."""
    from bot.store import migrate

    rev = _run(migrate.current, _url())
    head = _run(migrate.head)
    suffix = " (head)" if rev == head else f" (head is {head})"
    typer.echo(f"{rev or '<none>'}{suffix}")
