"""Stand-in peers served over real HTTP: an on-call directory and a notification sink that record
what they are asked, and can be told to fail."""

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import FastAPI, Query, Request
from fastapi.responses import JSONResponse


@dataclass
class PeerStandIn:
    oncall: dict[str, dict] = field(default_factory=dict)
    notifications: list[dict] = field(default_factory=list)
    # Each on-call question, in order: the teams it named.
    lookups: list[list[str]] = field(default_factory=list)
    fail_with: int | None = None

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/api/v1/oncall/current")
        def current(team: str):
            self.lookups.append([team])
            if self.fail_with:
                return JSONResponse({"error": "down"}, status_code=self.fail_with)
            if team not in self.oncall:
                return JSONResponse({"error": {"code": "not_found"}}, status_code=404)
            return {"team": team, **self.oncall[team]}

        @app.get("/api/v1/oncall")
        def every(team: Annotated[list[str], Query()]):
            """As oncall-service answers it: the teams asked that have a schedule."""
            self.lookups.append(team)
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
