"""Every ``action_id``, ``block_id`` and ``callback_id`` the bot puts in Block Kit, in one place.

Listeners match on these and builders emit them, so a rename is one line here. Block ids
that repeat inside one surface (a modal's inputs) are built with :func:`param_block`.
"""

from __future__ import annotations

from enum import StrEnum


class ActionId(StrEnum):
    APPROVE = "aisre.approval.approve"
    DENY = "aisre.approval.deny"
    RUN = "aisre.proposal.run"
    REQUEST_APPROVAL = "aisre.proposal.request_approval"
    OPEN_LINK = "aisre.link.open"  # link buttons (runbooks): Slack still sends an interaction
    HOME_REFRESH = "aisre.home.refresh"
    HOME_OPEN_INCIDENT = "aisre.home.open_incident"
    PARAM_INPUT = "aisre.modal.param"


class BlockId(StrEnum):
    BRIEF_HEADER = "aisre.brief.header"
    BRIEF_SUMMARY = "aisre.brief.summary"
    BRIEF_NOTES = "aisre.brief.notes"
    BRIEF_CHANGES = "aisre.brief.changes"
    BRIEF_HYPOTHESES = "aisre.brief.hypotheses"
    BRIEF_PROPOSAL = "aisre.brief.proposal"
    BRIEF_PROPOSAL_ACTIONS = "aisre.brief.proposal_actions"
    BRIEF_RUNBOOKS = "aisre.brief.runbooks"
    BRIEF_SIMILAR = "aisre.brief.similar"
    BRIEF_TIMELINE = "aisre.brief.timeline"
    BRIEF_FOOTER = "aisre.brief.footer"
    APPROVAL_HEADER = "aisre.approval.header"
    APPROVAL_BODY = "aisre.approval.body"
    APPROVAL_ACTIONS = "aisre.approval.actions"
    APPROVAL_DECISION = "aisre.approval.decision"
    HOME_ACTIONS = "aisre.home.actions"
    ANNOUNCE_TITLE = "aisre.announce.title"
    ANNOUNCE_FACTS = "aisre.announce.facts"
    MODAL_PARAM = "aisre.param"  # prefix: see param_block()


class CallbackId(StrEnum):
    COMMAND_MODAL = "aisre.command_modal"


def param_block(name: str) -> str:
    """The block id of the modal input for parameter ``name``."""
    return f"{BlockId.MODAL_PARAM}.{name}"


def param_name(block_id: str) -> str | None:
    prefix = f"{BlockId.MODAL_PARAM}."
    return block_id[len(prefix):] if block_id.startswith(prefix) else None
