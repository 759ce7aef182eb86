"""``flask store ...`` commands for operators.

Messages are in the store's default language (STORE_DEFAULT_LOCALE), like the site.
"""

from __future__ import annotations

import os
import sys
from datetime import timedelta
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from flask_babel import gettext as _

store_cli = AppGroup("store", help="Licence store commands.")

SHOWN_INVALID_LINES = 20


@store_cli.command("seed-demo")
@click.option(
    "--if-empty", is_flag=True, help="Do nothing when the catalogue already has products."
)
def seed_demo(if_empty: bool) -> None:
    """Load the demo catalogue of the fictional vendor Almiquí Software."""
    from store.catalogue.demo import seed_demo_catalogue

    result = seed_demo_catalogue(only_if_empty=if_empty)
    if result.skipped:
        click.echo(_("The catalogue already has products; demo data not loaded."))
    else:
        click.echo(
            _(
                "Demo catalogue: %(products)d products and %(plans)d plans added.",
                products=result.products_added,
                plans=result.plans_added,
            )
        )


@store_cli.command("import-keys")
@click.option("--plan", "sku", required=True, help="SKU of the pool plan the keys are for.")
@click.option("--dry-run", is_flag=True, help="Check and count everything; import nothing.")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_keys_command(sku: str, dry_run: bool, file: Path) -> None:
    """Import vendor keys from FILE: one key per line, or a CSV with a "key" column."""
    from store.licensing.importing import ImportFileError, import_keys

    with click.progressbar(length=1, label=_("Importing"), file=sys.stderr) as bar:

        def advance(handled: int, lines: int) -> None:
            bar.length = lines
            bar.update(handled - bar.pos)

        try:
            report = import_keys(
                sku, file, dry_run=dry_run, progress=advance,
                batch_size=current_app.config["STORE_IMPORT_BATCH_SIZE"],
            )
        except ImportFileError as error:
            raise click.ClickException(str(error.detail)) from None

    if dry_run:
        click.echo(_("Dry run: nothing was imported."))
    click.echo(_("Imported: %(n)d", n=report.imported))
    click.echo(_("Repeated in the file: %(n)d", n=report.duplicates_in_file))
    click.echo(_("Already in the store: %(n)d", n=report.already_in_store))
    click.echo(_("Invalid lines: %(n)d", n=report.invalid_count))
    for problem in report.invalid[:SHOWN_INVALID_LINES]:
        click.echo(_("  line %(line)d: %(reason)s", line=problem.line, reason=problem.reason))
    if report.invalid_count > SHOWN_INVALID_LINES:
        click.echo(_("  … and %(n)d more", n=report.invalid_count - SHOWN_INVALID_LINES))
    if report.invalid_count and not (
        report.imported or report.already_in_store or report.duplicates_in_file
    ):
        raise click.ClickException(_("The file holds no usable key."))


@store_cli.command("rotate-keys")
def rotate_keys_command() -> None:
    """Re-encrypt stored keys under the newest key in STORE_VAULT_KEYS."""
    from store.vault_rotation import rotate_keys

    result = rotate_keys()
    click.echo(
        _(
            "Re-encrypted %(pool)d pool keys, %(licences)d licences and %(links)d order links.",
            pool=result.counts["pool_key"],
            licences=result.counts["licence"],
            links=result.counts["order_access"],
        )
    )
    for table, row_id, problem in result.failures:
        click.echo(_("  %(table)s %(id)d: %(problem)s", table=table, id=row_id, problem=problem))
    if result.failures:
        raise click.ClickException(
            _(
                "%(n)d stored keys could not be opened with the configured keys.",
                n=len(result.failures),
            )
        )


@store_cli.command("new-vault-secret")
def new_vault_secret() -> None:
    """Print fresh key material for STORE_VAULT_KEYS or STORE_VAULT_LOOKUP_KEY."""
    from store.vault import new_secret

    click.echo(new_secret())


@store_cli.command("expire-orders")
def expire_orders_command() -> None:
    """Expire unpaid orders past their payment window and free their reserved keys."""
    from store.orders.services import expire_orders

    click.echo(_("Expired orders: %(n)d", n=expire_orders()))


DURATION_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_duration(text: str) -> timedelta:
    """A duration written as a whole number and a unit: "30s", "15m", "2h" or "1d".

    Raises click.BadParameter, in the store's language (so call it inside the command,
    where the app context is).
    """
    cleaned = text.strip().lower()
    number, unit = cleaned[:-1], cleaned[-1:]
    if unit not in DURATION_UNITS or not number.isascii() or not number.isdigit() \
            or len(number) > 4:
        raise click.BadParameter(
            _("%(value)s is not a duration: write a number and a unit, like 30s, 15m, 2h "
              "or 1d.", value=repr(text)), param_hint="'--older-than'",
        )
    return timedelta(**{DURATION_UNITS[unit]: int(number)})


@store_cli.command("reconcile-payments")
@click.option("--older-than", "older_than", default="15m", show_default=True,
              help="Ask only about payments pending at least this long (30s, 15m, 2h, 1d).")
def reconcile_payments_command(older_than: str) -> None:
    """Ask each provider about payments still pending and confirm or fail them."""
    from store.payments.checking import reconcile_payments

    report = reconcile_payments(parse_duration(older_than))
    click.echo(_("Payments asked about: %(asked)d; settled: %(settled)d; still pending: "
                 "%(pending)d; provider errors: %(failed)d.", asked=report.asked,
                 settled=report.settled, pending=report.pending, failed=report.failed))
    if report.failed:
        raise click.ClickException(
            _("%(n)d payments could not be checked; the next run asks again.", n=report.failed)
        )


@store_cli.command("low-stock-alert")
def low_stock_alert_command() -> None:
    """Email staff the pool plans under their low-stock threshold, once a day at most."""
    from store.dbtypes import utcnow
    from store.licensing.alerts import send_low_stock_alert

    message = send_low_stock_alert(utcnow())
    if message is None:
        click.echo(_("No low-stock email: no plan is low, or today's was already queued."))
    else:
        click.echo(_("Low-stock email queued for %(email)s (plans under their threshold: "
                     "%(n)d).", email=message.recipient, n=len(message.payload["plans"])))


@store_cli.command("send-reminders")
def send_reminders_command() -> None:
    """Queue the renewal reminders due now (each once per licence and offset)."""
    from store.renewals.reminders import send_reminders

    click.echo(_("Renewal reminders queued: %(n)d", n=send_reminders()))


@store_cli.command("send-mail")
@click.option("--once", is_flag=True, help="Send what is due now, then exit.")
@click.option("--interval", default=10, show_default=True, type=click.IntRange(1, 3600),
              help="Seconds between rounds when running continuously.")
def send_mail(once: bool, interval: int) -> None:
    """Deliver queued emails, retrying failures with backoff."""
    import time

    from store.mail.services import send_pending

    while True:
        report = send_pending()
        if report.sent or report.failed or once:
            click.echo(_("Sent: %(sent)d, to retry: %(failed)d", sent=report.sent,
                         failed=report.failed))
        if once:
            return
        time.sleep(interval)


@store_cli.command("create-user")
@click.argument("email")
@click.option("--role", type=click.Choice(["customer", "support", "admin"]), default="customer",
              show_default=True, help="What the user may do.")
@click.option("--name", default="", help="The person's name (default: the email's local part).")
def create_user(email: str, role: str, name: str) -> None:
    """Create a user with a verified EMAIL. The password is read from
    STORE_NEW_USER_PASSWORD when set (for scripts), else asked for twice."""
    from email_validator import EmailNotValidError, validate_email

    from store.accounts.models import Role
    from store.accounts.services import EmailTaken, NewAccount, WeakPassword, register

    try:
        email = validate_email(email, check_deliverability=False,
                               allow_smtputf8=False).ascii_email
    except EmailNotValidError:
        raise click.ClickException(_("Enter a valid email address, like ana@example.com."))
    password = os.environ.get("STORE_NEW_USER_PASSWORD") or click.prompt(
        _("Password"), hide_input=True, confirmation_prompt=True
    )
    account = NewAccount(email=email, name=name.strip() or email.split("@")[0],
                         password=password, role=Role(role),
                         locale=current_app.config["BABEL_DEFAULT_LOCALE"])
    try:
        user = register(account, verified=True)
    except (EmailTaken, WeakPassword) as error:
        raise click.ClickException(str(error.detail))
    click.echo(_("User %(email)s created with the role %(role)s.", email=user.email,
                 role=user.role.label))


@store_cli.command("new-signing-key")
@click.option("--id", "key_id", default=None,
              help="Id of the new key (1-16 letters, digits, '.', '_' or '-'); default sk-DATE.")
def new_signing_key(key_id: str | None) -> None:
    """Print a new entry for STORE_SIGNING_KEYS and its public key."""
    from store.dbtypes import utcnow
    from store.signing import new_signing_seed, public_key_of
    from store.vault import KEY_ID, decode_secret

    key_id = key_id if key_id is not None else f"sk-{utcnow():%Y%m%d}"
    if not KEY_ID.fullmatch(key_id):
        raise click.BadParameter(
            _("%(value)s is not a key id: use 1 to 16 letters, digits, '.', '_' or '-'.",
              value=repr(key_id)), param_hint="'--id'",
        )
    seed = new_signing_seed()
    click.echo(_("New entry for STORE_SIGNING_KEYS (secret: put it first, keep the older "
                 "keys after it while their files are in use):"))
    click.echo(f"{key_id}:{seed}")
    click.echo(_("Its public key (Ed25519, published to clients):"))
    click.echo(public_key_of(decode_secret("seed", seed)))


MAX_LICENCE_FILE = 64 * 1024  # bytes; a licence file is well under 1 KB


@store_cli.command("verify-licence")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def verify_licence(file: Path) -> None:
    """Check a signed licence file against this store's signing keys.

    Exit status: 0 valid, 1 not valid, 2 the file cannot be read.
    """
    import json

    from store.dbtypes import utcnow
    from store.licensing.files import InvalidLicenceFile, expires_at, verify_licence_file
    from store.signing import get_signer

    try:
        with open(file, "rb") as handle:
            raw = handle.read(MAX_LICENCE_FILE + 1)
    except OSError as error:
        raise click.BadParameter(_("%(file)s cannot be read: %(reason)s", file=str(file),
                                   reason=error.strerror or error), param_hint="FILE") from None
    try:
        if len(raw) > MAX_LICENCE_FILE:
            raise InvalidLicenceFile(_("The file is too large to be a licence file."))
        try:
            document = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise InvalidLicenceFile(_("The file is not a licence file (not UTF-8 JSON).")) \
                from None
        licence = verify_licence_file(document, get_signer().public_keys())
    except InvalidLicenceFile as error:
        raise click.ClickException(_("Not valid: %(reason)s", reason=error.detail)) from None
    click.echo(_("Valid: licence %(id)d, %(product)s (%(plan)s), devices: %(seats)d, expires "
                 "%(expires)s, signed with key %(key_id)s.", id=licence["licence_id"],
                 product=licence["product"], plan=licence["plan"], seats=licence["seats"],
                 expires=licence["expires_at"], key_id=licence["key_id"]))
    if expires_at(licence) <= utcnow():
        click.echo(_("Note: this licence has expired."))
