"""The kinds of email the store sends, each registered by the area that sends it.

An area adds an email kind by registering a renderer at start-up::

    register_email_kind(app, "order_delivery", render_order_delivery)

A renderer builds the subject and both bodies from the outbox row's payload (ids, never
secrets); it runs in the worker, in the message's language, with no request.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flask import Flask, current_app, render_template

if TYPE_CHECKING:
    from store.mail.models import OutboxMessage

EXTENSION = "store_mail_kinds"


class UnknownMessageKind(LookupError):
    """An email kind no area registered (a programming error)."""


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


Renderer = Callable[["OutboxMessage"], RenderedEmail]


def register_email_kind(app: Flask, kind: str, renderer: Renderer) -> None:
    """Let the outbox send emails of ``kind``, built by ``renderer``. Raises on a duplicate."""
    kinds = app.extensions.setdefault(EXTENSION, {})
    if kind in kinds:
        raise ValueError(f"email kind {kind!r} is registered twice")
    kinds[kind] = renderer


def renderer_for(kind: str) -> Renderer:
    """The renderer registered for ``kind``. Raises UnknownMessageKind."""
    renderer = current_app.extensions.get(EXTENSION, {}).get(kind)
    if renderer is None:
        raise UnknownMessageKind(kind)
    return renderer


def render_email(template: str, subject: str, **context: Any) -> RenderedEmail:
    """Render ``mail/<template>.txt`` and ``.html`` with ``context``."""
    return RenderedEmail(
        subject=subject,
        text=render_template(f"mail/{template}.txt", **context),
        html=render_template(f"mail/{template}.html", **context),
    )
