"""The fast intake route (`alert_ingestion/fast_intake.py`) answers every request as the declared
`POST /api/v1/alerts` does: the same requests sent to the app as served and to the same app with the fast
route taken out, over real HTTP, on the real database and a real incident-management, get the same
status and the same body (ids and request ids aside). It takes only JSON without an Idempotency-Key, and
needs the declared route's policy."""

import uuid
from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI
from starlette.routing import Match

from alert_ingestion.fast_intake import FastIntakeRoute, fast_intake_route
from tests.support.apps import ingestion_app
from tests.support.servers import serve_in_thread

JSON = {"Content-Type": "application/json"}


def _declared_only(app: FastAPI) -> FastAPI:
    fast = app.router.routes.pop(0)
    assert isinstance(fast, FastIntakeRoute)
    return app


@pytest.fixture
def both(database_url, incidents_url) -> Iterator[tuple[str, str]]:
    """(the app as served, the same app without its fast route): base URLs."""
    with (
        serve_in_thread(ingestion_app(database_url, incidents_url)) as served,
        serve_in_thread(_declared_only(ingestion_app(database_url, incidents_url))) as declared,
    ):
        yield served, declared


def _normalised(answer: httpx.Response) -> tuple[int, object, str]:
    """Status, body with its ids and request id replaced by their kind, and content type."""
    try:
        body = answer.json()
    except ValueError:
        body = answer.text
    if isinstance(body, dict):
        body = {key: ("<id>" if key in ("alert_id", "incident_id", "request_id") and value else value) for key, value in body.items()}
    return answer.status_code, body, answer.headers.get("content-type", "")


def _post(base: str, content: bytes) -> tuple[int, object, str]:
    return _normalised(httpx.post(f"{base}/api/v1/alerts", content=content, headers=JSON))


def _pair(both: tuple[str, str], content: bytes) -> list[tuple[int, object, str]]:
    return [_post(base, content) for base in both]


def _alert(service: str, **fields: object) -> bytes:
    return httpx.Request("POST", "/", json={"service": service, "severity": "critical", "message": "disk full", **fields}).content


@pytest.mark.parametrize(
    "content",
    [
        b"{}",
        b"{",
        b"",
        b"[]",
        b'{"service": "", "severity": "critical", "message": "m"}',
        b'{"service": "db", "severity": "apocalyptic", "message": "m"}',
        b'{"service": "db", "severity": "critical", "message": "m", "labels": {"a": 1}}',
        b'{"service": "db", "severity": "critical", "message": "m", "timestamp": NaN}',
        b'{"service": "db", "severity": "critical", "message": "nul \\u0000 inside"}',
        b'{"service": "db", "severity": "critical", "message": "m", "status": "resolved"}',
        b'{"service": "db", "severity": "critical", "message": "m", "dedup_key": "never-sent", "status": "resolved"}',
        '{"service": "caf\u00e9", "severity": "critical", "message": "m"}'.encode("latin-1"),
    ],
)
def test_a_request_the_fast_route_cannot_take_gets_the_declared_route_s_answer(both, content):
    served, declared = _pair(both, content)
    assert served == declared
    assert served[0] in (404, 422)


def test_an_accepted_alert_gets_the_same_answer_either_way(both):
    run = uuid.uuid4().hex[:8]
    for kind in ("plain", "labels", "dedup_key"):
        # each app on services (and dedup keys) of its own: it opens an incident, then attaches a second alert to it
        def alert(n: int, kind: str = kind) -> bytes:
            fields = {"plain": {}, "labels": {"labels": {"env": "prod"}}, "dedup_key": {"dedup_key": f"dk-{run}-{n}"}}[kind]
            return _alert(f"fast-{run}-{kind}-{n}", **fields)

        def sent(n: int, base: str) -> tuple[int, object, str]:
            status, body, content_type = _post(base, alert(n))
            if isinstance(body, dict) and body.get("dedup_key") == f"dk-{run}-{n}":
                body["dedup_key"] = "<the key sent>"
            return status, body, content_type

        first = [sent(n, base) for n, base in enumerate(both)]
        again = [sent(n, base) for n, base in enumerate(both)]
        assert first[0] == first[1] and again[0] == again[1]
        assert first[0][0] == 201 and first[0][1]["action"] == "new_incident"
        assert again[0][0] == (200 if kind == "dedup_key" else 201)  # a repeat of a firing dedup_key is counted, not stored


def test_what_the_fast_route_does_not_take_goes_to_the_declared_route(both):
    served, _ = both
    service = f"fast-{uuid.uuid4().hex[:8]}"
    key = str(uuid.uuid4())
    with_key = [httpx.post(f"{served}/api/v1/alerts", content=_alert(service), headers={**JSON, "Idempotency-Key": key}) for _ in range(2)]
    assert [answer.status_code for answer in with_key] == [201, 200]  # the replay: the declared route's idempotency
    assert with_key[0].json()["alert_id"] == with_key[1].json()["alert_id"]
    charset = httpx.post(f"{served}/api/v1/alerts", content=_alert(service), headers={"Content-Type": "application/json; charset=utf-8"})
    assert charset.status_code == 201 and charset.json()["action"] == "attached_to_existing_incident"


def test_the_route_matches_only_json_without_an_idempotency_key():
    route = FastIntakeRoute("/api/v1/alerts", lambda request: None, methods=["POST"])

    def scope(method: str = "POST", path: str = "/api/v1/alerts", **headers: str) -> dict:
        raw = [(name.replace("_", "-").encode(), value.encode()) for name, value in headers.items()]
        return {"type": "http", "method": method, "path": path, "root_path": "", "headers": raw}

    assert route.matches(scope(content_type="application/json"))[0] is Match.FULL
    assert route.matches(scope(content_type="application/json"))[1]["route"] is route
    assert route.matches(scope(content_type="application/json", idempotency_key="k"))[0] is Match.NONE
    assert route.matches(scope(content_type="text/plain"))[0] is Match.NONE
    assert route.matches(scope())[0] is Match.NONE
    assert route.matches(scope(path="/api/v1/alerts/x", content_type="application/json"))[0] is Match.NONE
    assert route.matches(scope(method="GET", content_type="application/json"))[0] is not Match.FULL
    assert route.matches({**scope(content_type="application/json"), "alert_ingestion.handed_to_declared_route": True})[0] is Match.NONE


def test_the_fast_route_needs_the_declared_route_and_its_policy():
    app = FastAPI()

    @app.post("/api/v1/alerts")
    async def undeclared() -> None:
        return None

    with pytest.raises(RuntimeError, match="declared access policy"):
        fast_intake_route(app)
    with pytest.raises(RuntimeError, match="declared access policy"):
        fast_intake_route(FastAPI())
