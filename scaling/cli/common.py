"""Command-line interface: a thin layer over library calls.

Exit codes: 0 ok; 2 invalid input (the message names file, row and column); 1 a failed
verdict (unreliable comparison or returns, failed problems) or an internal error (a bug:
reported as such, with the traceback to send). Every message is printed literally: the
consoles do not interpret rich markup, so ``[sampler]`` or ``run [final].csv`` show as written.
Heavy libraries (JAX, numpyro, ArviZ) are imported inside commands only.
"""

from __future__ import annotations

import re
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from scaling.errors import ScalingError

app = typer.Typer(help="Bayesian scaling-law fits on CPU or GPU.", no_args_is_help=True, add_completion=False)


console = Console(width=None if sys.stdout.isatty() else 120, markup=False, highlight=False)


err = Console(stderr=True, width=None if sys.stderr.isatty() else 120, markup=False, highlight=False)

#: Where internal errors (bugs) should be reported.
ISSUES = "the scaling issue tracker"


@app.callback()
def _setup() -> None:
    """Bayesian scaling-law fits on CPU or GPU."""
    from scaling.runtime import enable_compilation_cache, use_all_cpu_cores

    use_all_cpu_cores()
    enable_compilation_cache()


def columns(text: str) -> list[str]:
    """``"params_N, tokens_D"`` -> ``["params_N", "tokens_D"]``."""
    return [c.strip() for c in text.split(",")]


def say_error(message: str) -> None:
    """Print ``error: message`` (the message literally) on stderr."""
    err.print(Text.assemble(("error:", "red"), " ", str(message)), soft_wrap=True)  # no line breaks inside paths


@contextmanager
def user_errors() -> Iterator[None]:
    """Invalid input (:class:`scaling.errors.ScalingError` and its subclasses, typer's BadParameter)
    becomes one ``error: ...`` line and exit code 2; any other exception is a bug in the toolkit:
    shown as an internal error, with its traceback and where to report it, and exit code 1."""
    try:
        yield
    except (ScalingError, typer.BadParameter) as e:
        say_error(str(e))
        raise typer.Exit(2) from None
    except (typer.Exit, typer.Abort):
        raise
    except Exception as e:  # noqa: BLE001 - everything else is ours to fix, and said so
        err.print(Text.assemble(("internal error:", "bold red"), f" {type(e).__name__}: {e}"))
        err.print(traceback.format_exc().rstrip())
        err.print(
            f"This is a bug in scaling, not a problem with your input. Please report it to {ISSUES} with the "
            f"command you ran and the lines above."
        )
        raise typer.Exit(1) from None


def renamed_flag(new_flag: str, new: Any, old_flag: str, old: Any, default: Any) -> Any:
    """The value of an option renamed in 0.3.0: the new flag's, else the retired flag's (hidden from
    ``--help``; it prints a warning naming the new flag and raises a DeprecationWarning), else ``default``."""
    if old is None or old == []:
        return default if new is None else new
    if new is not None and new != []:
        raise typer.BadParameter(f"give {new_flag} only ({old_flag} is its deprecated name), not both.")
    import warnings

    from scaling.deprecation import REMOVED_IN, SINCE

    message = f"{old_flag} is deprecated since {SINCE} and will be removed in {REMOVED_IN}; use {new_flag} instead."
    err.print(Text.assemble(("warning:", "yellow"), " " + message))
    warnings.warn(message, DeprecationWarning, stacklevel=2)
    return old


#: ``--device`` of the fitting commands (validated by the library: see :func:`scaling.infer.devices.platform`).
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
    console.print(Text.assemble("diagnostics: ", (d.status.upper(), colour)))
    for r in d.reasons[:10]:
        console.print(f"  - {r}")
    if len(d.reasons) > 10:
        console.print(f"  ... and {len(d.reasons) - 10} more")


def _load_fit(path: Path):
    from scaling import io

    with user_errors():
        return io.load(path)
