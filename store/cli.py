"""``flask store ...`` commands for operators."""

from __future__ import annotations

import click
from flask.cli import AppGroup

store_cli = AppGroup("store", help="Licence store commands.")


@store_cli.command("seed-demo")
@click.option(
    "--if-empty", is_flag=True, help="Do nothing when the catalogue already has products."
)
def seed_demo(if_empty: bool) -> None:
    """Load the demo catalogue of the fictional vendor Almiquí Software."""
    from store.catalogue.demo import seed_demo_catalogue

    result = seed_demo_catalogue(only_if_empty=if_empty)
    if result.skipped:
        click.echo("The catalogue already has products; demo data not loaded.")
    else:
        click.echo(
            f"Demo catalogue: {result.products_added} products and "
            f"{result.plans_added} plans added."
        )
