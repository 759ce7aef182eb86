"""The visitor's language and the locale used to format numbers and money."""

from __future__ import annotations

from flask import current_app, has_request_context, request, session
from flask_babel import get_locale, ngettext

from store.config import LOCALES, NUMBER_LOCALES
from store.money import Money, format_money


def select_locale() -> str:
    """Pick the interface language: the visitor's choice, then Accept-Language, then default."""
    if not has_request_context():  # CLI commands and workers
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    chosen = session.get("locale")
    if chosen in LOCALES:
        return chosen
    guess = request.accept_languages.best_match(LOCALES)
    return guess or current_app.config["BABEL_DEFAULT_LOCALE"]


def number_locale() -> str:
    """The Babel locale that formats numbers for the current interface language."""
    locale = get_locale()
    language = locale.language if locale is not None else "es"
    return NUMBER_LOCALES.get(language, NUMBER_LOCALES["es"])


def money_filter(value: Money | None) -> str:
    """Jinja filter: ``{{ plan.price|money }}`` -> "50.00 CUP"."""
    if value is None:
        return ""
    return format_money(value, number_locale())


def duration_filter(days: int) -> str:
    """Jinja filter: a plan's duration in words ("1 año", "6 meses", "90 días")."""
    if days % 365 == 0:
        years = days // 365
        return ngettext("%(num)d year", "%(num)d years", years)
    if days % 30 == 0:
        months = days // 30
        return ngettext("%(num)d month", "%(num)d months", months)
    return ngettext("%(num)d day", "%(num)d days", days)


def devices_filter(seats: int) -> str:
    """Jinja filter: a plan's seats in words ("1 dispositivo", "5 dispositivos")."""
    return ngettext("%(num)d device", "%(num)d devices", seats)


def line_title(product_name: str, plan_name: str, quantity: int | None = None) -> str:
    """Jinja global: "2 × Almiquí Hogar — 1 año · 1 PC", the one way a line is titled.

    A function rather than a macro: Jinja marks a macro's output safe, but this title must
    be escaped on pages and left plain in text emails, as any string is.
    """
    title = f"{product_name} — {plan_name}"
    return title if quantity is None else f"{quantity} × {title}"
