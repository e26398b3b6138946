"""omni_mcp.redact_secrets: the one helper that takes credentials out of text shown to callers or logged."""

from __future__ import annotations

import pytest

from omni_mcp import redact_secrets

KEY = "omk_k3x9a2bq_" + "A1b2C3d4" * 5 + "xyz"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "could not connect to postgresql://svc:hunter2@db.internal:5432/app",
            "could not connect to postgresql://svc:[redacted]@db.internal:5432/app",
        ),
        ("login failed: password=hunter2 user=ada", "login failed: password=[redacted] user=ada"),
        ('{"api_key": "abc123def", "model": "sonar"}', '{"api_key": "[redacted]", "model": "sonar"}'),
        ("connect(client_secret=s3cr3t-value; retry)", "connect(client_secret=[redacted]; retry)"),
        ("header was Authorization: Bearer abcdef123456", "header was Authorization: Bearer [redacted]"),
        (f"bad key {KEY} given", "bad key omk_k3x9a2bq_[redacted] given"),
        ("upstream said lin_api_" + "Z" * 40 + " is invalid", "upstream said [redacted] is invalid"),
        ("pplx-" + "q" * 30, "[redacted]"),
        ("token eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnbmF0dXJl", "token [redacted]"),
        # Ordinary text stays as it was.
        ("token expired", "token expired"),
        ('{"total_tokens": 42, "author": "Ada"}', '{"total_tokens": 42, "author": "Ada"}'),
        ("see https://example.com/path?q=1", "see https://example.com/path?q=1"),
        # Messages about credentials, and placeholders in help texts, are not credentials.
        ("'api_key': Field required", "'api_key': Field required"),
        (
            "Linear rejected the credential: You need to authenticate",
            "Linear rejected the credential: You need to authenticate",
        ),
        (
            "set it with: api_key=<Linear personal API key> or api_key=...",
            "set it with: api_key=<Linear personal API key> or api_key=...",
        ),
        (
            "omni-mcp service set default perplexity api_key=pplx-...",
            "omni-mcp service set default perplexity api_key=pplx-...",
        ),
        (
            "Basic settings are missing; Bearer authentication failed",
            "Basic settings are missing; Bearer authentication failed",
        ),
    ],
)
def test_credentials_in_text_are_redacted(text: str, expected: str) -> None:
    assert redact_secrets(text) == expected


def test_known_secrets_are_redacted_whatever_their_shape() -> None:
    text = "echo: my-custom-secret-value and again my-custom-secret-value; short ab stays"
    cleaned = redact_secrets(text, ["my-custom-secret-value", "ab", None, ""])
    assert cleaned == "echo: [redacted] and again [redacted]; short ab stays"
