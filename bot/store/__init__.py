"""The bot's own store: SQLAlchemy models, engine and sessions, Alembic migrations.

Modules::

    models        every table (Incident, AlertRow, Action, AuditEntry, ...)
    db            make_engine, Database (session() context manager), StoreUnavailable
    migrate       upgrade, current, ensure_schema, check_models_match
    locks         resource locks with fencing tokens
    leases        leader leases for the scheduler
    audit         the append-only audit log
    events        inbound Slack event dedupe
    actions_repo  compare-and-set transitions of action states

Service functions take keyword-only arguments and a ``session`` they do not
commit: the caller's ``with db.session() as session:`` block does.
"""

from bot.store.db import Database, StoreUnavailable, StoreUrlError, make_engine

__all__ = ["Database", "StoreUnavailable", "StoreUrlError", "make_engine"]
