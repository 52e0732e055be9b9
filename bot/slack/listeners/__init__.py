"""Bolt listeners, one module per surface; each has ``register(app, services)``."""

from __future__ import annotations

from slack_bolt import App

from bot.slack.listeners import actions, commands, dedupe, events, home, views
from bot.slack.services import SlackServices


def register_listeners(app: App, services: SlackServices) -> None:
    dedupe.register(app, services)  # first: duplicates never reach a listener
    events.register(app, services)
    commands.register(app, services)
    actions.register(app, services)
    views.register(app, services)
    home.register(app, services)
