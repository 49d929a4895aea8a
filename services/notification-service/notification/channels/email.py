"""The email channel: a real SMTP server (SMTP_HOST, SMTP_PORT, SMTP_FROM, optional STARTTLS and login).

SMTP 5xx replies (e.g. unknown mailbox) fail the notification at once; connection problems and 4xx
replies are retried. The password is a SecretStr and never appears in errors or logs.
"""

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate

from pydantic import SecretStr

from notification.channels import DeliveryError, Notification
from notification.config import Settings


def build_message(notification: Notification, *, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = notification.recipient
    message["Subject"] = f"[Incident {notification.incident_id}] {notification.message.splitlines()[0][:120]}"
    message["Date"] = formatdate(usegmt=True)
    # The same on every attempt: a mail system that sees it twice (an attempt made again after a crash) can tell.
    message["Message-ID"] = f"<{notification.id}@{sender.rpartition('@')[2] or 'localhost'}>"
    message.set_content(f"{notification.message}\n\nIncident: {notification.incident_id}\nNotification: {notification.id}\n")
    return message


def _is_permanent(exc: smtplib.SMTPException) -> bool:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in exc.recipients.values())
    return isinstance(exc, smtplib.SMTPResponseException) and exc.smtp_code >= 500


class EmailChannel:
    def __init__(
        self,
        *,
        host: str,
        port: int,
        sender: str,
        timeout: float,
        starttls: bool = False,
        username: str | None = None,
        password: SecretStr | None = None,
    ) -> None:
        self.host, self.port, self.sender, self.timeout = host, port, sender, timeout
        self.starttls, self.username, self.password = starttls, username, password

    @classmethod
    def from_settings(cls, settings: Settings) -> "EmailChannel":
        return cls(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.smtp_from,
            timeout=settings.smtp_timeout_seconds,
            starttls=settings.smtp_starttls,
            username=settings.smtp_username,
            password=settings.smtp_password,
        )

    def recipient_problem(self, recipient: str) -> str | None:
        return None  # the address format is checked by the request schema

    def destination(self, recipient: str) -> str:
        return f"email {self.host}:{self.port}"  # every message goes through the one relay

    def send(self, notification: Notification) -> None:
        message = build_message(notification, sender=self.sender)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.username:
                    smtp.login(self.username, self.password.get_secret_value() if self.password else "")
                smtp.send_message(message)
        except smtplib.SMTPException as exc:
            raise DeliveryError(f"SMTP {type(exc).__name__}: {exc}", permanent=_is_permanent(exc)) from exc
        except OSError as exc:
            raise DeliveryError(f"SMTP {self.host}:{self.port} unreachable: {exc}") from exc

    def close(self) -> None:
        pass
