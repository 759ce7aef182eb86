"""The audit log: read only, filtered by actor, action, subject and date, newest first."""

from __future__ import annotations

from flask import make_response, render_template, request

from store.admin import bp
from store.admin.forms.audit_log import AuditFilterForm
from store.admin.views import page_number
from store.audit.services import AuditFilter, readable, search_events

FILTERS = ("actor", "action", "subject_type", "subject_id", "since", "until")


@bp.get("/auditoria")
def audit_log():
    form = AuditFilterForm(request.args)
    valid = form.validate()
    wanted = AuditFilter(
        actor=form.actor.data or "", action=form.action.data or "",
        subject_type=form.subject_type.data or "", subject_id=form.subject_id.data,
        since=form.since.data, until=form.until.data,
    ) if valid else AuditFilter()
    results = search_events(wanted, page=page_number() if valid else 1)
    args = {name: request.args[name] for name in FILTERS if valid and request.args.get(name)}
    return make_response(render_template(
        "admin/audit_log.html", form=form, results=results, args=args, readable=readable),
        200 if valid else 400)
