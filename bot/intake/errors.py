"""Intake errors.

    IntakeError
     ├── PayloadError        the body is not a payload we accept (400/413/415/422)
     └── Unauthenticated     the secret or token is missing or wrong (401)
"""

from __future__ import annotations


class IntakeError(Exception):
    status = 400

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status


class PayloadError(IntakeError):
    status = 422


class Unauthenticated(IntakeError):
    status = 401
