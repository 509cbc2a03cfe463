"""``scaling datasets list | show | fetch``: the shipped tables and the registry of public datasets."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from scaling.cli.common import app, console, err, user_errors

datasets_app = typer.Typer(help="Shipped tables and the registry of public datasets.", no_args_is_help=True)
app.add_typer(datasets_app, name="datasets")


@datasets_app.command("list")
def datasets_list() -> None:
    """List registered datasets and where each is now: shipped, mirror, cache or missing (nothing is downloaded)."""
    from scaling.data.registry import catalogue

    t = Table(title="datasets (scaling.datasets.load(name))")
    for c in ("name", "title", "where", "licence"):
        t.add_column(c)
    for _, row in catalogue().iterrows():
        where = Text(row["where"], style="red" if row["where"] == "missing" else "")
        t.add_row(Text(row["name"]), Text(row["title"]), where, Text(row["licence"]))
    console.print(t)
    console.print(
        "missing: `scaling datasets fetch NAME` (or --all) downloads into the cache; "
        "SCALING_DATA_DIR names a mirror folder.",
        markup=False,
    )


@datasets_app.command("fetch")
def datasets_fetch(
    names: Annotated[list[str] | None, typer.Argument(help="Datasets to download (`scaling datasets list`).")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every public dataset in the registry.")] = False,
) -> None:
    """Download public datasets into the cache (pinned upstream files, sha256-checked), with a progress bar.

    Reports each file's size, sha256 and licence. Files already cached and verified are not downloaded again.
    """
    from scaling.data.download import download_cache_dir, fetch_file, sha256_file
    from scaling.data.registry import info, registry

    if all_ == bool(names):
        err.print("error: give dataset names or --all (not both).", markup=False)
        raise typer.Exit(2)
    chosen = [n for n, e in registry().items() if not e.get("shipped")] if all_ else list(names or [])
    failed = 0
    for name in chosen:
        try:
            entry = info(name)
            if entry.get("shipped"):
                console.print(f"{name}: shipped with the package, nothing to download.", markup=False)
                continue
            path = fetch_file(name, entry, progress=True)
        except ValueError as e:  # DataError: unknown name, download failed or refused
            err.print(f"error: {e}", markup=False)
            failed += 1
            continue
        size = path.stat().st_size
        console.print(
            f"{name}: {path} ({size / 1e6:.2f} MB, sha256 {sha256_file(path)}); licence: {entry.get('licence', '')}",
            markup=False,
        )
    console.print(f"cache: {download_cache_dir()}", markup=False)
    if failed:
        raise typer.Exit(2)


@datasets_app.command("show")
def datasets_show(name: str, rows: int = 5) -> None:
    """Show a dataset's source, licence, citation, columns (with units) and first rows."""
    from scaling.data.registry import SCHEMA, info, load

    with user_errors():
        entry = info(name)
        df = load(name)
    console.print(f"{name}: {entry.get('title', '')}", markup=False, style="bold")
    for key in ("homepage", "url", "sha256", "licence", "citation", "notes"):
        if entry.get(key):
            console.print(f"  {key}: {entry[key]}", markup=False)
    console.print(f"  file: {df.attrs['source']} ({len(df)} rows)", markup=False)
    if df.attrs.get("subset"):
        console.print(f"  subset: {df.attrs['subset']}", markup=False)
    for fix in df.attrs.get("corrections", []):
        console.print(f"  correction: {fix}", markup=False)
    t = Table(title="columns")
    for c in ("column", "unit", "meaning", "non-missing"):
        t.add_column(c)
    for col in df.columns:
        kind, unit, meaning = SCHEMA.get(col, ("", "", "(source column, unmapped)"))
        t.add_row(Text(col), Text(unit), Text(meaning), str(int(df[col].notna().sum())))
    console.print(t)
    console.print(df.head(rows).to_string(max_colwidth=30), markup=False)
