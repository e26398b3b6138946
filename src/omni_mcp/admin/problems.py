"""RFC 9457 problem details: every admin API error, with the input field it is about when there is one."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse

from omni_mcp.tenancy.service import AlreadyExists, ConfigError, NotFound, StaleVersion

PROBLEM_TYPE = "application/problem+json"
TITLES = {
    400: "Bad request",
    401: "Authentication required",
    403: "Forbidden",
    404: "Not found",
    409: "Conflict",
    412: "Precondition failed",
    415: "Unsupported media type",
    422: "Invalid input",
    428: "Precondition required",
}


class ApiProblem(Exception):
    """Raised anywhere below an admin handler; becomes a problem+json answer."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        field: str | None = None,
        errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.field = field
        self.errors = errors or ([{"field": field, "detail": detail}] if field else [])
        self.headers = headers or {}

    @classmethod
    def from_config_error(cls, error: ConfigError) -> ApiProblem:
        status = 422
        if isinstance(error, NotFound):
            status = 404
        elif isinstance(error, AlreadyExists):
            status = 409
        elif isinstance(error, StaleVersion):
            status = 412
        return cls(status, str(error), field=error.field)

    def body(self, instance: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": "about:blank",
            "title": TITLES.get(self.status, "Error"),
            "status": self.status,
            "detail": self.detail,
            "instance": instance,
        }
        if self.field:
            body["field"] = self.field
        if self.errors:
            body["errors"] = self.errors
        return body

    def response(self, instance: str) -> JSONResponse:
        return JSONResponse(
            self.body(instance), status_code=self.status, headers=self.headers, media_type=PROBLEM_TYPE
        )


def from_validation_errors(items: list[Any], prefix: str = "") -> ApiProblem:
    """A pydantic ValidationError's items, each naming its field as a dotted path."""
    errors = []
    for item in items:
        location = ".".join(str(part) for part in item["loc"] if part != "__root__")
        errors.append(
            {
                "field": prefix + location if location else prefix.rstrip(".") or "body",
                "detail": str(item["msg"]),
            }
        )
    first = errors[0] if errors else {"field": "body", "detail": "invalid"}
    return ApiProblem(422, f"{first['field']}: {first['detail']}", field=first["field"], errors=errors)
