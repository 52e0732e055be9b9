"""Every table of the bot's store. Import models from here."""

from bot.store.models.actions import (
    ACTION_STATES,
    TERMINAL_ACTION_STATES,
    Action,
    ActionState,
    Approval,
    AuditEntry,
    Decision,
)
from bot.store.models.base import NAMING_CONVENTION, Base, UTCDateTime, utcnow
from bot.store.models.incidents import (
    INCIDENT_STATUSES,
    SEVERITIES,
    AlertRow,
    EvidenceRow,
    HypothesisRow,
    Incident,
    IncidentStatus,
    IntakeRecord,
    Severity,
    TimelineEntry,
)
from bot.store.models.knowledge import IncidentMemory, LlmUsage
from bot.store.models.ops import (
    FREEZE_SCOPE,
    GLOBAL_SCOPE,
    AutonomyOverride,
    CircuitBreaker,
    HeartbeatResult,
    Lease,
    Lock,
    MaintenanceWindow,
    SlackEvent,
)

metadata = Base.metadata

__all__ = [
    "ACTION_STATES",
    "FREEZE_SCOPE",
    "GLOBAL_SCOPE",
    "INCIDENT_STATUSES",
    "NAMING_CONVENTION",
    "SEVERITIES",
    "TERMINAL_ACTION_STATES",
    "Action",
    "ActionState",
    "AlertRow",
    "Approval",
    "AuditEntry",
    "AutonomyOverride",
    "Base",
    "CircuitBreaker",
    "Decision",
    "EvidenceRow",
    "HeartbeatResult",
    "HypothesisRow",
    "Incident",
    "IncidentMemory",
    "IncidentStatus",
    "IntakeRecord",
    "Lease",
    "LlmUsage",
    "Lock",
    "MaintenanceWindow",
    "Severity",
    "SlackEvent",
    "TimelineEntry",
    "UTCDateTime",
    "metadata",
    "utcnow",
]
