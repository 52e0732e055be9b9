"""The action registry: look up, validate, describe (JSON Schema, LLM tools) and map mitigations.

    registry = Registry.builtin()
    params = registry.validate("k8s.scale", {"deployment": "checkout", "replicas": 8})
    registry.json_schema("k8s.scale")          # the approval card, the Slack modal, validation
    registry.tool_definitions()                # Anthropic tools: name "k8s__scale", input_schema
    registry.for_mitigation("restart", "checkout", {"namespace": "shop"})
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from bot.actions.mapping import map_mitigation
from bot.actions.spec import ActionSpec, InvalidParams, UnknownAction


class Registry:
    def __init__(self, specs: Iterable[ActionSpec]) -> None:
        self._specs: dict[str, ActionSpec] = {}
        for s in specs:
            if s.name in self._specs:
                raise ValueError(f"action {s.name!r} is declared twice")
            self._specs[s.name] = s
        self._by_tool = {s.tool_name: s for s in self._specs.values()}

    @classmethod
    def builtin(cls) -> Registry:
        from bot.actions.catalog import builtin_specs

        return cls(builtin_specs())

    def names(self) -> list[str]:
        return sorted(self._specs)

    def specs(self) -> list[ActionSpec]:
        return [self._specs[n] for n in self.names()]

    def __contains__(self, name: object) -> bool:
        return name in self._specs

    def get(self, name: str) -> ActionSpec:
        spec = self._specs.get(name) or self._by_tool.get(name)
        if spec is None:
            raise UnknownAction(name, difflib.get_close_matches(name, self.names(), n=2, cutoff=0.5))
        return spec

    def validate(self, name: str, params: Mapping[str, Any] | BaseModel) -> BaseModel:
        """The parameters as the action's model; :class:`InvalidParams` lists one line per field."""
        spec = self.get(name)
        raw = params.model_dump() if isinstance(params, BaseModel) else dict(params)
        try:
            return spec.params_model.model_validate(raw)
        except ValidationError as e:
            raise InvalidParams(spec.name, _problems(e)) from None

    def json_schema(self, name: str) -> dict[str, Any]:
        spec = self.get(name)
        schema = spec.params_model.model_json_schema()
        schema.pop("title", None)
        schema["additionalProperties"] = False
        return schema

    def tool_definitions(self, *, include_read_only: bool = True) -> list[dict[str, Any]]:
        """Anthropic Messages API tool definitions, one per action (dots become ``__``)."""
        out = []
        for s in self.specs():
            if s.read_only and not include_read_only:
                continue
            flags = [f"risk {s.risk}", "reversible" if s.reversible else "cannot be undone"]
            if s.read_only:
                flags = ["read-only"]
            out.append(
                {
                    "name": s.tool_name,
                    "description": f"{s.summary} ({', '.join(flags)}; action {s.name})",
                    "input_schema": self.json_schema(s.name),
                }
            )
        return out

    def for_mitigation(
        self, kind: str, target: str, context: Mapping[str, Any] | None = None
    ) -> tuple[str, dict[str, Any]]:
        """A FORMAT.md mitigation kind on a target -> (action name, validated params as a dict).

        See :func:`bot.actions.mapping.map_mitigation` for the context keys.
        """
        name, params = map_mitigation(kind, target, dict(context or {}))
        return name, self.validate(name, params).model_dump(mode="json")


def _problems(err: ValidationError) -> list[str]:
    lines = []
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"]) or "(parameters)"
        if e["type"] == "extra_forbidden":
            lines.append(f"{loc}: unknown parameter")
        else:
            lines.append(f"{loc}: {e['msg']} (got {e.get('input')!r})" if e["type"] != "missing" else f"{loc}: required")
    return lines
