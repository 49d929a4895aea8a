"""Stand-in peers served over real HTTP: an on-call directory and a notification sink that record
what they are asked, and can be told to fail or to hold their on-call answers."""

import threading
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import FastAPI, Query, Request
from fastapi.responses import JSONResponse

HOLD_SECONDS = 60


def _answering() -> threading.Event:
    event = threading.Event()
    event.set()
    return event


@dataclass
class PeerStandIn:
    oncall: dict[str, dict] = field(default_factory=dict)
    notifications: list[dict] = field(default_factory=list)
    # Each on-call question, in order: the teams it named.
    lookups: list[list[str]] = field(default_factory=list)
    lookup_request_ids: list[str | None] = field(default_factory=list)  # each on-call question's X-Request-ID
    fail_with: int | None = None
    # Cleared: on-call questions are held (at most HOLD_SECONDS) until it is set again, a slow oncall-service.
    answering: threading.Event = field(default_factory=_answering)

    def _asked(self, teams: list[str], request: Request) -> None:
        self.lookups.append(teams)
        self.lookup_request_ids.append(request.headers.get("x-request-id"))
        self.answering.wait(HOLD_SECONDS)

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/api/v1/oncall/current")
        def current(team: str, request: Request):
            self._asked([team], request)
            if self.fail_with:
                return JSONResponse({"error": "down"}, status_code=self.fail_with)
            if team not in self.oncall:
                return JSONResponse({"error": {"code": "not_found"}}, status_code=404)
            return {"team": team, **self.oncall[team]}

        @app.get("/api/v1/oncall")
        def every(team: Annotated[list[str], Query()], request: Request):
            """As oncall-service answers it: the teams asked that have a schedule."""
            self._asked(team, request)
            if self.fail_with:
                return JSONResponse({"error": "down"}, status_code=self.fail_with)
            return [{"team": name, **self.oncall[name]} for name in team if name in self.oncall]

        @app.post("/api/v1/notify")
        async def notify(request: Request):
            if self.fail_with:
                return JSONResponse({"error": "down"}, status_code=self.fail_with)
            body = await request.json()
            self.notifications.append({**body, "idempotency_key": request.headers.get("idempotency-key")})
            return JSONResponse({"id": str(len(self.notifications)), "status": "pending"}, status_code=201)

        return app
