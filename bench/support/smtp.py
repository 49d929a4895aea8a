"""A real SMTP server (aiosmtpd, in its own thread) that records when each page mail arrived and which
incident it is for (the subject starts `[Incident <id>]`, notification-service's email channel)."""

import email
import email.policy
import re
import threading
from collections.abc import Callable
from datetime import datetime

from aiosmtpd.controller import Controller

SUBJECT = re.compile(r"\[Incident ([0-9a-f-]{36})\]")


class SmtpInbox:
    def __init__(self, port: int, now: Callable[[], datetime]) -> None:
        self.port = port
        self.now = now
        self._mails: list[tuple[datetime, str | None]] = []
        self._lock = threading.Lock()
        self._controller = Controller(self, hostname="127.0.0.1", port=port)

    async def handle_DATA(self, server, session, envelope) -> str:
        at = self.now()
        subject = email.message_from_bytes(envelope.content, policy=email.policy.default)["Subject"] or ""
        match = SUBJECT.search(subject)
        with self._lock:
            self._mails.append((at, match.group(1) if match else None))
        return "250 Message accepted for delivery"

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()

    def snapshot(self) -> list[tuple[datetime, str | None]]:
        with self._lock:
            return list(self._mails)
