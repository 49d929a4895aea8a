"""Property-based fuzzing of every service's OpenAPI with schemathesis, on the real test database.

Each service is served over real HTTP from a thread of the test process (lifespan, migrations and
clients started); its peers are unreachable, except that alert-ingestion talks to a real
incident-management. Generated requests, valid and invalid, must never get a 5xx (other than the
documented 503 `dependency_unavailable` for a peer that is down), and every answer must be documented:
status code, content type, headers and body schema. schemathesis' coverage phase runs first (boundary,
missing and wrongly typed values, and every method a path does not declare, which must be a 405 whose
`Allow` header lists the path's methods: RFC 9110); then bounded, derandomized property-based cases.
FUZZ_EXAMPLES raises the property-based budget for a deeper local run.
"""

import os
import re
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from urllib.parse import urlsplit

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import checks
from schemathesis.generation import GenerationMode

from tests.support.apps import incident_app, incident_management, ingestion_app
from tests.support.servers import serve_in_thread

pytestmark = pytest.mark.fuzz

MAX_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))


def not_a_server_error(ctx, response, case) -> bool | None:
    """schemathesis' check, except for the 503 the contract promises when a peer service is down."""
    if response.status_code == 503 and _error_code(response) == "dependency_unavailable":
        return None
    return checks.not_a_server_error(ctx, response, case)


def _error_code(response) -> str | None:
    try:
        return response.json()["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return None


def _sibling_methods(case, response) -> set[str]:
    """Methods of the other paths whose template also matches the URL sent: `/api/v1/alerts/grafana` is
    `/api/v1/alerts/{alert_id}` too, so the router sends its GET there, where the malformed id is a 422
    (the house rule, README) rather than a 404 or a 405."""
    sent = urlsplit(response.request.url).path
    methods = set()
    for path, item in case.operation.schema.raw_schema["paths"].items():
        pattern = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(path))
        if path != case.operation.path and re.fullmatch(pattern, sent):
            methods |= {method.upper() for method in item if method in HTTP_METHODS}
    return methods


def unsupported_method(ctx, response, case) -> bool | None:
    """schemathesis' check (405 for an undeclared method), except for a sibling path's method (see above)."""
    if response.status_code == 422 and response.request.method in _sibling_methods(case, response):
        return None
    return checks.unsupported_method(ctx, response, case)


def allow_header_conformance(ctx, response, case) -> bool | None:
    """schemathesis' check (`Allow` lists exactly the declared methods), counting sibling paths' methods."""
    declared = {method.upper() for method in case.operation.schema.raw_schema["paths"][case.operation.path] if method in HTTP_METHODS}
    advertised = {method.strip() for value in response.headers.get("allow", []) for method in value.split(",")}
    if response.request.method == "OPTIONS" and advertised == declared | _sibling_methods(case, response):
        return None
    return checks.allow_header_conformance(ctx, response, case)


CHECKS = [
    not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
    checks.missing_required_header,
    unsupported_method,
    allow_header_conformance,
]
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
MAX_REPORT_CHARS = 3000
SERVICES = ["alert-ingestion", "incident-management", "oncall-service", "notification-service"]


def _oncall_app(database_url: str):
    from oncall.config import Settings
    from oncall.main import create_app
    from tests.support.apps import unreachable_url

    return create_app(
        Settings(
            database_url=database_url,
            environment="test",
            background_workers=False,
            http_retries=0,
            incident_management_url=unreachable_url(),
            notification_service_url=unreachable_url(),
        )
    )


def _notification_app(database_url: str):
    from notification.config import Settings
    from notification.main import create_app

    return create_app(Settings(database_url=database_url, environment="test", background_workers=False))


@contextmanager
def _service(name: str, database_url: str) -> Iterator[str]:
    """The named service served over HTTP on the test database; yields its base URL."""
    with ExitStack() as stack:
        if name == "alert-ingestion":
            app = ingestion_app(database_url, stack.enter_context(incident_management(database_url)))
        else:
            app = {"incident-management": incident_app, "oncall-service": _oncall_app, "notification-service": _notification_app}[name](
                database_url
            )
        yield stack.enter_context(serve_in_thread(app))


@pytest.fixture(params=SERVICES)
def api_schema(request, database_url: str, clean_db) -> Iterator[schemathesis.BaseSchema]:
    with _service(request.param, database_url) as url:
        yield schemathesis.openapi.from_url(f"{url}/openapi.json")


def _fuzz(operation, mode: GenerationMode) -> str | None:
    """Run one operation's strategy; the (shrunk) failure as text, or None."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
    )
    def run(case) -> None:
        case.call_and_validate(checks=CHECKS)

    try:
        run()
    except Unsatisfiable:  # e.g. no invalid request exists for an operation without parameters
        return None
    except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - every failure is collected, reported together
        return f"[{mode}] {operation.label}: {str(exc)[:MAX_REPORT_CHARS]}"
    return None


def _coverage(operation) -> list[str]:
    """schemathesis' coverage phase for one operation: boundary, missing and wrongly typed values, and
    every HTTP method the path does not declare (which must be 405 with an `Allow` header)."""
    generation = operation.schema.config.generation_for(operation=operation, phase="coverage")
    failures = []
    for case in operation.schema.iter_coverage_cases(operation, generation_modes=list(GenerationMode), generation_config=generation):
        try:
            case.call_and_validate(checks=CHECKS)
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - every failure is collected, reported together
            failures.append(f"[coverage] {operation.label} {case.method} {case.formatted_path}: {str(exc)[:MAX_REPORT_CHARS]}")
    return failures


def test_no_server_errors_and_documented_answers(api_schema) -> None:
    failures = []
    for result in api_schema.get_all_operations():
        operation = result.ok()
        failures.extend(_coverage(operation))
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            if (failure := _fuzz(operation, mode)) is not None:
                failures.append(failure)
    assert not failures, "\n\n".join(failures)
