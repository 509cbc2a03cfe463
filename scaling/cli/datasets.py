"""Command-line interface: a thin layer over library calls.

Exit codes: 0 ok; 2 invalid input (the message names file, row and column).
Heavy libraries (JAX, numpyro, ArviZ) are imported inside commands only.
"""

from __future__ import annotations

import typer
from rich.table import Table

from scaling.cli.common import app, console, user_errors

datasets_app = typer.Typer(help="Shipped tables and the registry of public datasets.", no_args_is_help=True)
app.add_typer(datasets_app, name="datasets")


@datasets_app.command("list")
def datasets_list() -> None:
    """List registered datasets and whether each is available locally."""
    from scaling.data.registry import catalogue

    t = Table(title="datasets (scaling.datasets.load(name))")
    for c in ("name", "title", "where", "licence"):
        t.add_column(c)
    for _, row in catalogue().iterrows():
        where = "shipped" if row["shipped"] else ("data folder" if row["available"] else "[red]missing[/]")
        t.add_row(row["name"], row["title"], where, row["licence"])
    console.print(t)


@datasets_app.command("show")
def datasets_show(name: str, rows: int = 5) -> None:
    """Show a dataset's source, licence, citation, columns (with units) and first rows."""
    from scaling.data.registry import SCHEMA, info, load

    with user_errors():
        entry = info(name)
        df = load(name)
    console.print(f"[bold]{name}[/]: {entry.get('title', '')}")
    for key in ("homepage", "licence", "citation", "notes"):
        if entry.get(key):
            console.print(f"  {key}: {entry[key]}")
    console.print(f"  file: {df.attrs['source']} ({len(df)} rows)")
    for fix in df.attrs.get("corrections", []):
        console.print(f"  correction: {fix}")
    t = Table(title="columns")
    for c in ("column", "unit", "meaning", "non-missing"):
        t.add_column(c)
    for col in df.columns:
        kind, unit, meaning = SCHEMA.get(col, ("", "", "(source column, unmapped)"))
        t.add_row(col, unit, meaning, str(int(df[col].notna().sum())))
    console.print(t)
    console.print(df.head(rows).to_string(max_colwidth=30))
