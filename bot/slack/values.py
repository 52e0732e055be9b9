"""What the bot stores inside Slack payloads: button values and modal ``private_metadata``.

Each is a small pydantic model serialised as compact JSON (Slack caps a button value at
2000 characters and ``private_metadata`` at 3000; :func:`dump` checks). Parsing never
raises: :meth:`parse` returns ``None`` for anything that is not a value we wrote, so a
stale or forged click is ignored instead of crashing a listener.
"""

from __future__ import annotations

from typing import Self

from pydantic import BaseModel, ConfigDict, ValidationError

BUTTON_VALUE_MAX = 2000
PRIVATE_METADATA_MAX = 3000


class _Value(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def dump(self, limit: int = BUTTON_VALUE_MAX) -> str:
        raw = self.model_dump_json(exclude_none=True)
        if len(raw) > limit:
            raise ValueError(f"{type(self).__name__} is {len(raw)} characters; Slack allows {limit}")
        return raw

    @classmethod
    def parse(cls, raw: str | None) -> Self | None:
        if not raw:
            return None
        try:
            return cls.model_validate_json(raw)
        except ValidationError:
            return None


class ApprovalValue(_Value):
    """Approve / Deny: the stored action and the hash of the exact parameters the card shows."""

    action_id: int
    params_hash: str


class ProposalValue(_Value):
    """Run / Request approval on an advisory proposal."""

    incident_id: int
    action_id: int | None = None  # the stored action, once submitted
    action: str | None = None
    target: str | None = None


class IncidentRef(_Value):
    """A button that points at an incident (App Home)."""

    incident_id: int
    key: str
    channel_id: str | None = None


class CommandModalMeta(_Value):
    """``private_metadata`` of the modal generated from an action's JSON Schema."""

    action: str
    channel: str
    user: str
    incident_key: str | None = None
    target: str | None = None

    def dump_meta(self) -> str:
        return self.dump(PRIVATE_METADATA_MAX)
