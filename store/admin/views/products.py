"""Products and plans: the list, a product's page with its plans, and the plan pages.

Each POST parses its form and calls one use case of store/admin/services/catalogue.py;
rule errors (a taken slug or SKU, a locked fulfilment) become field errors.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from store.admin import bp
from store.admin.forms.products import (
    PlanForm,
    ProductEditForm,
    ProductFilterForm,
    ProductForm,
    SwitchForm,
)
from store.admin.services import catalogue
from store.admin.views import BODY_LIMITS
from store.admin.services.catalogue import FulfilmentLocked
from store.audit.models import Actor
from store.catalogue.editing import RenewsInvalid, SkuTaken, SlugTaken
from store.catalogue.images import MAX_IMAGE_BYTES, upload_folder

# The product forms carry an image of up to 2 MB, more than the app's MAX_CONTENT_LENGTH
# leaves room for; the rest of the form and the multipart framing fit in the margin.
UPLOAD_ENDPOINTS = frozenset({"admin.products_new", "admin.products_edit"})
UPLOAD_BODY_LIMIT = MAX_IMAGE_BYTES + 256 * 1024
BODY_LIMITS.update(dict.fromkeys(UPLOAD_ENDPOINTS, UPLOAD_BODY_LIMIT))


def _actor() -> Actor:
    return Actor.of(current_user)


def _form_page(template: str, form, **context):
    """The page with ``form``; a submitted form shown again had errors: 400."""
    return render_template(template, form=form, **context), 400 if form.is_submitted() else 200


@bp.get("/productos/")
def products():
    form = ProductFilterForm(request.args)
    query, status, page = form.values()
    results = catalogue.find_products(query, status, page=page)
    args = {key: value for key, value in (("q", query), ("status", status)) if value}
    return render_template("admin/products.html", form=form, results=results, args=args)


@bp.route("/productos/nuevo", methods=["GET", "POST"])
def products_new():
    form = ProductForm()
    if form.validate_on_submit():
        try:
            product_id = catalogue.create_product(
                _actor(), form.to_data(), image=form.image_variants, folder=upload_folder())
        except SlugTaken as error:
            form.name.errors.append(str(error.title))
        else:
            flash(_("The product was created. Add its plans now."), "success")
            return redirect(url_for("admin.products_edit", product_id=product_id))
    return _form_page("admin/product_form.html", form, product=None)


@bp.route("/productos/<int:product_id>/", methods=["GET", "POST"])
def products_edit(product_id: int):
    product = catalogue.get_product(product_id)
    form = ProductEditForm() if request.method == "POST" else ProductEditForm(obj=product)
    if form.validate_on_submit():
        try:
            catalogue.update_product(
                _actor(), product_id, form.to_data(), slug=form.slug.data,
                image=form.image_variants, folder=upload_folder())
        except SlugTaken as error:
            form.slug.errors.append(str(error.title))
        else:
            flash(_("The product was saved."), "success")
            return redirect(url_for("admin.products_edit", product_id=product_id))
    return _form_page("admin/product_form.html", form, product=product, switch=SwitchForm())


@bp.post("/productos/<int:product_id>/activo")
def products_active(product_id: int):
    form = SwitchForm()
    if not form.validate_on_submit():
        abort(400)
    active = form.active.data == "1"
    catalogue.set_product_active(_actor(), product_id, active)
    flash(_("The product is on sale.") if active else _("The product is off sale."), "success")
    return redirect(url_for("admin.products_edit", product_id=product_id))


@bp.route("/productos/<int:product_id>/planes/nuevo", methods=["GET", "POST"])
def products_plan_new(product_id: int):
    product = catalogue.get_product(product_id)
    form = PlanForm()
    form.offer_renewable(product)
    if form.validate_on_submit():
        try:
            catalogue.create_plan(_actor(), product_id, form.to_data())
        except SkuTaken as error:
            form.sku.errors.append(str(error.title))
        except RenewsInvalid as error:
            form.renews.errors.append(str(error.detail or error.title))
        else:
            flash(_("The plan was created."), "success")
            return redirect(url_for("admin.products_edit", product_id=product_id))
    return _form_page("admin/plan_form.html", form, product=product, plan=None)


@bp.route("/planes/<int:plan_id>/", methods=["GET", "POST"])
def products_plan_edit(plan_id: int):
    plan = catalogue.get_plan(plan_id)
    # A POST is read from what was sent only: a field left out is empty, not the old value.
    form = PlanForm() if request.method == "POST" else PlanForm(
        obj=plan, price=f"{plan.price.to_decimal():.2f}",
        renews=[renewed.id for renewed in plan.renews])
    form.offer_renewable(plan.product, plan)
    if form.validate_on_submit():
        try:
            catalogue.update_plan(_actor(), plan_id, form.to_data())
        except SkuTaken as error:
            form.sku.errors.append(str(error.title))
        except RenewsInvalid as error:
            form.renews.errors.append(str(error.detail or error.title))
        except FulfilmentLocked as error:
            form.fulfilment.errors.append(str(error.title))
        else:
            flash(_("The plan was saved. Orders already placed keep their price."), "success")
            return redirect(url_for("admin.products_edit", product_id=plan.product_id))
    return _form_page("admin/plan_form.html", form, product=plan.product, plan=plan,
                      switch=SwitchForm())


@bp.post("/planes/<int:plan_id>/activo")
def products_plan_active(plan_id: int):
    form = SwitchForm()
    if not form.validate_on_submit():
        abort(400)
    active = form.active.data == "1"
    product_id = catalogue.set_plan_active(_actor(), plan_id, active)
    flash(_("The plan is on sale.") if active else _("The plan is off sale."), "success")
    return redirect(url_for("admin.products_edit", product_id=product_id))
