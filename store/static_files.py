"""Static URLs carry a hash of the file's content, and such URLs are cached for a year.

``url_for('static', filename='css/store.css')`` gives ``/static/css/store.css?v=<hash>``,
the first 12 hex digits of the file's SHA-256. A request carrying the file's current hash
is answered ``Cache-Control: public, max-age=31536000, immutable``: the browser keeps the
file and never asks again, and when the file changes its URL changes with it. Any other
request for a static file (no hash, or an old one) revalidates as before: ``no-cache``
with an ETag, and 304 while the file is unchanged. A missing file is a 404.

A file is hashed once per process and content: the hash is kept with the file's size and
modification time, so an edited file gets a new URL on the next page without a restart
(and its new bytes are never served as immutable under the old hash). That costs one
``stat`` per URL built. The folder is the app's ``static_folder``, the checkout's or the
installed package's (``store.resources``). This module imports nothing from the store.
"""

from __future__ import annotations

import functools
import hashlib
import os
import stat

from flask import Flask, request
from flask.sessions import SecureCookieSessionInterface
from werkzeug.security import safe_join

HASH_PARAMETER = "v"
HASH_LENGTH = 12
IMMUTABLE = "public, max-age=31536000, immutable"  # a year


class ContentHashes:
    """Short content hashes of files, each computed once per version of the file."""

    def __init__(self) -> None:
        # Keyed by the joined path, so only files that exist are kept: a bounded cache,
        # whatever names requests ask for. Plain dict operations are safe across threads;
        # at worst two threads hash the same file once each.
        self._known: dict[str, tuple[tuple[int, int], str]] = {}

    def of(self, folder: str, filename: str) -> str | None:
        """Return the hash of ``filename`` under ``folder``; None when it is not a file there."""
        path = safe_join(folder, filename)
        if path is None:
            return None
        try:
            info = os.stat(path)
            if not stat.S_ISREG(info.st_mode):
                return None
            version = (info.st_mtime_ns, info.st_size)
            known = self._known.get(path)
            if known is None or known[0] != version:
                known = self._known[path] = (version, _digest(path))
        except OSError:  # gone, or unreadable: no hash, and Flask answers 404 as usual
            return None
        return known[1]


def _digest(path: str) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()[:HASH_LENGTH]


class SessionInterface(SecureCookieSessionInterface):
    """The session cookie, left alone by static files: extensions that look at the session
    after each request (Flask-Login's remember cookie) would otherwise make every CSS file
    vary by Cookie, and browsers fetch it again whenever the session changes.

    Nothing under /api/ (programs: the licence API, providers' notifications) ever gets
    a session cookie."""

    def save_session(self, app, session, response) -> None:
        if request.path == "/api" or request.path.startswith("/api/"):
            return
        if request.endpoint == "static" and not session.modified:
            return
        super().save_session(app, session, response)


def register_static_files(app: Flask) -> None:
    """Add the content hash to every static URL and serve hashed URLs as immutable."""
    hashes = ContentHashes()
    app.session_interface = SessionInterface()

    @app.url_defaults
    def add_content_hash(endpoint: str, values: dict) -> None:
        if endpoint != "static" or HASH_PARAMETER in values or "filename" not in values:
            return
        digest = hashes.of(app.static_folder, values["filename"])
        if digest:
            values[HASH_PARAMETER] = digest

    send_static_file = app.view_functions["static"]

    @functools.wraps(send_static_file)
    def serve_static_file(filename: str):
        response = send_static_file(filename=filename)  # 404 for a missing file, as before
        asked = request.args.get(HASH_PARAMETER)
        if asked and asked == hashes.of(app.static_folder, filename):
            response.headers["Cache-Control"] = IMMUTABLE
        return response

    app.view_functions["static"] = serve_static_file
