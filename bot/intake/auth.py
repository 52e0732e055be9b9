"""Per-source authentication, in constant time."""

from __future__ import annotations

import base64
import hmac
from collections.abc import Mapping

from bot.intake.errors import Unauthenticated

_KNOWN_SCHEMES = frozenset({"basic", "bearer", "digest", "token", "negotiate", "hoba", "mutual", "aws4-hmac-sha256"})


def _eq(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def header(headers: Mapping[str, str], name: str) -> str:
    lname = name.lower()
    return next((v for k, v in headers.items() if k.lower() == lname), "")


def check_shared_secret(headers: Mapping[str, str], name: str, secret: str) -> None:
    got = header(headers, name)
    if not got:
        raise Unauthenticated(f"missing {name} header")
    if not _eq(got, secret):
        raise Unauthenticated(f"wrong {name} header")


def check_bearer_or_basic(
    headers: Mapping[str, str], *, token: str | None, user: str | None, password: str | None
) -> None:
    """Alertmanager's http_config sends ``Authorization: Bearer ...`` or Basic auth."""
    auth = header(headers, "Authorization")
    if not auth:
        raise Unauthenticated("missing Authorization header")
    scheme, _, cred = auth.partition(" ")
    scheme = scheme.lower()
    if scheme == "bearer" and token:
        if _eq(cred.strip(), token):
            return
        raise Unauthenticated("wrong bearer token")
    if scheme == "basic" and user and password:
        try:
            decoded = base64.b64decode(cred.strip(), validate=True).decode()
        except (ValueError, UnicodeDecodeError):
            raise Unauthenticated("malformed basic credentials") from None
        u, _, p = decoded.partition(":")
        if _eq(u, user) & _eq(p, password):
            return
        raise Unauthenticated("wrong basic credentials")
    # never echo an unknown scheme: a token sent without one would land in the answer, logs and store
    shown = repr(scheme) if scheme in _KNOWN_SCHEMES else "(not shown)"
    raise Unauthenticated(f"unsupported Authorization scheme {shown}; expected Bearer or Basic as configured")
