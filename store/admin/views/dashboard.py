"""The back office's first page."""

from __future__ import annotations

from flask import render_template

from store.admin import bp


@bp.get("/")
def dashboard():
    return render_template("admin/dashboard.html")
