"""The one module that imports the anthropic SDK: a Messages API call as plain dicts in and out.

    client = AnthropicMessages(settings.llm)            # base_url points at the fake in tests
    message = client.create(model=..., messages=[...])  # the response as a dict
    # raises LlmUnavailable("timeout" | "rate limited (429)" | "overloaded (529)" | ...)

Everything else in ``bot/llm`` depends on the :class:`MessagesClient` protocol, so
tests can also inject an in-memory client.
"""

from __future__ import annotations

from typing import Any, Protocol

from bot.settings import LlmSettings


class LlmUnavailable(Exception):
    """The model could not answer; ``reason`` is short and goes into ``llm_note``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class MessagesClient(Protocol):
    def create(self, **request: Any) -> dict[str, Any]:
        """POST /v1/messages; the Message as a dict. Raises :class:`LlmUnavailable`."""
        ...


class AnthropicMessages:
    def __init__(self, settings: LlmSettings, *, max_retries: int = 2) -> None:
        import anthropic

        if settings.api_key is None:
            raise ValueError("AISRE_LLM__API_KEY: expected an Anthropic API key to use the LLM reasoner")
        self._anthropic = anthropic
        self._client = anthropic.Anthropic(
            api_key=settings.api_key.get_secret_value(),
            base_url=settings.base_url or None,
            timeout=settings.timeout_s,
            max_retries=max_retries,
        )

    def create(self, **request: Any) -> dict[str, Any]:
        a = self._anthropic
        try:
            message = self._client.messages.create(**request)
        except a.APITimeoutError:
            raise LlmUnavailable("timeout") from None
        except a.RateLimitError:
            raise LlmUnavailable("rate limited (429)") from None
        except a.APIStatusError as e:
            kind = _error_type(e.body)
            if e.status_code == 529:
                raise LlmUnavailable("overloaded (529)") from None
            if e.status_code >= 500:
                raise LlmUnavailable(f"server error ({e.status_code})") from None
            raise LlmUnavailable(f"request rejected ({e.status_code} {kind})") from None
        except a.APIConnectionError:
            raise LlmUnavailable("connection error") from None
        except a.APIResponseValidationError:
            raise LlmUnavailable("malformed response") from None
        return message.model_dump(mode="json", exclude_none=True)


def _error_type(body: object) -> str:
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict):
            return str(err.get("type", "error"))
    return "error"
