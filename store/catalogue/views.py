"""Catalogue pages. Each view parses its input, calls one service and renders."""

from __future__ import annotations

from flask import current_app, render_template, request

from store.catalogue import bp, services
from store.catalogue.forms import FILTER_PLATFORMS, ProductFilterForm


@bp.get("/")
def home():
    featured = services.featured_products(limit=6)
    return render_template("catalogue/home.html", featured=featured, platforms=FILTER_PLATFORMS)


@bp.get("/productos/")
def product_list():
    form = ProductFilterForm(request.args)
    filters, page = form.to_filter()
    results = services.list_products(
        filters, page=page, per_page=current_app.config["STORE_PAGE_SIZE"]
    )
    return render_template("catalogue/list.html", form=form, filters=filters, results=results)


@bp.get("/productos/<slug>/")
def product_detail(slug: str):
    view = services.get_product(slug)
    return render_template(
        "catalogue/product.html", view=view, product=view.product,
        max_quantity=current_app.config["STORE_CART_MAX_QUANTITY"],
    )
