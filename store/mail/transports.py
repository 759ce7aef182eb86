"""Ways to hand an email over: SMTP, .eml files (development) or memory (tests)."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Protocol

from store.config import ConfigurationError
from store.dbtypes import utcnow


class Transport(Protocol):
    def send(self, message: EmailMessage) -> None: ...


class SmtpTransport:
    def __init__(self, host: str, port: int, username: str, password: str, starttls: bool,
                 timeout: float = 20) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self.username, self.password, self.starttls = username, password, starttls

    def send(self, message: EmailMessage) -> None:
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            if self.starttls:
                smtp.starttls()
            if self.username:
                smtp.login(self.username, self.password)
            smtp.send_message(message)


class FileTransport:
    """Writes each message as an .eml file (development: open them with any mail reader)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def send(self, message: EmailMessage) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        stamp = utcnow().strftime("%Y%m%dT%H%M%S%f")
        path = self.folder / f"{stamp}-{message['X-Outbox-Id'] or 'message'}.eml"
        path.write_bytes(bytes(message))


class MemoryTransport:
    """Keeps messages in a list (tests)."""

    def __init__(self) -> None:
        self.sent: list[EmailMessage] = []

    def send(self, message: EmailMessage) -> None:
        self.sent.append(message)


def transport_from_config(config: dict[str, Any], instance_path: Path) -> Transport:
    kind = config["STORE_MAIL_TRANSPORT"] or (
        "smtp" if config["STORE_ENV"] == "production" else "file"
    )
    if kind == "file":
        return FileTransport(instance_path / "mail")
    if kind == "memory":
        return MemoryTransport()
    if kind == "smtp":
        if not config["STORE_SMTP_HOST"]:
            raise ConfigurationError("STORE_MAIL_TRANSPORT=smtp needs STORE_SMTP_HOST")
        return SmtpTransport(
            config["STORE_SMTP_HOST"], config["STORE_SMTP_PORT"], config["STORE_SMTP_USERNAME"],
            config["STORE_SMTP_PASSWORD"], config["STORE_SMTP_STARTTLS"],
        )
    raise ConfigurationError(f"STORE_MAIL_TRANSPORT must be smtp, file or memory; got {kind!r}")
