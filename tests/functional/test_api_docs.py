"""docs/api.md's curl examples, run as written against a live local server.

Each ```sh block of the guide runs in bash with ``$STORE`` and ``$KEY`` set (the guide's
first block sets them by hand); its output must be the JSON the guide shows after it:
the same fields and the same ``code``. The files the examples save are then checked with
the guide's own standalone verifier.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests.factories import issue_licence

GUIDE = Path(__file__).parents[2] / "docs" / "api.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def examples() -> list[tuple[str, dict | None]]:
    """(shell command, the JSON the guide shows after it, or None) in the guide's order."""
    blocks = FENCE.findall(GUIDE.read_text(encoding="utf-8"))
    found = []
    for (kind, text), (next_kind, next_text) in zip(blocks, [*blocks[1:], ("", "")]):
        if kind == "sh" and "STORE=" not in text:  # the set-up block is ours to set
            found.append((text, json.loads(next_text) if next_kind == "json" else None))
    return found


@pytest.fixture
def served(make_app) -> Iterator[tuple[str, str]]:
    """A live store with one one-seat licence: (its address, the key)."""
    app = make_app()
    with app.app_context():
        key, _ = issue_licence(seats=1)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", key
    server.shutdown()
    thread.join(timeout=10)


def test_the_guide_has_an_example_for_every_route():
    commands = "\n".join(command for command, _ in examples())
    for route in ("licences/validate", "licences/activate", "licences/deactivate",
                  "licences/file", "signing-keys"):
        assert f"/api/v1/{route}" in commands


def test_every_curl_example_of_the_guide_answers_what_the_guide_shows(served, tmp_path):
    store, key = served
    environment = {**os.environ, "STORE": store, "KEY": key}

    for command, shown in examples():
        done = subprocess.run(["bash", "-euo", "pipefail", "-c", command], cwd=tmp_path,
                              env=environment, capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, (command, done.stderr)
        answer = json.loads(done.stdout)
        assert shown is not None, f"the guide shows no answer for {command}"
        assert set(answer) == set(shown), command
        assert answer.get("code") == shown.get("code"), command

    # The files the examples saved verify with the guide's own verifier.
    verifier = tmp_path / "verify_licence.py"
    verifier.write_text(next(text for kind, text in FENCE.findall(
        GUIDE.read_text(encoding="utf-8")) if kind == "python" and "def verify" in text))
    checked = subprocess.run(
        [sys.executable, str(verifier), "licencia.json", "signing-keys.json"],
        cwd=tmp_path, capture_output=True, text=True, timeout=30)
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.startswith("valid: licence ")
