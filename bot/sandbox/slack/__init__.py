"""A local Slack workspace: Web API, signed events and interactions to the bot, and a page.

Start it with :func:`start_emulator` (in-process) or ``python -m bot.sandbox.slack``.
"""

from bot.sandbox.slack.app import EmulatorHandle, create_app, start_emulator
from bot.sandbox.slack.outbound import Delivery, Outbound, sign
from bot.sandbox.slack.people import People, UiError
from bot.sandbox.slack.state import BOT_ID, BOT_USER_ID, TEAM_ID, EmulatorState

__all__ = [
    "BOT_ID",
    "BOT_USER_ID",
    "TEAM_ID",
    "Delivery",
    "EmulatorHandle",
    "EmulatorState",
    "Outbound",
    "People",
    "UiError",
    "create_app",
    "sign",
    "start_emulator",
]
