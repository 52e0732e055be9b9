"""Every setting of the bot, validated once at start-up.

Settings come from ``AISRE_*`` environment variables and an optional ``.env``
file; nested groups use a double underscore (``AISRE_SLACK__BOT_TOKEN``).
Nothing reads the environment at import time: :func:`load_settings` does, and
tests build ``Settings(...)`` directly. The defaults run the demo with no
credentials at all.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from pydantic_settings import SettingsError as _SourceError

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


class SlackSettings(BaseModel):
    mode: Literal["http", "socket"] = Field("http", description="HTTP Events API or Socket Mode")
    bot_token: SecretStr = Field(SecretStr("xoxb-local-emulator"), description="Bot token (xoxb-...)")
    app_token: SecretStr | None = Field(None, description="App-level token for Socket Mode (xapp-...)")
    signing_secret: SecretStr = Field(SecretStr("local-emulator-signing-secret"), description="Signing secret")
    api_url: str = Field(
        "http://127.0.0.1:8700/api/",
        description="Web API base URL; the local emulator by default, https://slack.com/api/ in production",
    )
    incident_channel_prefix: str = Field("inc", description="Prefix of incident channel names")
    digest_channel: str = Field("sre-digest", description="Channel for the daily digest")
    default_channel: str = Field("incidents", description="Channel for incidents no routing rule claims")
    announce_channel: str = Field(
        "incidents", description="Channel where each new incident is announced with a link to its channel, the "
        "announcement edited as it moves on; empty: no announcements",
    )
    approvers: list[str] = Field(default_factory=list, description="User ids allowed to approve actions")
    approver_groups: list[str] = Field(default_factory=list, description="User group ids allowed to approve")
    admins: list[str] = Field(default_factory=list, description="User ids allowed to change autonomy and freeze")
    max_retries: int = Field(3, ge=0, le=10, description="Retries on ratelimited or 5xx answers")


class DatadogSettings(BaseModel):
    enabled: bool = Field(False, description="Query Datadog for metrics, logs and events")
    site: str = Field("datadoghq.com", description="Datadog site")
    api_url: str | None = Field(None, description="Override the API base URL (the sandbox uses this)")
    api_key: SecretStr | None = Field(None, description="Datadog API key")
    app_key: SecretStr | None = Field(None, description="Datadog application key")
    webhook_secret: SecretStr = Field(
        SecretStr("local-datadog-webhook-secret"), description="Shared secret Datadog sends in X-AISRE-Token"
    )
    timeout_s: float = Field(5.0, gt=0, description="Per-request timeout")


class PrometheusSettings(BaseModel):
    enabled: bool = Field(False, description="Query Prometheus")
    url: str = Field("http://127.0.0.1:9090", description="Prometheus base URL")
    timeout_s: float = Field(5.0, gt=0, description="Per-request timeout")
    alertmanager_token: SecretStr | None = Field(
        SecretStr("local-alertmanager-token"), description="Bearer token Alertmanager sends"
    )
    alertmanager_basic_user: str | None = Field(None, description="Basic-auth user Alertmanager sends")
    alertmanager_basic_password: SecretStr | None = Field(None, description="Basic-auth password")


class KubernetesSettings(BaseModel):
    enabled: bool = Field(False, description="Talk to a Kubernetes API server")
    kubeconfig: Path | None = Field(None, description="Path to a kubeconfig; in-cluster config when unset")
    context: str | None = Field(None, description="kubeconfig context")
    timeout_s: float = Field(5.0, gt=0, description="Per-request timeout")


class AwsSettings(BaseModel):
    enabled: bool = Field(False, description="Use AWS (CloudWatch, Auto Scaling, RDS, SSM)")
    region: str = Field("us-east-1", description="AWS region")
    endpoint_url: str | None = Field(None, description="Override endpoint (moto in the sandbox)")
    timeout_s: float = Field(5.0, gt=0, description="Per-request timeout")


class PostgresTargetSettings(BaseModel):
    enabled: bool = Field(False, description="Inspect and act on PostgreSQL target databases")
    dsn: SecretStr | None = Field(None, description="DSN of the server hosting the target databases")
    databases: dict[str, str] = Field(
        default_factory=dict, description="Service name -> database name on that server"
    )
    timeout_s: float = Field(5.0, gt=0, description="Statement timeout")


class RedisTargetSettings(BaseModel):
    url: str = Field("redis://127.0.0.1:6379/0", description="Default Redis cache to act on")
    caches: dict[str, str] = Field(default_factory=dict, description="Cache service name -> Redis URL")


class FlagsSettings(BaseModel):
    enabled: bool = Field(False, description="Use the feature-flag HTTP API to turn flags off")
    url: str = Field("http://127.0.0.1:8690", description="Feature-flag API base URL")
    token: SecretStr | None = Field(None, description="Bearer token for the flag API")
    timeout_s: float = Field(5.0, gt=0, description="Per-request timeout")


class LlmSettings(BaseModel):
    api_key: SecretStr | None = Field(None, description="Anthropic API key; the LLM reasoner is off without it")
    base_url: str | None = Field(None, description="Messages API base URL (a local fake in tests)")
    model: str = Field("claude-sonnet-4-5", description="Model name")
    max_tokens: int = Field(2048, gt=0, description="Max output tokens per call")
    token_budget: int = Field(60000, gt=0, description="Token budget per investigation")
    timeout_s: float = Field(30.0, gt=0, description="Per-call timeout")
    max_tool_rounds: int = Field(4, ge=0, le=20, description="Tool-use rounds per investigation")
    redact_patterns: list[str] = Field(default_factory=list, description="Extra regexes to mask before sending")


class KnowledgeSettings(BaseModel):
    enabled: bool = Field(True, description="Index runbooks and past incidents and use them in investigations")
    chroma_path: Path = Field(Path(".aisre/chroma"), description="Persistent chromadb directory")
    chroma_url: str | None = Field(None, description="A chroma server URL, shared by replicas")
    runbooks_dir: Path = Field(Path("runbooks"), description="Runbook directory")
    skills_dir: Path = Field(Path("skills"), description="Skill directory")
    postmortems_dir: Path = Field(Path(".aisre/postmortems"), description="Where postmortem drafts are written")


class SchedulerSettings(BaseModel):
    enabled: bool = Field(True, description="Run scheduled jobs (only the leader does)")
    digest_hour: int = Field(9, ge=0, le=23, description="Hour of the daily digest")
    digest_timezone: str = Field("UTC", description="Time zone of the daily digest")
    lease_seconds: int = Field(15, ge=2, description="Leader lease length")
    heartbeats_file: Path | None = Field(None, description="heartbeats.yaml")

    @field_validator("digest_timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        from zoneinfo import ZoneInfo

        try:
            ZoneInfo(v)
        except Exception as e:
            raise ValueError(f"unknown time zone {v!r}") from e
        return v


class PolicySettings(BaseModel):
    file: Path | None = Field(None, description="policy.yaml; the built-in defaults when unset")
    approval_ttl_s: int = Field(900, gt=0, description="How long an approval card stays valid")
    max_auto_attempts: int = Field(2, ge=0, description="Automatic attempts per incident before escalating")
    revert_error_rise: float = Field(0.05, gt=0, description="Revert when the error rate rises more than this")
    revert_latency_rise: float = Field(0.10, gt=0, description="Revert when latency rises more than this")
    verify_s: float = Field(120.0, gt=0, description="How long to watch metrics after an action")
    breaker_reverts: int = Field(2, ge=1, description="Reverts that open an automation's circuit breaker")


class IncidentSettings(BaseModel):
    services_file: Path | None = Field(None, description="services.yaml, the service catalog")
    group_window_s: int = Field(900, gt=0, description="Group alerts on related services within this window")
    severity_overrides: dict[str, str] = Field(default_factory=dict, description="Adjust the severity matrix")


class Settings(BaseSettings):
    """All of the bot's settings."""

    model_config = SettingsConfigDict(
        env_prefix="AISRE_", env_nested_delimiter="__", env_file=".env", extra="ignore"
    )

    database_url: str = Field("sqlite:///.aisre/aisre.db", description="The bot's own store (SQLAlchemy URL)")
    log_level: LogLevel = Field("INFO", description="Log level")
    host: str = Field("127.0.0.1", description="Web server bind address")
    port: int = Field(8600, ge=1, le=65535, description="Web server port")
    public_url: str = Field("http://127.0.0.1:8600", description="URL Slack and sources reach the bot at")
    data_dir: Path = Field(Path(".aisre"), description="Local state directory")
    intake_token: SecretStr = Field(
        SecretStr("local-intake-token"), description="Bearer token for /intake/heartbeat and /intake/manual"
    )

    slack: SlackSettings = Field(default_factory=SlackSettings)  # type: ignore[arg-type]
    datadog: DatadogSettings = Field(default_factory=DatadogSettings)  # type: ignore[arg-type]
    prometheus: PrometheusSettings = Field(default_factory=PrometheusSettings)  # type: ignore[arg-type]
    kubernetes: KubernetesSettings = Field(default_factory=KubernetesSettings)  # type: ignore[arg-type]
    aws: AwsSettings = Field(default_factory=AwsSettings)  # type: ignore[arg-type]
    postgres: PostgresTargetSettings = Field(default_factory=PostgresTargetSettings)  # type: ignore[arg-type]
    redis: RedisTargetSettings = Field(default_factory=RedisTargetSettings)  # type: ignore[arg-type]
    flags: FlagsSettings = Field(default_factory=FlagsSettings)  # type: ignore[arg-type]
    llm: LlmSettings = Field(default_factory=LlmSettings)  # type: ignore[arg-type]
    knowledge: KnowledgeSettings = Field(default_factory=KnowledgeSettings)  # type: ignore[arg-type]
    scheduler: SchedulerSettings = Field(default_factory=SchedulerSettings)  # type: ignore[arg-type]
    policy: PolicySettings = Field(default_factory=PolicySettings)  # type: ignore[arg-type]
    incidents: IncidentSettings = Field(default_factory=IncidentSettings)  # type: ignore[arg-type]

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, v: Any) -> Any:
        return v.upper() if isinstance(v, str) else v

    @field_validator("database_url")
    @classmethod
    def _db_url(cls, v: str) -> str:
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            url = make_url(v)
        except ArgumentError as e:
            raise ValueError("expected an SQLAlchemy URL such as sqlite:///path.db or postgresql+psycopg://...") from e
        if url.get_backend_name() not in ("sqlite", "postgresql"):
            raise ValueError(f"expected a sqlite or postgresql URL, got backend {url.get_backend_name()!r}")
        return v


class SettingsError(Exception):
    """A setting is invalid; ``str()`` is one line per problem naming the variable."""


_URL_PASSWORD = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^/\s:@\"']*:)([^@\s/\"']+)@")


def mask_url_passwords(text: str) -> str:
    """``postgresql://aisre:s3cret@db/aisre`` -> ``postgresql://aisre:***@db/aisre`` wherever it occurs."""
    return _URL_PASSWORD.sub(r"\1***@", text)


def describe_validation_error(err: ValidationError) -> str:
    lines = []
    for e in err.errors():
        loc = [str(p) for p in e["loc"]]
        var = "AISRE_" + "__".join(p.upper() for p in loc)
        value = e.get("input")
        hidden = any(k in var for k in ("TOKEN", "SECRET", "KEY", "PASSWORD", "DSN"))
        shown = "<hidden>" if hidden else mask_url_passwords(repr(value))
        lines.append(f"{var}={shown}: {e['msg']}")
    return "\n".join(lines)


def load_settings(**overrides: Any) -> Settings:
    """Read the environment and ``.env``; raise :class:`SettingsError` with a clear message."""
    try:
        return Settings(**overrides)
    except ValidationError as e:
        raise SettingsError(describe_validation_error(e)) from None
    except _SourceError as e:  # a list/mapping variable that is not JSON: name it
        raise SettingsError(_describe_source_error(e)) from None


def _describe_source_error(err: Exception) -> str:
    import json
    import os

    for key, value in sorted(os.environ.items()):
        group, _, name = key.removeprefix("AISRE_").lower().partition("__")
        if not key.startswith("AISRE_") or group not in Settings.model_fields:
            continue
        ann = Settings.model_fields[group].annotation
        fields = getattr(ann, "model_fields", None)
        target = fields.get(name) if fields and name else Settings.model_fields[group]
        text = repr(target.annotation) if target is not None else ""
        if not any(t in text for t in ("list", "dict")):
            continue
        try:
            json.loads(value)
        except ValueError:
            example = '["a", "b"]' if "list" in text else '{"key": "value"}'
            shown = "<hidden>" if any(k in key for k in ("TOKEN", "SECRET", "KEY", "PASSWORD", "DSN")) else repr(value)
            return f"{key}={shown}: expected JSON, e.g. {example}"
    return f"AISRE_*: {err}"
