"""The resources and the resource template the conformance scenarios read."""

from __future__ import annotations

import json

from omni_mcp import Resource, ResourceTemplate
from omni_mcp_conformance_fixture.content import IMAGE_PNG


def template_data(id: str) -> str:
    """test://template/{id}/data"""
    return json.dumps({"id": id, "templateTest": True, "data": f"Data for ID: {id}"})


def complete_id(argument: str, value: str, context_arguments: dict[str, str]) -> list[str]:
    return [candidate for candidate in ("123", "456", "789") if candidate.startswith(value)]


RESOURCES: list[Resource | ResourceTemplate] = [
    Resource(
        "test://static-text",
        "static-text",
        "A static text resource for testing",
        title="Static Text Resource",
        text="This is the content of the static text resource.",
    ),
    Resource(
        "test://static-binary",
        "static-binary",
        "A static binary resource (image) for testing",
        title="Static Binary Resource",
        mime_type="image/png",
        blob=IMAGE_PNG,
    ),
    Resource(
        "test://watched-resource",
        "watched-resource",
        "A resource clients may subscribe to",
        title="Watched Resource",
        text="Watched resource content",
    ),
    ResourceTemplate(
        "test://template/{id}/data",
        "template",
        read=template_data,
        description="A resource template with parameter substitution",
        title="Resource Template",
        mime_type="application/json",
        complete=complete_id,
    ),
]
