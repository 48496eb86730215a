"""schemathesis against the service's own OpenAPI document, over real HTTP.

Every operation (but the endless subscription streams) is called with
generated requests, valid and invalid, and with the document's own examples:
no 5xx, and every response conforms to the document (status codes, content
types, headers, bodies).
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import product

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.generation.hypothesis.examples import generate_one
from schemathesis.specs.openapi import checks as openapi_checks

from tests.servers import Process, auth, free_port, running


# No 5xx, and every response as documented. (Not "every schema-valid request is
# accepted": a report's rules span fields, e.g. latest >= earliest, which JSON
# Schema cannot say; those answers are documented 422s.)
@schemathesis.check
def no_server_error(ctx, response, case) -> None:
    """No 5xx, except the documented "not yet, retry after N seconds" 503."""
    if response.status_code < 500:
        return
    retry = {k.lower() for k in response.headers}.intersection({"retry-after"})
    if response.status_code == 503 and retry:
        return
    raise AssertionError(f"server error {response.status_code}: {response.text[:300]}")


# POST /reports takes NDJSON too: one JSON object a line, sent as the text it is.
schemathesis.serializer.alias("application/x-ndjson", "text/plain")
# POST /imports takes a CSV file, sent as the text it is.
schemathesis.serializer.alias("text/csv", "text/plain")

CHECKS = [
    no_server_error,
    openapi_checks.status_code_conformance,
    openapi_checks.content_type_conformance,
    openapi_checks.response_headers_conformance,
    openapi_checks.response_schema_conformance,
    openapi_checks.negative_data_rejection,
]


@pytest.fixture(scope="module")
def service(tmp_path_factory) -> Iterator[Process]:
    folder = tmp_path_factory.mktemp("schemathesis")
    server = Process(
        ["serve", "--demo"], {"TIMELINE_DATABASE_URL": f"sqlite:///{folder}/t.sqlite3"}, free_port()
    )
    with running(server):
        yield server


@pytest.fixture(scope="module")
def api_schema(service: Process):
    loaded = schemathesis.openapi.from_url(f"{service.url}/openapi.json")
    return loaded.exclude(path_regex="^/subscribe")


def test_every_operation_conforms(api_schema, service: Process) -> None:
    # schemathesis's pytest plugin does not run on this pytest, so each operation's
    # strategy drives a plain hypothesis test here.
    headers = auth(service.url)
    tested = []
    for result, mode in product(api_schema.get_all_operations(), GenerationMode):
        operation = result.ok()

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=8,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
            derandomize=True,  # the same cases on every run: CI must not be a lottery
        )
        def check(case) -> None:
            case.call_and_validate(base_url=service.url, headers=headers, timeout=30, checks=CHECKS)

        try:
            check()
        except Unsatisfiable:  # nothing in this operation can be made invalid
            assert mode is GenerationMode.NEGATIVE, operation.label
            continue
        tested.append(f"{operation.label} ({mode.value})")
    assert len(tested) >= 25, tested


def test_every_example_conforms(api_schema, service: Process) -> None:
    """schemathesis's examples phase: each example in the document, sent as it is
    (parameters it leaves out are generated), answers as documented."""
    headers = auth(service.url)
    sent = []
    for result in api_schema.get_all_operations():
        operation = result.ok()
        for strategy in operation.get_strategies_from_examples():
            case = generate_one(strategy)
            case.call_and_validate(base_url=service.url, headers=headers, timeout=30, checks=CHECKS)
            sent.append(operation.label)
    assert "POST /reports" in sent and "PUT /actors/{actor_id}/parent" in sent, sent
