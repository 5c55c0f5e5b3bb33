"""schemathesis against /api/schema/: every operation of the public API, called with data
generated from its OpenAPI description (a fixed number of examples each, so the run is
bounded), answers without a server error and, where the schema documents the answer, with
a body and content type that match it. Runs in-process through the WSGI application, on the
small public record of the API tests (a called tender with a sealed bid, drafts)."""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from tests.procurement.api_world import build_api_world

pytestmark = pytest.mark.django_db

EXAMPLES = 12
CHECKS = [not_a_server_error, content_type_conformance, response_schema_conformance]


@pytest.fixture
def api_schema(settings):
    settings.API_ANON_THROTTLE_RATE = "100000/minute"  # generated calls are not abuse
    build_api_world()
    # As Django's test client does: the end of a request must not close the connection that
    # holds the test's transaction.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def test_the_api_answers_generated_requests_as_its_schema_says(api_schema):
    """Each operation in turn (schemathesis's pytest plugin does not run under pytest 9, so
    the operations are walked here), EXAMPLES generated requests each, derandomized."""
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 10  # the whole public API, not an empty schema
    calls = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @hypothesis_settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case):
            calls.append(case.call_and_validate(checks=CHECKS).status_code)

        check()
    assert len(calls) >= len(operations) * 2
    assert calls.count(200) >= len(operations)  # most operations answered real data
