"""Save and load fits as netCDF, atomically."""

from __future__ import annotations

import json
import os
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from scaling.errors import ScalingError
from scaling.provenance import versions

if TYPE_CHECKING:  # imported where used: atomic_write alone (figures, kept programs) needs no xarray
    import xarray as xr


def atomic_write(path: str | os.PathLike, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then rename it into place.

    An interrupted write leaves any earlier file at ``path`` untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the file the usual permissions
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def save(fit: xr.DataTree, path: str | os.PathLike) -> Path:
    """Write a fit to netCDF (h5netcdf), atomically."""
    return atomic_write(path, lambda tmp: fit.to_netcdf(tmp, engine="h5netcdf"))


def load(path: str | os.PathLike) -> xr.DataTree:
    """Read a fit fully into memory; warns when it was written by another scaling version."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"No fit at {str(path)!r}.")
    import xarray as xr

    fit = xr.load_datatree(path, engine="h5netcdf")
    if "spec" not in fit.attrs:
        raise ScalingError(f"{path} is not a scaling fit (no 'spec' attribute).")
    json.loads(fit.attrs["spec"])
    saved = fit.attrs.get("scaling_version")
    if saved != versions()["scaling"]:
        warnings.warn(f"{path} was written by scaling {saved}; this is {versions()['scaling']}.", stacklevel=2)
    return fit
