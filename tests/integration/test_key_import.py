"""Importing vendor keys: formats, counts, bad files, batches, dry runs, the CLI."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from store.catalogue.models import Fulfilment, Plan
from store.extensions import db
from store.licensing import importing, services
from store.licensing.importing import ImportFileError, import_keys
from store.licensing.models import PoolKey
from store.vault import reveal
from tests.factories import make_plan, make_pool, make_product


@pytest.fixture
def pool_plan(app):
    with app.app_context():
        plan = make_plan(make_product(plans=[]), sku="AM-POOL", fulfilment=Fulfilment.POOL)
        make_plan(plan.product, sku="AM-GEN")
        db.session.commit()
        return plan.id


def pool_size(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(PoolKey))


def write(tmp_path, name: str, content: bytes | str):
    path = tmp_path / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def run_import(app, plan_id: int, path, **options):
    with app.app_context():
        return import_keys(db.session.get(Plan, plan_id).sku, path, **options)


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("keys.txt", "VEND-AAAA-0001\nVEND-BBBB-0002\nVEND-CCCC-0003\n"),
        ("keys.txt", "\ufeffVEND-AAAA-0001\r\nVEND-BBBB-0002\r\nVEND-CCCC-0003"),
        ("keys.txt", "VEND-AAAA-0001\rVEND-BBBB-0002\rVEND-CCCC-0003\r"),
        ("keys.csv", "key\nVEND-AAAA-0001\nVEND-BBBB-0002\nVEND-CCCC-0003\n"),
        ("export.txt", "\ufeffserial;KEY;batch\r\n1;VEND-AAAA-0001;x\r\n2;VEND-BBBB-0002;x\r\n3;VEND-CCCC-0003;y\r\n"),
        ("vendor.csv", 'id,Key,note\n1,"VEND-AAAA-0001","a, b"\n2,VEND-BBBB-0002,\n3, VEND-CCCC-0003 ,c\n'),
    ],
    ids=["lf", "bom-crlf", "cr", "csv", "semicolon-csv", "quoted-csv"],
)
def test_plain_lists_and_csv_files_import_the_same_keys(app, pool_plan, tmp_path, name, content):
    report = run_import(app, pool_plan, write(tmp_path, name, content))

    assert (report.imported, report.invalid_count, report.duplicates_in_file) == (3, 0, 0)
    with app.app_context():
        found = {reveal(k) for k in db.session.scalars(sa.select(PoolKey))}
    assert found == {"VEND-AAAA-0001", "VEND-BBBB-0002", "VEND-CCCC-0003"}


def test_the_report_counts_duplicates_known_keys_and_invalid_lines(app, pool_plan, tmp_path):
    with app.app_context():
        make_pool(db.session.get(Plan, pool_plan), 1, prefix="OLD")
        db.session.commit()
    content = "\n".join([
        "NEWKEY-0001", "newkey 0001", "OLD-AM-POOL-000000", "", "X" * 201, "BADKEY\x07-0001", "NEWKEY-0002", "NEWKEY-0001",
    ])

    report = run_import(app, pool_plan, write(tmp_path, "keys.txt", content))

    assert report.imported == 2
    assert report.duplicates_in_file == 2  # "new 1" is NEW-1 typed differently
    assert report.already_in_store == 1
    assert [(p.line, p.reason) for p in report.invalid] == [
        (4, "vacía"),
        (5, "demasiado larga (más de 200 caracteres)"),
        (6, "contiene caracteres de control"),
    ]
    assert pool_size(app) == 3


def test_a_vendor_key_shaped_like_the_stores_own_keys_is_refused(app, pool_plan, tmp_path):
    # 32 hexadecimal digits read as 32 symbols of the store's alphabet: the licence API
    # would answer INVALID_KEY for it, so it could never be used.
    content = "0123456789abcdef0123456789abcdef\nVEND-AAAA-0001\n"

    report = run_import(app, pool_plan, write(tmp_path, "keys.txt", content))

    assert report.imported == 1
    assert [(p.line, p.reason.startswith("tiene la forma de las claves")) for p in report.invalid] == [
        (1, True)]
    assert pool_size(app) == 1


def test_importing_the_same_file_twice_adds_nothing_the_second_time(app, pool_plan, tmp_path):
    path = write(tmp_path, "keys.txt", "KEYCODE-01\nKEYCODE-02\nKEYCODE-03\n")
    run_import(app, pool_plan, path)
    again = run_import(app, pool_plan, path)
    assert (again.imported, again.already_in_store) == (0, 3)
    assert pool_size(app) == 3


def test_a_dry_run_counts_everything_and_writes_nothing(app, pool_plan, tmp_path):
    report = run_import(app, pool_plan, write(tmp_path, "k.txt", "KEYCODE-0A\nKEYCODE-0B\nKEYCODE-0B\n\n"), dry_run=True)
    assert (report.imported, report.duplicates_in_file, report.invalid_count) == (2, 1, 1)
    assert report.dry_run and pool_size(app) == 0


def test_keys_are_committed_in_batches_and_a_failed_batch_leaves_nothing_half_done(
    app, pool_plan, tmp_path, monkeypatch
):
    path = write(tmp_path, "k.txt", "\n".join(f"KEYCODE-{i:04d}" for i in range(25)))
    with app.app_context():
        vault = importing.get_vault()
        real_seal, calls = vault.seal, []

        def failing_seal(key):
            calls.append(key)
            if len(calls) == 15:
                raise RuntimeError("disk full")
            return real_seal(key)

        monkeypatch.setattr(vault, "seal", failing_seal)
        with pytest.raises(RuntimeError, match="disk full"):
            run_import(app, pool_plan, path, batch_size=10)

    assert pool_size(app) == 10  # the first batch; nothing of the second


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("junk.bin", bytes(range(256)) * 4, "not UTF-8 text"),
        ("nul.txt", b"KEY-1\nKEY\x00-2\n", "binary file"),
        ("latin1.txt", "KEY-1\nCLAVE-Ñ\n".encode("latin-1"), "not UTF-8 text"),
        ("no-key.csv", "id,serial\n1,ABC\n", "no “key” column"),
        ("empty.txt", b"", "The file is empty."),
    ],
)
def test_a_bad_file_is_refused_whole_with_a_clear_message(app, pool_plan, tmp_path, name,
                                                          content, message):
    path = write(tmp_path, name, content)
    with pytest.raises(ImportFileError) as caught:
        run_import(app, pool_plan, path)
    assert message in str(caught.value.detail)
    assert pool_size(app) == 0


def test_a_bad_line_deep_in_a_large_file_stops_the_import_before_any_batch(
    app, pool_plan, tmp_path
):
    content = "".join(f"KEY-{i}\n" for i in range(5000)).encode() + "CLAVE-Ñ\n".encode("latin-1")
    with pytest.raises(ImportFileError):
        run_import(app, pool_plan, write(tmp_path, "big.txt", content), batch_size=100)
    assert pool_size(app) == 0


def invoke(app, *args):
    return app.test_cli_runner().invoke(args=["store", "import-keys", *map(str, args)])


def test_the_import_command_reports_counts_and_line_numbers(app, pool_plan, tmp_path):
    path = write(tmp_path, "keys.txt", "KEYCODE-01\nKEYCODE-02\n\nKEYCODE-01\n")
    result = invoke(app, "--plan", "AM-POOL", path)
    assert result.exit_code == 0, result.output
    assert "Importadas: 2" in result.output
    assert "Repetidas en el archivo: 1" in result.output
    assert "línea 3: vacía" in result.output
    assert pool_size(app) == 2


def test_the_import_command_with_dry_run_imports_nothing(app, pool_plan, tmp_path):
    path = write(tmp_path, "k.txt", "KEYCODE-01\nKEYCODE-02\nKEYCODE-02\n")
    result = invoke(app, "--plan", "AM-POOL", "--dry-run", path)
    assert result.exit_code == 0
    assert "Simulación: no se importó nada." in result.output
    assert "Importadas: 2" in result.output and "Repetidas en el archivo: 1" in result.output
    assert pool_size(app) == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--plan", "NOPE"], "No hay ningún plan con el SKU «NOPE»."),
        (["--plan", "AM-GEN"], "solo los planes con reserva aceptan claves importadas"),
        (["--plan", "AM\udcff-POOL"], "Un SKU se escribe con letras, cifras y guiones."),
        (["--plan", "X" * 65], "Un SKU se escribe con letras, cifras y guiones."),
    ],
    ids=["unknown", "generated-keys", "not-utf8", "too-long"],
)
def test_the_import_command_refuses_a_missing_or_unsuitable_plan(app, pool_plan, tmp_path,
                                                                  args, message):
    result = invoke(app, *args, write(tmp_path, "k.txt", "KEYCODE-01\n"))
    assert result.exit_code == 1
    assert message in result.output
    assert pool_size(app) == 0


def test_the_import_command_refuses_a_missing_file(app, pool_plan, tmp_path):
    result = invoke(app, "--plan", "AM-POOL", tmp_path / "nope.txt")
    assert result.exit_code == 2
    assert "does not exist" in result.output


def test_a_huge_line_is_reported_invalid_without_breaking_the_line_numbers(app, pool_plan,
                                                                          tmp_path):
    content = "KEYCODE-0001\n" + "K" * 50_000 + "\nKEYCODE-0002\n\n"
    report = run_import(app, pool_plan, write(tmp_path, "k.txt", content))
    assert report.imported == 2
    assert [(p.line, p.reason) for p in report.invalid] == [
        (2, "demasiado larga (más de 200 caracteres)"),
        (4, "vacía"),
    ]


def test_a_file_of_blank_lines_imports_nothing_and_counts_them(app, pool_plan, tmp_path):
    report = run_import(app, pool_plan, write(tmp_path, "k.txt", "\n\n  \n"))
    assert (report.imported, report.invalid_count) == (0, 3)
    assert pool_size(app) == 0


def test_a_quoted_csv_field_may_span_lines_and_records_keep_their_line_numbers(
    app, pool_plan, tmp_path
):
    content = 'key,note\nVEND-AAAA-0001,"line one\nline two"\n,empty key\nVEND-BBBB-0002,x\n'
    report = run_import(app, pool_plan, write(tmp_path, "k.csv", content))
    assert report.imported == 2
    assert [(p.line, p.reason) for p in report.invalid] == [(4, "vacía")]


@pytest.mark.parametrize("junk", ["-----", "key", "____", "ab-cd", "  -  "])
def test_lines_too_short_to_be_a_key_are_refused(app, pool_plan, tmp_path, junk):
    report = run_import(app, pool_plan, write(tmp_path, "k.txt", f"{junk}\nVEND-AAAA-0001\n"))
    assert report.imported == 1 and report.duplicates_in_file == 0
    assert report.invalid[0].line == 1
    assert report.invalid[0].reason in (
        "vacía", "demasiado corta para ser una clave (8 caracteres como mínimo)"
    )
    assert pool_size(app) == 1


def test_a_key_stored_by_a_concurrent_import_is_counted_not_crashed_on(app, pool_plan):
    with app.app_context():
        vault = importing.get_vault()
        sealed = vault.seal("VEND-RACE-0001")
        row = {
            "plan_id": pool_plan, "state": "available", "imported_at": importing.utcnow(),
            "ciphertext": sealed.ciphertext, "vault_key_id": sealed.key_id,
            "lookup_hash": sealed.lookup_hash,
        }
        assert importing._insert_ignoring_known([row]) == 1
        assert importing._insert_ignoring_known([row]) == 0  # the unique hash, no error
        db.session.commit()
    assert pool_size(app) == 1


def test_the_import_command_fails_when_the_file_holds_no_usable_key(app, pool_plan, tmp_path):
    result = invoke(app, "--plan", "AM-POOL", write(tmp_path, "k.txt", "\n\n---\n"))
    assert result.exit_code == 1
    assert "Líneas no válidas: 3" in result.output
    assert "El archivo no contiene ninguna clave utilizable." in result.output
    assert pool_size(app) == 0


def test_an_uploaded_stream_imports_like_the_command_and_stays_open(app, pool_plan):
    import io

    from store.audit.models import Actor
    from store.licensing.importing import KeySource, import_key_file

    stream = io.BytesIO(b"key\nVEND-AAAA-0001\nVEND-BBBB-0002\nVEND-AAAA-0001\n")
    with app.app_context():
        report = import_key_file(pool_plan, KeySource("vendor.csv", stream),
                                 actor=Actor("admin@example.com", 1))

    assert (report.imported, report.duplicates_in_file) == (2, 1)
    assert not stream.closed
    assert pool_size(app) == 2


def test_an_upload_for_a_plan_of_generated_keys_is_refused_and_nothing_is_read(app, pool_plan):
    import io

    from store.audit.models import Actor
    from store.licensing.importing import KeySource, NotAPoolPlan, import_key_file

    with app.app_context():
        generated = db.session.scalar(sa.select(Plan.id).where(Plan.sku == "AM-GEN"))
        with pytest.raises(NotAPoolPlan):
            import_key_file(generated, KeySource("k.txt", io.BytesIO(b"VEND-AAAA-0001\n")),
                            actor=Actor("admin@example.com", 1))
    assert pool_size(app) == 0


def test_each_batch_that_adds_keys_is_audited_with_the_import_so_a_stopped_import_is_on_record(
        app, pool_plan, tmp_path):
    from store.audit.models import AuditEvent

    keys = "".join(f"VEND-{n:04d}-AUDIT\n" for n in range(5))
    run_import(app, pool_plan, write(tmp_path, "keys.txt", keys), batch_size=2)

    with app.app_context():
        events = db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id)).all()
        assert [e.action for e in events] == ["pool.import_batch"] * 3 + ["pool.import"]
        assert [e.details["imported"] for e in events] == [2, 2, 1, 5]
        assert {e.subject_id for e in events} == {pool_plan}
