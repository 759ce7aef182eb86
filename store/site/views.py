"""Health checks, the store's information pages, and the visitor's language choice."""

from __future__ import annotations

import logging

from flask import jsonify, redirect, render_template, session, url_for
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from store.config import LOCALES
from store.extensions import db
from store.site import bp
from store.site.forms import LanguageForm

log = logging.getLogger(__name__)


@bp.get("/healthz")
def healthz():
    """The process is alive; checks nothing else."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    """The store can serve: its database answers."""
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError as error:
        db.session.rollback()
        log.warning("readiness check failed: database unreachable: %s", error.__class__.__name__)
        return jsonify(status="unavailable", reason="database unreachable"), 503
    return jsonify(status="ok")


@bp.get("/terminos")
def terms():
    return render_template("site/terms.html")


@bp.get("/devoluciones")
def refunds():
    return render_template("site/refunds.html")


@bp.get("/quienes-somos")
def about():
    return render_template("site/about.html")


@bp.get("/formas-de-pago")
def payment_methods():
    return render_template("site/payment_methods.html")


@bp.post("/idioma")
def set_language():
    form = LanguageForm()
    if form.validate_on_submit() and form.language.data in LOCALES:
        session["locale"] = form.language.data
    return redirect(form.safe_next() or url_for("catalogue.home"))
