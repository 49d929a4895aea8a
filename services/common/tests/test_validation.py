"""The shared input types (values PostgreSQL can store and Python can read back) and the error handlers
that keep every failure in the platform's one JSON error shape."""

import math
from datetime import UTC, datetime, timedelta, timezone

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel, ValidationError

from platform_common.errors import install_error_handlers
from platform_common.validation import JsonObject, NonEmptyText, Text, Timestamp


class Model(BaseModel):
    text: Text = "x"
    name: NonEmptyText = "x"
    at: Timestamp | None = None
    data: JsonObject = {}


@pytest.mark.parametrize(
    ("given", "field"),
    [
        ({"text": "a\x00"}, "text"),
        ({"name": "  "}, "name"),
        ({"at": datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=1)))}, "at"),
        ({"at": "9999-12-31T23:00:00-01:00"}, "at"),
        ({"at": 1700000000}, "at"),
        ({"at": 1700000000.5}, "at"),
        ({"at": True}, "at"),
        ({"at": "1700000000"}, "at"),
        ({"at": " -12.5 "}, "at"),
        ({"data": {"a": [1, {"b": math.nan}]}}, "data"),
        ({"data": {"a": math.inf}}, "data"),
        ({"data": {"a": ["\x00"]}}, "data"),
        ({"data": {"\x00": 1}}, "data"),
    ],
)
def test_values_the_database_cannot_take_are_refused(given, field):
    with pytest.raises(ValidationError) as raised:
        Model(**given)
    assert [error["loc"][0] for error in raised.value.errors()] == [field]


def test_everything_else_passes_unchanged():
    at = datetime(2025, 1, 1, tzinfo=timezone(timedelta(hours=23, minutes=59)))
    model = Model(text="ü🔥", name=" bob ", at=at, data={"n": 10**30, "x": [0.5, None, {"é": "ß"}]})
    assert (model.text, model.name, model.at, model.data["n"]) == ("ü🔥", "bob", at, 10**30)
    assert Model(at=datetime(1, 1, 1, tzinfo=UTC)).at.year == 1
    assert Model(at=datetime(1, 1, 1)).at.tzinfo is None  # naive values are the caller's to interpret
    assert Model.model_validate_json('{"at": "2026-02-09T15:30:00+01:00"}').at == datetime(2026, 2, 9, 14, 30, tzinfo=UTC)


def test_a_number_for_a_timestamp_is_refused_in_json_with_a_clear_message():
    with pytest.raises(ValidationError, match="ISO 8601 date-time string") as raised:
        Model.model_validate_json('{"at": 1700000000}')
    assert raised.value.errors()[0]["loc"] == ("at",)


def test_an_unexpected_error_still_answers_the_platform_error_shape():
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("bug")

    response = TestClient(app, raise_server_exceptions=False).get("/boom")
    assert response.status_code == 500
    assert response.json()["error"] == {"code": "internal_error", "message": "Internal error", "details": []}


def test_an_undecodable_body_is_a_422_with_the_body_as_field():
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/items")
    def items(item: Model) -> Model:
        return item

    response = TestClient(app).post("/items", content=b'{"text": "\xff"}', headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert response.json()["error"]["details"] == [
        {"field": "body", "message": "not a valid JSON document: UnicodeDecodeError", "type": "json_invalid"}
    ]
