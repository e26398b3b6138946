"""Every GraphQL document the plugin can send is valid against Linear's real public schema, uses no
deprecated field, and is named for what it does; and the fake API really enforces that schema."""

from __future__ import annotations

import httpx
import pytest
from fake_linear import ALICE_KEY, SCHEMA_MISSING_REASON, SCHEMA_PATH, FakeLinear, load_schema
from graphql import OperationDefinitionNode, OperationType, parse, specified_rules, validate
from graphql.validation import NoDeprecatedCustomRule
from omni_mcp_linear import queries

needs_schema = pytest.mark.skipif(not SCHEMA_PATH.is_file(), reason=SCHEMA_MISSING_REASON)


def test_every_document_is_listed_once_with_a_unique_operation_name() -> None:
    documents = [value for value in vars(queries).values() if isinstance(value, queries.Document)]
    assert sorted(d.name for d in documents) == sorted(d.name for d in queries.ALL)
    assert len({d.name for d in queries.ALL}) == len(queries.ALL)


@pytest.mark.parametrize("document", queries.ALL, ids=lambda d: d.name)
def test_document_names_its_single_operation_and_flags_mutations(document: queries.Document) -> None:
    operations = [d for d in parse(document.text).definitions if isinstance(d, OperationDefinitionNode)]
    assert len(operations) == 1
    assert operations[0].name is not None and operations[0].name.value == document.name
    assert (operations[0].operation == OperationType.MUTATION) == document.mutation


@needs_schema
@pytest.mark.parametrize("document", queries.ALL, ids=lambda d: d.name)
def test_document_validates_against_linears_schema(document: queries.Document) -> None:
    errors = validate(load_schema(), parse(document.text), [*specified_rules, NoDeprecatedCustomRule])
    assert [error.message for error in errors] == []


@pytest.mark.parametrize(
    ("query", "variables", "complaint"),
    [
        ("query Bad { viewer { id favouriteColour } }", {}, "Cannot query field 'favouriteColour'"),
        ("query Bad($n: String) { issues(first: $n) { nodes { id } } }", {"n": "3"}, "Variable '$n'"),
        (
            "query Bad($o: PaginationOrderBy) { issues(orderBy: $o) { nodes { id } } }",
            {"o": "priority"},
            "Value 'priority' does not exist in 'PaginationOrderBy' enum",
        ),
        ('query Bad { issues(filter: {team: {key: {like: "E"}}}) { nodes { id } } }', {}, "'like'"),
    ],
)
def test_the_fake_rejects_what_the_real_api_would(
    fake_linear: FakeLinear, query: str, variables: dict[str, object], complaint: str
) -> None:
    response = httpx.post(
        fake_linear.url, json={"query": query, "variables": variables}, headers={"authorization": ALICE_KEY}
    )
    assert response.status_code == 400
    body = response.json()
    assert body["data"] is None
    assert complaint in body["errors"][0]["message"]
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert len(fake_linear.rejected) == 1
    fake_linear.reset()  # sent and rejected on purpose: do not fail the test at teardown
