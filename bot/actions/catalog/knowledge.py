"""Learning actions: apply a runbook update that a resolved incident proposed.

The proposal (the new text and its diff) is stored with the incident; the
action carries only the path and the hash of the exact text that was shown, so
an approval applies exactly what the approver saw, or nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from pydantic import Field

from bot.actions.catalog._base import Params
from bot.actions.ports import Ports
from bot.actions.spec import ActionSpec, PreconditionFailed


class RunbookProposals(Protocol):
    def text(self, incident_id: int, path: str, sha256: str) -> str | None:
        """The proposed runbook text, when its hash still matches what was shown."""
        ...


class RunbookUpdate(Params):
    incident_id: int = Field(gt=0, description="The incident that proposed the update")
    path: str = Field(pattern=r"^[A-Za-z0-9_./-]+\.md$", max_length=300, description="Runbook file to write")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="Hash of the proposed text the approver saw")


def _proposals(ports: Ports) -> RunbookProposals:
    p = ports.extra.get("runbook_proposals")
    if p is None:
        raise PreconditionFailed("runbook proposals are not available in this deployment")
    return p  # type: ignore[return-value]


def _safe_path(p: RunbookUpdate, ports: Ports) -> Path:
    path = Path(p.path)
    root = getattr(ports.extra.get("runbook_proposals"), "runbooks_dir", None)
    if root is not None:  # the configured runbooks directory: the file must be inside it
        full = path.resolve()
        if ".." in path.parts or not full.is_relative_to(Path(root).resolve()):
            raise PreconditionFailed(f"refusing to write outside the runbooks directory {root}: {p.path}")
        return full
    if path.is_absolute() or ".." in path.parts:
        raise PreconditionFailed(f"refusing to write outside the runbooks directory: {p.path}")
    return path


def _checkpoint(p: RunbookUpdate, ports: Ports) -> dict[str, Any]:
    path = _safe_path(p, ports)
    return {"existed": path.exists(), "old": path.read_text(encoding="utf-8") if path.exists() else ""}


def _apply(p: RunbookUpdate, ports: Ports) -> dict[str, Any]:
    text = _proposals(ports).text(p.incident_id, p.path, p.sha256)
    if text is None:
        raise PreconditionFailed("the proposed text changed since it was shown; nothing was written")
    path = _safe_path(p, ports)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return {"written": p.path, "bytes": len(text.encode())}


def _revert(p: RunbookUpdate, cp: dict[str, Any], ports: Ports) -> None:
    path = _safe_path(p, ports)
    if cp.get("existed"):
        path.write_text(str(cp.get("old", "")), encoding="utf-8")
    elif path.exists():
        path.unlink()


SPECS = [
    ActionSpec(
        name="runbooks.apply_update",
        summary=(
            "Write a runbook update that a resolved incident proposed (the diff shown in the incident channel). "
            "Undone by restoring the previous text."
        ),
        risk="low", reversible=True, mitigation_kind=None, params_model=RunbookUpdate,
        handler=_apply, checkpoint=_checkpoint, revert=_revert, verify="none",
        resource=lambda p: f"runbook:{p.path}", timeout_s=10,
    ),
]
