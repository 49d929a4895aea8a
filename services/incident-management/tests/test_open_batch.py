"""POST /api/v1/incidents/batch over real HTTP, on the real database, with a stand-in oncall-service:
each item is decided exactly as `POST /api/v1/incidents` with its Idempotency-Key would be, one after
another (what is stored is compared with single requests on an emptied database), with one on-call
question for the whole batch, and concurrent batches open one incident per group and per key."""

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from incident_management.opening import Opening, OpenRequest, open_incidents
from incident_management.schemas import IncidentCreate
from incident_management.service import SYSTEM_ACTOR as SYSTEM
from platform_common.auth.policy import INTERNAL, route_policies
from platform_common.http import ServiceClient
from tests.support import database
from tests.support.apps import incident_app, incident_management, unreachable_url
from tests.support.peers import HOLD_SECONDS, PeerStandIn
from tests.support.servers import serve_in_thread
from tests.support.statements import statements

BATCH = "/api/v1/incidents/batch"
ALICE = {"primary": {"name": "alice", "email": "alice@example.com"}, "secondary": {"name": "bob", "email": "bob@example.com"}}
CAROL = {"primary": {"name": "carol", "email": None}, "secondary": {"name": "dan", "email": "dan@example.com"}}
WINDOW = 300


@pytest.fixture
def oncall() -> Iterator[tuple[PeerStandIn, str]]:
    stand_in = PeerStandIn(oncall={"payments": ALICE, "checkout": CAROL})
    with serve_in_thread(stand_in.app()) as url:
        yield stand_in, url


@pytest.fixture
def url(database_url, clean_db, oncall) -> Iterator[str]:
    _, oncall_url = oncall
    with incident_management(database_url, oncall_service_url=oncall_url) as base_url:
        yield base_url


def _item(title: str, service: str, severity: str = "critical", **fields: Any) -> dict[str, Any]:
    return {"title": title, "service": service, "severity": severity, **fields}


def _batch(url: str, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    response = httpx.post(f"{url}{BATCH}", json={"incidents": items}, timeout=60)
    assert response.status_code == 200, response.text
    return response.json()


def _as_batch(url: str, items: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """Each item's incident id and correlation action, opened in one batch."""
    return [(answer["incident"]["id"], answer["action"]) for answer in _batch(url, items)]


def _one_by_one(url: str, items: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """Each item's incident id and correlation action, opened by single requests in order."""
    answers = []
    for item in items:
        body = {name: value for name, value in item.items() if name != "idempotency_key"}
        headers = {"Idempotency-Key": item["idempotency_key"]} if "idempotency_key" in item else {}
        response = httpx.post(f"{url}/api/v1/incidents", json=body, headers=headers, timeout=60)
        assert response.status_code in (200, 201), response.text
        answers.append((response.json()["id"], response.headers.get("correlation-action", "new_incident")))
    return answers


def _shape(answers: list[tuple[str, str]]) -> list[tuple[int, str]]:
    """The answers without the ids: which earlier item's incident each item got, and its action."""
    first: dict[str, int] = {}
    return [(first.setdefault(incident_id, index), action) for index, (incident_id, action) in enumerate(answers)]


def _stored(engine: Engine) -> list[tuple[Any, ...]]:
    """Every incident (by title) with its timeline and its pages, without ids and times."""
    with engine.connect() as connection:
        incidents = connection.execute(
            text(
                "SELECT id, title, service, severity, status, assigned_to, group_key, idempotency_key "
                "FROM incident_management.incidents ORDER BY title"
            )
        ).all()
        events = connection.execute(
            text("SELECT incident_id, kind, actor, message, data FROM incident_management.timeline_events ORDER BY seq")
        ).all()
        pages = connection.execute(
            text("SELECT incident_id, recipient, reason, status, attempts FROM incident_management.pages ORDER BY recipient NULLS FIRST")
        ).all()
    return [
        (
            tuple(incident[1:]),
            [tuple(event[1:]) for event in events if event.incident_id == incident.id],
            [tuple(page[1:]) for page in pages if page.incident_id == incident.id],
        )
        for incident in incidents
    ]


def _age(engine: Engine, seconds: int) -> None:
    """Every incident stored so far opened `seconds` earlier."""
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE incident_management.incidents SET created_at = created_at - make_interval(secs => :s)"), {"s": seconds}
        )


def _same_as_one_by_one(
    url: str,
    engine: Engine,
    before: list[dict[str, Any]],
    items: list[dict[str, Any]],
    batched: list[tuple[str, str]],
    age: int = 0,
    prepare: Callable[[], None] = lambda: None,
) -> None:
    """What the batch answered (`batched`) and stored, after `before` one by one aged `age` seconds, is
    what the same requests one by one answer and store on an emptied database (`prepare`d again)."""
    stored = _stored(engine)
    database.reset(engine)
    prepare()
    _one_by_one(url, before)
    _age(engine, age)
    single = _one_by_one(url, items)
    assert _shape(batched) == _shape(single)
    assert stored == _stored(engine)


def _as_single_requests_would(
    url: str,
    engine: Engine,
    before: list[dict[str, Any]],
    items: list[dict[str, Any]],
    age: int = 0,
    prepare: Callable[[], None] = lambda: None,
) -> None:
    """Open `before` one by one, age them, open `items` as a batch: the same as all of them one by one."""
    prepare()
    _one_by_one(url, before)
    _age(engine, age)
    _same_as_one_by_one(url, engine, before, items, _as_batch(url, items), age, prepare)


def _incidents(engine: Engine) -> int:
    with engine.connect() as connection:
        return connection.execute(text("SELECT count(*) FROM incident_management.incidents")).scalar_one()


def _govern(engine: Engine, team: str, policy: str) -> None:
    """An escalation policy for the team, as oncall-service stores it (published in oncall.governed_teams)."""
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO oncall.policies (name, team, steps, repeat, created_at, updated_at) "
                "VALUES (:name, :team, '[]'::jsonb, 0, :now, :now)"
            ),
            {"name": policy, "team": team, "now": datetime.now(UTC)},
        )


def test_a_batch_joins_replays_assigns_and_skips_as_single_requests_would_and_asks_oncall_once(url, oncall, clean_db):
    stand_in, _ = oncall
    earlier = _item("Search index stale", "search", "high", idempotency_key="alert:earlier")
    ((earlier_id, _),) = _one_by_one(url, [earlier])
    stand_in.lookups.clear()
    items = [
        _item("Card payments failing", "payments", correlation_window_seconds=WINDOW, idempotency_key="alert:1"),
        _item("Card payments still failing", "payments", correlation_window_seconds=WINDOW, idempotency_key="alert:2"),
        earlier,
        _item("Checkout database down", "checkout", "high", assigned_to="bob", idempotency_key="alert:3"),
        _item("Batch job late", "no-such-team", "low", idempotency_key="alert:4"),
    ]
    answers = _batch(url, items)

    assert [(a["action"], a["replayed"]) for a in answers] == [
        ("new_incident", False),
        ("attached_to_existing_incident", False),
        ("new_incident", True),
        ("new_incident", False),
        ("new_incident", False),
    ]
    ids = [a["incident"]["id"] for a in answers]
    assert ids[1] == ids[0] and ids[2] == earlier_id and len(set(ids)) == 4
    assert [a["incident"]["assigned_to"] for a in answers] == ["alice", "alice", None, "bob", None]
    # Asked while the batch is read, so for every team without an assignee, the replay's too.
    assert stand_in.lookups == [["no-such-team", "payments", "search"]], "one on-call question for the batch, not one per item"
    assert _incidents(clean_db) == 4
    by_title = {incident[0][0]: (incident[1], incident[2]) for incident in _stored(clean_db)}
    assert by_title["Card payments failing"] == (
        [
            ("created", SYSTEM, "Incident opened: Card payments failing", {"service": "payments", "severity": "critical"}),
            ("assigned", SYSTEM, "Assigned to alice", {"to": "alice"}),
        ],
        [("alice@example.com", "new_incident", "pending", 0)],
    )
    assert [event[0] for event in by_title["Checkout database down"][0]] == ["created", "assigned"]
    assert by_title["Checkout database down"][1] == [("bob", "new_incident", "pending", 0)]
    assert by_title["Batch job late"] == (
        [
            ("created", SYSTEM, "Incident opened: Batch job late", {"service": "no-such-team", "severity": "low"}),
            ("page_skipped", SYSTEM, "Nobody paged: team no-such-team has no on-call schedule", {}),
        ],
        [],
    )
    _same_as_one_by_one(url, clean_db, [earlier], items, [(a["incident"]["id"], a["action"]) for a in answers])


@pytest.mark.parametrize(
    ("before", "items", "age"),
    [
        pytest.param(
            [],
            [
                _item("A", "payments", correlation_window_seconds=WINDOW, idempotency_key="k:a"),
                _item("B", "payments", correlation_window_seconds=WINDOW, idempotency_key="k:a"),
                _item("C", "payments", correlation_window_seconds=WINDOW, group_key="disk", idempotency_key="k:c"),
                _item("D", "payments", "high", correlation_window_seconds=WINDOW),
                _item("E", "payments", correlation_window_seconds=WINDOW, group_key="disk"),
                _item("F", "checkout", correlation_window_seconds=60),
                _item("G", "payments", correlation_window_seconds=WINDOW, idempotency_key="k:g"),
            ],
            0,
            id="keys-groups-and-severities",
        ),
        pytest.param(
            [_item("O", "payments", correlation_window_seconds=WINDOW)],
            [
                _item("A", "payments", correlation_window_seconds=WINDOW, idempotency_key="k:1"),
                _item("B", "payments", idempotency_key="k:1", correlation_window_seconds=WINDOW),
                _item("C", "payments", correlation_window_seconds=60),
            ],
            120,
            id="an-older-incident-in-one-window-not-the-other",
        ),
        pytest.param(
            [],
            [
                _item("A", "payments", idempotency_key="k:1"),
                _item("B", "payments", idempotency_key="k:1", correlation_window_seconds=WINDOW),
                _item("C", "payments", idempotency_key="k:2", correlation_window_seconds=WINDOW),
                _item("D", "payments", idempotency_key="k:2", correlation_window_seconds=WINDOW),
            ],
            0,
            id="a-key-replays-before-a-group-joins",
        ),
        pytest.param(
            [],
            [
                _item("A", "payments", correlation_window_seconds=WINDOW),
                _item("B", "payments"),
                _item("C", "payments", correlation_window_seconds=WINDOW),
            ],
            0,
            id="joins-the-newest-incident-the-batch-opened",
        ),
        pytest.param(
            [_item("O", "payments")],
            [_item("A", "payments"), _item("B", "payments", correlation_window_seconds=WINDOW)],
            0,
            id="joins-the-incident-the-batch-opened-not-an-older-one",
        ),
        pytest.param(
            [_item("O", "payments")],
            [_item("A", "payments", correlation_window_seconds=5), _item("B", "payments", correlation_window_seconds=WINDOW)],
            60,
            id="a-shorter-window-opens-a-longer-one-joins-it",
        ),
    ],
)
def test_a_batch_is_decided_as_its_items_one_after_another(url, clean_db, before, items, age):
    _as_single_requests_would(url, clean_db, before, items, age)


def test_with_oncall_service_down_every_new_incident_is_opened_unassigned_with_its_page_queued(url, oncall, clean_db):
    stand_in, _ = oncall
    stand_in.fail_with = 503
    items = [_item("Card payments failing", "payments"), _item("Checkout slow", "checkout", "high"), _item("Batch late", "no-such-team")]
    answers = _batch(url, items)
    assert [(a["action"], a["incident"]["status"], a["incident"]["assigned_to"]) for a in answers] == [("new_incident", "open", None)] * 3
    stored = _stored(clean_db)
    assert [(events, pages) for _, events, pages in stored] == [
        ([("created", SYSTEM, f"Incident opened: {item['title']}", {"service": item["service"], "severity": item["severity"]})],
         [(None, "new_incident", "pending", 0)])
        for item in sorted(items, key=lambda item: item["title"])
    ]  # fmt: skip
    assert stand_in.lookups == [["checkout", "no-such-team", "payments"]] * 2, "asked once (and retried once), then left to the pager"
    _same_as_one_by_one(url, clean_db, [], items, [(a["incident"]["id"], a["action"]) for a in answers])


def test_a_team_governed_by_an_escalation_policy_is_left_to_it_and_not_paged(url, oncall, clean_db):
    stand_in, _ = oncall
    _govern(clean_db, "payments", "payments-critical")
    items = [_item("Card payments failing", "payments"), _item("Checkout slow", "checkout", "high")]
    answers = _batch(url, items)
    assert [a["incident"]["assigned_to"] for a in answers] == [None, "carol"]
    # Its on-call was asked with the batch (before the policies were read), and is not assigned.
    assert stand_in.lookups == [["checkout", "payments"]]
    by_title = {incident[0][0]: (incident[1], incident[2]) for incident in _stored(clean_db)}
    message = "Escalation policy 'payments-critical' pages this incident (its step 1 instead of the on-call primary)"
    assert by_title["Card payments failing"][0][-1] == ("paging_by_policy", SYSTEM, message, {"policy": "payments-critical"})
    assert by_title["Card payments failing"][1] == [], "the policy's step 1 pages it, not incident-management"
    assert by_title["Checkout slow"][1] == [("carol", "new_incident", "pending", 0)]
    batched = [(a["incident"]["id"], a["action"]) for a in answers]
    _same_as_one_by_one(url, clean_db, [], items, batched, prepare=lambda: _govern(clean_db, "payments", "payments-critical"))


def test_a_governed_team_is_left_to_its_policy_even_while_oncall_service_is_down(url, oncall, clean_db):
    stand_in, _ = oncall
    stand_in.fail_with = 503
    _govern(clean_db, "payments", "payments-critical")
    _batch(url, [_item("Card payments failing", "payments"), _item("Checkout slow", "checkout", "high")])
    by_title = {incident[0][0]: (incident[1], incident[2]) for incident in _stored(clean_db)}
    assert [event[0] for event in by_title["Card payments failing"][0]] == ["created", "paging_by_policy"]
    assert by_title["Card payments failing"][1] == []
    assert by_title["Checkout slow"][1] == [(None, "new_incident", "pending", 0)]


def test_before_oncall_service_ever_ran_opening_assigns_and_pages_the_on_call(url, oncall, clean_db):
    """oncall-service publishes the governed teams as a view when it first migrates; until then opening reads
    no policy (that read fails alone: opening reads in autocommit) and assigns and pages as always."""
    with clean_db.begin() as connection:
        connection.execute(text("ALTER VIEW oncall.governed_teams RENAME TO governed_teams_not_yet"))
    try:
        _batch(url, [_item("Card payments failing", "payments"), _item("Checkout slow", "checkout", "high")])
    finally:
        with clean_db.begin() as connection:
            connection.execute(text("ALTER VIEW oncall.governed_teams_not_yet RENAME TO governed_teams"))
    by_title = {incident[0][0]: (incident[1], incident[2]) for incident in _stored(clean_db)}
    assert [event[0] for event in by_title["Card payments failing"][0]] == ["created", "assigned"]
    assert by_title["Card payments failing"][1] == [("alice@example.com", "new_incident", "pending", 0)]
    assert by_title["Checkout slow"][1] == [("carol", "new_incident", "pending", 0)]


def test_a_batch_of_only_replays_and_joins_opens_nothing_and_does_not_wait_for_oncall_service(database_url, oncall, clean_db):
    stand_in, oncall_url = oncall
    with incident_management(database_url, oncall_service_url=oncall_url, http_timeout_seconds=HOLD_SECONDS) as url:
        item = _item("Card payments failing", "payments", correlation_window_seconds=WINDOW, idempotency_key="k:1")
        first = _as_batch(url, [item])
        stand_in.answering.clear()  # oncall-service now answers only when the test is done
        try:
            items = [item, _item("Still failing", "payments", correlation_window_seconds=WINDOW, idempotency_key="k:2")]
            again = httpx.post(f"{url}{BATCH}", json={"incidents": items}, timeout=HOLD_SECONDS / 4)
        finally:
            stand_in.answering.set()
    assert again.status_code == 200, again.text
    assert [(a["incident"]["id"], a["action"]) for a in again.json()] == [
        (first[0][0], "new_incident"),
        (first[0][0], "attached_to_existing_incident"),
    ]
    assert _incidents(clean_db) == 1


def test_a_lookup_a_batch_of_only_replays_no_longer_needs_is_never_sent_while_still_queued(url, oncall, clean_db):
    """Behind a slow oncall-service the lookups queue up; one its batch does not need is dropped."""
    stand_in, oncall_url = oncall
    item = _item("Card payments failing", "payments", correlation_window_seconds=WINDOW)
    first = _as_batch(url, [{**item, "idempotency_key": "k:1"}])
    stand_in.lookups.clear()
    busy = threading.Event()
    client = ServiceClient("oncall-service", oncall_url, retries=0)
    try:
        with ThreadPoolExecutor(1) as lookups, Session(clean_db) as session:
            lookups.submit(busy.wait, HOLD_SECONDS)  # the pool's one thread is taken: the batch's lookup queues
            try:
                opened = open_incidents(session, [OpenRequest(IncidentCreate(**item), "k:1")], oncall=client, lookups=lookups)
            finally:
                busy.set()
    finally:
        client.close()
    assert [(str(incident["id"]), how) for incident, how in opened] == [(first[0][0], Opening.REPLAYED)]
    assert stand_in.lookups == [], "the replay's lookup was dropped, not sent once the pool was free"


def test_the_on_call_question_carries_the_batch_requests_id(url, oncall, clean_db):
    stand_in, _ = oncall
    response = httpx.post(
        f"{url}{BATCH}", json={"incidents": [_item("Card payments failing", "payments")]}, headers={"X-Request-ID": "batch-42"}
    )
    assert response.status_code == 200, response.text
    assert stand_in.lookup_request_ids == ["batch-42"]


@pytest.mark.parametrize(
    "body",
    [
        {"incidents": []},
        {"incidents": [_item(f"t{n}", f"s{n}") for n in range(101)]},
        {"incidents": [_item("fine", "payments"), _item("bad window", "payments", correlation_window_seconds=0)]},
        {"incidents": [_item("fine", "payments"), _item("", "payments")]},
        {"incidents": [_item("long key", "payments", idempotency_key="k" * 201)]},
        {},
    ],
    ids=["empty", "101-items", "a-bad-window", "an-empty-title", "a-key-too-long", "no-items"],
)
def test_a_bad_batch_is_422_and_stores_nothing(url, oncall, clean_db, body):
    stand_in, _ = oncall
    response = httpx.post(f"{url}{BATCH}", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "validation_error"
    assert _incidents(clean_db) == 0 and stand_in.lookups == []


def test_a_batch_of_100_items_is_accepted(url, clean_db):
    answers = _batch(url, [_item(f"t{n}", f"s{n}") for n in range(100)])
    assert len({a["incident"]["id"] for a in answers}) == 100 == _incidents(clean_db)


def test_a_batch_takes_as_many_statements_whatever_its_size(database_url, clean_db, oncall):
    _, oncall_url = oncall
    app = incident_app(database_url, oncall_service_url=oncall_url)

    def sent_for(url: str, size: int, name: str) -> list[str]:
        items = [
            _item(
                f"{name} {n}",
                "payments" if n % 2 else f"{name}-{n}",
                group_key=f"{name}-{n}",
                correlation_window_seconds=WINDOW,
                idempotency_key=f"{name}:{n}",
            )
            for n in range(size)
        ]
        with statements(app.state.engine) as seen:
            _batch(url, items)
        return seen

    with serve_in_thread(app) as url:
        small, large = sent_for(url, 2, "small"), sent_for(url, 100, "large")
    assert _incidents(clean_db) == 102
    assert len(small) == len(large), "\n".join(large)


ADMIN_TOKEN = "open-batch-admin-token-0123456789"
SERVICE_TOKEN = "open-batch-service-token-0123456789"


def test_the_batch_route_is_for_services_only(database_url, clean_db):
    from incident_management.config import Settings as IncidentSettings
    from incident_management.main import create_app as incidents
    from oncall.config import Settings as OnCallSettings
    from oncall.main import create_app as oncall

    values = {
        "database_url": database_url,
        "environment": "test",
        "background_workers": False,
        "anonymous_role": "none",
        "service_token": SERVICE_TOKEN,
        "auth_cache_seconds": 0,
        "http_retries": 0,
    }
    peers = {name: unreachable_url() for name in ("incident_management_url", "oncall_service_url", "notification_service_url")}
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    with (
        TestClient(oncall(OnCallSettings(**values, **peers, bootstrap_admin_token=ADMIN_TOKEN))) as identity,
        TestClient(incidents(IncidentSettings(**values, **peers))) as client,
    ):
        assert route_policies(client.app)[("POST", BATCH)] is INTERNAL
        user = identity.post("/api/v1/users", json={"name": "Rita", "email": "rita@example.org", "role": "responder"}, headers=admin)
        token = identity.post(f"/api/v1/users/{user.json()['id']}/tokens", json={"name": "t"}, headers=admin).json()["token"]
        body = {"incidents": [_item("Card payments failing", "payments", assigned_to="bob")]}
        anonymous = client.post(BATCH, json=body)
        responder = client.post(BATCH, json=body, headers={"Authorization": f"Bearer {token}"})
        assert (anonymous.status_code, anonymous.json()["error"]["code"]) == (401, "unauthenticated")
        assert (responder.status_code, responder.json()["error"]["code"]) == (403, "forbidden")
        assert _incidents(clean_db) == 0, "a refused batch opens nothing"
        allowed = client.post(BATCH, json=body, headers={"Authorization": f"Bearer {SERVICE_TOKEN}"})
        assert allowed.status_code == 200, allowed.text
        assert [a["incident"]["assigned_to"] for a in allowed.json()] == ["bob"]
        assert client.post(BATCH, json=body, headers=admin).status_code == 200, "an admin may too"
    assert _incidents(clean_db) == 2


def _at_once(url: str, bodies: list[list[dict[str, Any]]]) -> list[list[dict[str, Any]]]:
    """Each body sent as a batch from its own thread, all released together."""
    barrier = threading.Barrier(len(bodies))
    answers: list[list[dict[str, Any]] | None] = [None] * len(bodies)

    def send(index: int) -> None:
        barrier.wait()
        answers[index] = _batch(url, bodies[index])

    threads = [threading.Thread(target=send, args=(index,)) for index in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert all(answer is not None for answer in answers), "a batch failed"
    return answers  # type: ignore[return-value]


def test_concurrent_batches_for_the_same_groups_open_one_incident_per_group(url, clean_db):
    def batch(name: str, order: list[int]) -> list[dict[str, Any]]:
        return [
            _item(f"group {n} ({name})", f"service-{n}", correlation_window_seconds=WINDOW, idempotency_key=f"{name}:{n}") for n in order
        ]

    groups = list(range(20))
    first, second = _at_once(url, [batch("a", groups), batch("b", groups[::-1])])
    by_group = {n: {first[n]["incident"]["id"], second[19 - n]["incident"]["id"]} for n in groups}
    assert all(len(ids) == 1 for ids in by_group.values()), by_group
    assert _incidents(clean_db) == 20
    actions = [a["action"] for a in first + second]
    assert (actions.count("new_incident"), actions.count("attached_to_existing_incident")) == (20, 20)


def test_concurrent_batches_with_the_same_keys_open_one_incident_per_key(url, clean_db):
    items = [_item(f"incident {n}", f"service-{n}", idempotency_key=f"key:{n}") for n in range(20)]
    answers = _at_once(url, [items, items[::-1], items[5:] + items[:5]])
    by_title: dict[str, set[str]] = {}
    for answer in answers:
        for opened in answer:
            by_title.setdefault(opened["incident"]["title"], set()).add(opened["incident"]["id"])
    assert {title: len(ids) for title, ids in by_title.items()} == {item["title"]: 1 for item in items}
    assert sum(not opened["replayed"] for answer in answers for opened in answer) == 20
    assert _incidents(clean_db) == 20
