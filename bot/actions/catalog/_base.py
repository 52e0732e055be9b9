"""What every catalog module shares: the strict parameter base model."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

K8S_NAME = r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"


class Params(BaseModel):
    """Parameters of an action: unknown keys are an error, values are checked, the model is frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)

