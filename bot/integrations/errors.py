"""Errors every adapter raises instead of vendor exceptions.

    IntegrationError
     ├── IntegrationUnavailable   the system did not answer (timeout, connection refused, 5xx)
     ├── IntegrationAuthError     credentials refused (401/403)
     ├── IntegrationNotFound      the thing asked for does not exist (404)
     └── IntegrationRejected      the request was refused as invalid (400/409/422)
"""

from __future__ import annotations


class IntegrationError(Exception):
    def __init__(self, integration: str, message: str) -> None:
        super().__init__(f"{integration}: {message}")
        self.integration = integration
        self.message = message


class IntegrationUnavailable(IntegrationError):
    pass


class IntegrationAuthError(IntegrationError):
    pass


class IntegrationNotFound(IntegrationError):
    pass


class IntegrationRejected(IntegrationError):
    pass
