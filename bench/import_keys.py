"""Benchmark: import a file of 100,000 vendor keys with `flask store import-keys`.

Runs the real command in a child process and reports its wall time and its own peak
resident memory (from wait4), next to the peak of a child that only loads the app.

    .venv/bin/python bench/import_keys.py                       # SQLite under a temp dir
    .venv/bin/python bench/import_keys.py --database-url postgresql+psycopg://...
    .venv/bin/python bench/import_keys.py --lines 20000         # a quicker run

Results are recorded in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FLASK = [sys.executable, "-m", "flask", "--app", "store"]


def measured(args: list[str], env: dict[str, str]) -> tuple[str, float, float]:
    """Run a child; return its output, wall time (s) and its own peak RSS (MiB)."""
    started = time.perf_counter()
    child = subprocess.Popen(args, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    output = child.stdout.read().decode()
    child.stderr.read()
    _pid, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{' '.join(args)} failed:\n{output}")
    return output, elapsed, usage.ru_maxrss / 1024


def write_key_file(path: Path, lines: int) -> None:
    alphabet = "ABCDEFGHJKMNPQRSTVWXYZ23456789"
    with open(path, "w", encoding="utf-8", newline="\r\n") as handle:
        for _ in range(lines):
            groups = ("".join(secrets.choice(alphabet) for _ in range(5)) for _ in range(5))
            handle.write("-".join(groups) + "\n")


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    result = subprocess.run(args, env=env, cwd=ROOT, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--batch-size", type=int, default=1000)
    options = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-import-") as folder:
        env = {k: v for k, v in os.environ.items() if not k.startswith("STORE_")}
        env.update(STORE_INSTANCE_PATH=folder, STORE_IMPORT_BATCH_SIZE=str(options.batch_size))
        if options.database_url:
            env["STORE_DATABASE_URL"] = options.database_url
        run([*FLASK, "db", "upgrade"], env)
        setup = (
            "from store import create_app\n"
            "from store.extensions import db\n"
            "from store.catalogue.models import Product, Plan, Platform, Audience, Fulfilment\n"
            "app = create_app()\n"
            "with app.app_context():\n"
            "    p = Product(slug='bench', name='Bench', summary='s', platform=Platform.WINDOWS,"
            " audience=Audience.HOME)\n"
            "    p.plans.append(Plan(name='b', sku='BENCH-POOL', duration_days=365, seats=1,"
            " price_minor=5000, fulfilment=Fulfilment.POOL))\n"
            "    db.session.add(p); db.session.commit()\n"
        )
        run([sys.executable, "-c", setup], env)

        key_file = Path(folder) / "keys.txt"
        write_key_file(key_file, options.lines)
        file_mib = key_file.stat().st_size / 2**20

        _output, _time, baseline = measured([*FLASK, "store", "--help"], env)
        output, elapsed, peak = measured(
            [*FLASK, "store", "import-keys", "--plan", "BENCH-POOL", str(key_file)], env
        )

    database = "PostgreSQL" if options.database_url else "SQLite"
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"database: {database}; lines: {options.lines:,}; batch size: {options.batch_size}")
    print(f"file size: {file_mib:.1f} MiB")
    print(f"wall time: {elapsed:.1f} s ({options.lines / elapsed:,.0f} keys/s)")
    print(f"peak RSS: {peak:.0f} MiB (baseline app load: {baseline:.0f} MiB)")
    print("command output:", *output.strip().splitlines(), sep="\n  ")


if __name__ == "__main__":
    main()
