"""Catalogue pages. Each view parses its input, calls one service and renders."""

from __future__ import annotations

from flask import (
    abort,
    current_app,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)

from store.catalogue import bp, services
from store.catalogue.forms import FILTER_PLATFORMS, ProductFilterForm
from store.catalogue.images import FILE_NAME, upload_folder
from store.errors import NotFound

# An uploaded image's name changes with the image, so browsers may keep it for a year.
IMAGE_MAX_AGE = 365 * 24 * 3600


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
    try:
        view = services.get_product(slug)
    except NotFound:
        # An address the product had before the admin changed it.
        current = services.moved_to(slug)
        if current is None:
            raise
        return redirect(url_for("catalogue.product_detail", slug=current), 301)
    return render_template(
        "catalogue/product.html", view=view, product=view.product,
        max_quantity=current_app.config["STORE_CART_MAX_QUANTITY"],
    )


@bp.get("/imagenes/<name>.webp")
def product_image(name: str):
    if not FILE_NAME.fullmatch(name):
        abort(404)
    response = send_from_directory(upload_folder(), f"{name}.webp", mimetype="image/webp",
                                   max_age=IMAGE_MAX_AGE)
    response.cache_control.public = True
    response.cache_control.immutable = True
    return response
