"""Every service as its own process, its pages leaving for real: a webhook receiver (HTTP, in a thread of
the test) and an SMTP server (aiosmtpd). Time moves by writing seconds into the file named by
PLATFORM_CLOCK_OFFSET_FILE, which every service's clock reads. The escalation, policy, people and
page-link stories run on it."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from aiosmtpd.controller import Controller
from fastapi import FastAPI, Request

from platform_local.stack import Stack
from tests.support.servers import free_port, serve_in_thread


@dataclass
class WebhookReceiver:
    bodies: list[dict[str, Any]] = field(default_factory=list)

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/hook")
        async def hook(request: Request) -> dict[str, str]:
            self.bodies.append(await request.json())
            return {"ok": "yes"}

        return app

    def pages(self, incident_id: str, recipient: str, escalated: bool) -> list[dict[str, Any]]:
        return [
            b
            for b in self.bodies
            if b["incident_id"] == incident_id and b["recipient"] == recipient and ("ESCALATED" in b["message"]) == escalated
        ]


@dataclass
class Inbox:
    """aiosmtpd handler: keeps (recipients, raw message) of every mail it is given."""

    mails: list[tuple[list[str], str]] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope) -> str:
        self.mails.append((list(envelope.rcpt_tos), envelope.content.decode("utf-8", "replace")))
        return "250 Message accepted"

    def to(self, address: str, incident_id: str, escalated: bool) -> list[str]:
        return [body for rcpts, body in self.mails if address in rcpts and incident_id in body and ("ESCALATED" in body) == escalated]


@dataclass
class Platform:
    stack: Stack
    webhook: WebhookReceiver
    inbox: Inbox
    offset_file: Path
    hook_url: str

    def advance_to(self, minutes: float) -> None:
        """Every service's clock reads now + this offset."""
        self.offset_file.write_text(str(minutes * 60), encoding="utf-8")

    def client(self, name: str) -> httpx.Client:
        return httpx.Client(base_url=self.stack.url(name), timeout=10)


@contextmanager
def paged_platform(start_stack: Callable[..., Stack], tmp_path: Path, story_env: Callable[[str], dict[str, str]]) -> Iterator[Platform]:
    """Receivers up and the clock at zero, then every service started with the settings that point them
    there, fast cycles, and `story_env(hook_url)` (the webhook receiver's URL) on top."""
    webhook, inbox = WebhookReceiver(), Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    offset_file = tmp_path / "clock-offset"
    offset_file.write_text("0", encoding="utf-8")
    try:
        with serve_in_thread(webhook.app()) as webhook_url:
            hook_url = f"{webhook_url}/hook"
            env = {
                "SMTP_HOST": "127.0.0.1",
                "SMTP_PORT": str(smtp.port),
                "SMTP_FROM": "oncall@example.org",
                "PLATFORM_CLOCK_OFFSET_FILE": str(offset_file),
                "PAGE_INTERVAL_SECONDS": "0.3",
                "DELIVERY_INTERVAL_SECONDS": "0.3",
            }
            yield Platform(start_stack(env=env | story_env(hook_url)), webhook, inbox, offset_file, hook_url)
    finally:
        smtp.stop()
