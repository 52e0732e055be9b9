"""Pure Block Kit builders: data in, :class:`Message` (or a view dict) out; no I/O.

Every builder respects Slack's limits (see :mod:`bot.slack.blocks.kit`); the tests check
each one against the emulator's validator as well.
"""

from bot.slack.blocks.announce import announcement
from bot.slack.blocks.approval import ApprovalCard, approval_card, decided
from bot.slack.blocks.brief import brief_message
from bot.slack.blocks.home import AutonomyRow, home_view
from bot.slack.blocks.kit import Message, fit, fit_tail, truncate
from bot.slack.blocks.modal import command_modal, errors_for, read_submission
from bot.slack.blocks.replies import (
    AuditLine,
    audit_message,
    autonomy_message,
    catchup_message,
    error_reply,
    evidence_message,
    help_message,
    status_reply,
    status_update,
    text_reply,
    timeline_message,
)

__all__ = [
    "ApprovalCard",
    "AuditLine",
    "AutonomyRow",
    "Message",
    "announcement",
    "approval_card",
    "audit_message",
    "autonomy_message",
    "brief_message",
    "catchup_message",
    "command_modal",
    "decided",
    "error_reply",
    "evidence_message",
    "errors_for",
    "fit",
    "fit_tail",
    "help_message",
    "home_view",
    "read_submission",
    "status_reply",
    "status_update",
    "text_reply",
    "timeline_message",
    "truncate",
]
