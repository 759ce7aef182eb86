"""The desk's pages. The guard below runs before every view of the blueprint: support
staff and admins with the second factor of this session. Pages are never stored by the
browser (they show customers' data)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from store.admin.services.order_detail import LICENCE_STATUS_LABELS, order_detail
from store.audit.models import Actor
from store.errors import NotFound, StoreError
from store.licensing.activations import free_all_seats
from store.licensing.services import LicenceNotActive, OutOfStock
from store.orders.messages import STATUS_LABELS
from store.orders.services import order_id_by_number
from store.payments.registry import method_label
from store.staff.policy import SUPPORT, staff_only
from store.support import bp
from store.support.forms import NoteForm, ReasonForm, SearchForm
from store.support.services import (
    add_note, licence_detail, notes_of, reissue_licence, resend_delivery, search,
)

LABELS = {"status_labels": STATUS_LABELS, "method_label": method_label,
          "licence_status_labels": LICENCE_STATUS_LABELS}


@bp.before_request
@staff_only(*SUPPORT)
def _staff_only():
    return None


@bp.after_request
def _no_store(response):
    response.headers.setdefault("Cache-Control", "no-store")
    return response


@bp.route("/buscar", methods=["GET", "POST"])
def find():
    """The search box posts (a key never goes in an address, nor in the server's log)."""
    if request.method == "GET":
        return render_template("support/search.html", form=SearchForm(), result=None)
    form = SearchForm()
    if not form.validate_on_submit():
        return render_template("support/search.html", form=form, result=None), 400
    result = search(form.q.data, actor=Actor.of(current_user))
    return render_template("support/search.html", form=form, result=result, **LABELS)


@bp.get("/pedidos/<number>")
def order(number: str):
    return _order_page(number)


def _order_page(number: str, *, note: NoteForm | None = None, resend: ReasonForm | None = None,
                status: int = 200):
    detail = order_detail(number)
    return render_template(
        "support/order.html", detail=detail, order=detail.order,
        notes=notes_of(detail.order.id), note_form=note or NoteForm(formdata=None),
        resend_form=resend or ReasonForm(prefix="resend", formdata=None), **LABELS), status


@bp.post("/pedidos/<number>/notas")
def add_order_note(number: str):
    form = NoteForm()
    if not form.validate_on_submit():
        return _order_page(number, note=form, status=400)
    order_id = _order_id(number)
    add_note(order_id, form.body.data, actor=Actor.of(current_user))
    flash(str(_l("Note saved.")), "success")
    return redirect(url_for("support.order", number=number))


@bp.post("/pedidos/<number>/reenviar")
def resend(number: str):
    form = ReasonForm(prefix="resend")
    if not form.validate_on_submit():
        return _order_page(number, resend=form, status=400)
    try:
        resend_delivery(_order_id(number), reason=form.reason.data, actor=Actor.of(current_user))
    except StoreError as error:
        flash(str(error.detail or error.title), "error")
        return _order_page(number, resend=form, status=error.status)
    flash(str(_l("The delivery email with the current keys is on its way.")), "success")
    return redirect(url_for("support.order", number=number))


def _order_id(number: str) -> int:
    order_id = order_id_by_number(number)
    if order_id is None:
        raise NotFound()
    return order_id


@bp.get("/licencias/<int:licence_id>")
def licence(licence_id: int):
    return _licence_page(licence_id)


def _licence_page(licence_id: int, *, free: ReasonForm | None = None,
                  reissue: ReasonForm | None = None, status: int = 200):
    detail = licence_detail(licence_id)
    return render_template(
        "support/licence.html", detail=detail, licence=detail.licence,
        free_form=free or ReasonForm(prefix="free", formdata=None),
        reissue_form=reissue or ReasonForm(prefix="reissue", formdata=None), **LABELS), status


@bp.post("/licencias/<int:licence_id>/reemitir")
def reissue(licence_id: int):
    form = ReasonForm(prefix="reissue")
    if not form.validate_on_submit():
        return _licence_page(licence_id, reissue=form, status=400)
    try:
        replacement = reissue_licence(licence_id, reason=form.reason.data,
                                      actor=Actor.of(current_user))
    except LicenceNotActive:
        flash(str(_l("This licence was already reissued or is no longer active; "
                     "nothing changed.")), "error")
        return _licence_page(licence_id, reissue=form, status=409)
    except OutOfStock as error:
        flash(str(_l("No key of “%(plan)s” is left in stock to reissue with; nothing "
                     "changed. Import keys first.", plan=error.plan_name)), "error")
        return _licence_page(licence_id, reissue=form, status=409)
    except StoreError as error:
        flash(str(error.detail or error.title), "error")
        return _licence_page(licence_id, reissue=form, status=error.status)
    flash(str(_l("The licence has a new key; the old one stopped working. "
                 "The customer was emailed the new key.")), "success")
    return redirect(url_for("support.licence", licence_id=replacement.id))


@bp.post("/licencias/<int:licence_id>/liberar")
def free_seats(licence_id: int):
    form = ReasonForm(prefix="free")
    if not form.validate_on_submit():
        return _licence_page(licence_id, free=form, status=400)
    freed = free_all_seats(licence_id, actor=Actor.of(current_user), reason=form.reason.data)
    if freed:
        flash(str(_l("Every seat of this licence is free again.")), "success")
    else:
        flash(str(_l("No device held a seat; nothing changed.")), "success")
    return redirect(url_for("support.licence", licence_id=licence_id))
