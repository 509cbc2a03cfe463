"""Command-line interface: a thin layer over library calls.

Exit codes: 0 ok; 2 invalid input (the message names file, row and column).
Heavy libraries (JAX, numpyro, ArviZ) are imported inside commands only.
"""

from __future__ import annotations

import re
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from scaling.errors import ScalingError

app = typer.Typer(help="Bayesian scaling-law fits on CPU or GPU.", no_args_is_help=True, add_completion=False)


console = Console(width=None if sys.stdout.isatty() else 120)


err = Console(stderr=True, width=None if sys.stderr.isatty() else 120)


@app.callback()
def _setup() -> None:
    """Bayesian scaling-law fits on CPU or GPU."""
    from scaling.runtime import enable_compilation_cache, use_all_cpu_cores

    use_all_cpu_cores()
    enable_compilation_cache()


def columns(text: str) -> list[str]:
    """``"params_N, tokens_D"`` -> ``["params_N", "tokens_D"]``."""
    return [c.strip() for c in text.split(",")]


@contextmanager
def user_errors():
    """Turn invalid-input errors (bad data: :class:`scaling.data.DataError`, bad arguments) into one
    message and exit code 2."""
    try:
        yield
    except ValueError as e:  # DataError is a ValueError
        err.print(f"[red]error:[/] {e}")
        raise typer.Exit(2) from None


#: ``--device`` of the fitting commands (validated by the library: see :func:`scaling.devices.platform`).
DeviceOption = Annotated[
    str, typer.Option(help="auto (small fits on the CPU, large batches on a GPU when there is one), cpu, accelerator.")
]


_PRIOR = re.compile(r"^\s*(\w+)\s*=\s*(\w+)\s*\((.*)\)\s*$")


def parse_prior(text: str) -> tuple[str, Any]:
    """``"alpha=Normal(loc=0.3, scale=0.1)"`` -> ``("alpha", Prior("Normal", loc=0.3, scale=0.1))``."""
    from scaling.models.priors import Prior

    m = _PRIOR.match(text)
    if not m:
        raise ScalingError(
            f"Cannot read prior {text!r}; write it as NAME=Dist(arg=value, ...), e.g. alpha=HalfNormal(scale=1)."
        )
    name, dist, args = m.groups()
    kwargs = {}
    for part in filter(None, (a.strip() for a in args.split(","))):
        key, _, value = part.partition("=")
        try:
            kwargs[key.strip()] = float(value)
        except ValueError:
            raise ScalingError(f"Prior {text!r}: argument {part!r} must be key=number.") from None
    return name, Prior(dist, **kwargs)


def parse_option(text: str) -> tuple[str, Any]:
    """``"floor=0.25"`` -> ``("floor", 0.25)``; true/false/none are understood."""
    key, sep, value = text.partition("=")
    if not sep:
        raise ScalingError(f"Cannot read law option {text!r}; write it as key=value, e.g. floor=0.25.")
    low = value.strip().lower()
    if low in ("true", "false"):
        return key.strip(), low == "true"
    if low in ("none", ""):
        return key.strip(), None
    try:
        return key.strip(), float(value)
    except ValueError:
        return key.strip(), value.strip()


def print_summary(table, title: str) -> None:
    t = Table(title=title, title_style="bold")
    cols = [c for c in table.columns if c in ("mean", "sd", "r_hat", "ess_bulk", "ess_tail") or c.startswith("eti")]
    t.add_column("parameter", no_wrap=True)
    for c in cols:
        t.add_column(_header(c), justify="right", no_wrap=True)
    for name, row in table.iterrows():
        t.add_row(str(name), *(f"{row[c]:.4g}" for c in cols))
    console.print(t)


def _header(col: str) -> str:
    """``eti94_lb`` -> ``3%``, ``eti94_ub`` -> ``97%``; other names unchanged."""
    m = re.match(r"eti(\d+)_(lb|ub)", col)
    if not m:
        return col
    tail = (100 - int(m.group(1))) / 2
    return f"{tail:g}%" if m.group(2) == "lb" else f"{100 - tail:g}%"


def print_diagnosis(d) -> None:
    colour = {"pass": "green", "warn": "yellow", "fail": "red"}[d.status]
    console.print(f"diagnostics: [{colour}]{d.status.upper()}[/]")
    for r in d.reasons[:10]:
        console.print(f"  - {r}")
    if len(d.reasons) > 10:
        console.print(f"  ... and {len(d.reasons) - 10} more")


def _load_fit(path: Path):
    from scaling import io

    try:
        return io.load(path)
    except (FileNotFoundError, ValueError, OSError) as e:
        err.print(f"[red]error:[/] {e}")
        raise typer.Exit(2) from None
