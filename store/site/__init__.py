"""Site-wide routes: health checks and the language switch."""

from flask import Blueprint

bp = Blueprint("site", __name__)

from store.site import views  # noqa: E402,F401  (registers the routes on bp)
