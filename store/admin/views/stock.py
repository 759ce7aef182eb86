"""Key stock: the pool plans' counts, and importing a key file from the browser.

The import goes through the same use case as ``flask store import-keys`` and shows the
same report. Key files may be 20 MB, ten times the store's request limit: the limit is
raised for that route, for signed-in admins only, before anything reads the body.
"""

from __future__ import annotations

from flask import current_app, render_template, request
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge
from wtforms.fields.choices import SelectChoice

from store.admin import bp
from store.admin.views import BODY_LIMITS, admin_with_second_factor
from store.admin.forms.stock import MAX_KEY_FILE_BYTES, TOO_LARGE, ImportKeysForm
from store.audit.models import Actor
from store.errors import handle_http_error
from store.licensing.importing import (
    ImportFileError,
    KeySource,
    NotAPoolPlan,
    import_key_file,
)
from store.licensing.stock import pool_plans, stock_levels

IMPORT_ENDPOINT = "admin.stock_import"
# Room for the multipart envelope and the other fields around a 20 MB file.
FORM_OVERHEAD = 64 * 1024
SHOWN_INVALID_LINES = 100


@bp.get("/existencias")
def stock():
    plans = pool_plans()
    levels = stock_levels(plans)
    return render_template("admin/stock.html", rows=[(plan, levels[plan.id]) for plan in plans])


BODY_LIMITS[IMPORT_ENDPOINT] = MAX_KEY_FILE_BYTES + FORM_OVERHEAD


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(error: RequestEntityTooLarge):
    """A key file over the limit: the import page says so; elsewhere, the usual page."""
    if request.endpoint != IMPORT_ENDPOINT or not admin_with_second_factor():
        return handle_http_error(error)
    form = _import_form(formdata=None)  # the body is not read: it is too large
    form.key_file.errors = [TOO_LARGE]
    return _import_page(form), 413


def _import_form(**options) -> ImportKeysForm:
    form = ImportKeysForm(**options)
    form.plan_id.choices = [
        SelectChoice(plan.id, f"{plan.product.name} · {plan.name} ({plan.sku})")
        for plan in pool_plans()
    ]
    return form


def _import_page(form: ImportKeysForm, report=None):
    return render_template("admin/stock_import.html", form=form, report=report,
                           shown_invalid=SHOWN_INVALID_LINES)


@bp.route("/existencias/importar", methods=["GET", "POST"])
def stock_import():
    form = _import_form()
    if not form.is_submitted():
        form.plan_id.data = request.args.get("plan", type=int)
        return _import_page(form)
    if not form.validate():
        return _import_page(form), 400
    upload = form.key_file.data
    try:
        report = import_key_file(
            form.plan_id.data, KeySource(upload.filename or "", upload.stream),
            actor=Actor.of(current_user), dry_run=form.dry_run.data,
            batch_size=current_app.config["STORE_IMPORT_BATCH_SIZE"],
        )
    except NotAPoolPlan as error:
        form.plan_id.errors.append(error.detail)
        return _import_page(form), 400
    except ImportFileError as error:
        form.key_file.errors.append(error.detail)
        return _import_page(form), 400
    return _import_page(form, report)
