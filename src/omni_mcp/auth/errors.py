"""Why a request's credential was refused. `actor_from_request` implementations raise these.

The message of each is a short, fixed description safe to show to the caller: it never contains the
credential, a claim value or anything from the server's configuration.
"""

from __future__ import annotations


class AuthenticationError(Exception):
    """A credential could not be accepted; `status` is the HTTP status the caller gets."""

    status = 401

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class InvalidCredential(AuthenticationError):
    """The credential is malformed, forged, expired, revoked or not meant for us (401 invalid_token)."""


class OrganizationRefused(AuthenticationError):
    """The credential is valid but names an organization this gateway does not serve (403)."""

    status = 403


class VerifierUnavailable(AuthenticationError):
    """The credential cannot be checked right now, e.g. the issuer's keys are unreachable (503)."""

    status = 503
