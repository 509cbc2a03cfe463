"""Save and load fits as netCDF, atomically; the output boundary of every command.

The toolkit writes only inside a folder it created or that holds its marker file
(:data:`MARKER`, written when the folder is claimed); any other existing folder or file
given as an output is refused, never moved, renamed or deleted. A study's results are
built in a staging folder beside the output and swapped in with one atomic rename
(Linux ``renameat2(RENAME_EXCHANGE)``), so a kill at any instant leaves either the
old or the new results in place.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import hashlib
import json
import os
import shutil
import tempfile
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scaling.errors import ScalingError
from scaling.provenance import versions

if TYPE_CHECKING:  # imported where used: atomic_write alone (figures, kept programs) needs no xarray
    import xarray as xr

#: The file that marks a folder as the toolkit's results (JSON: what wrote it, and the spec id for studies).
MARKER = ".scaling-results"


def atomic_write(path: str | os.PathLike, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then rename it into place.

    An interrupted write leaves any earlier file at ``path`` untouched. ``path`` may not be a folder.
    """
    path = Path(path)
    if path.is_dir():
        raise ScalingError(f"Output {str(path)!r} is a folder; give a file name, e.g. {str(path / 'fit.nc')!r}.")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as e:
        raise ScalingError(f"Cannot write {str(path)!r}: {e.strerror}. Choose a folder you can write to.") from None
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


def _describe(path: Path) -> str:
    entries = sorted(p.name for p in path.iterdir())
    return ", ".join(entries[:5]) + (f" and {len(entries) - 5} more" if len(entries) > 5 else "")


def is_ours(path: str | os.PathLike) -> bool:
    """True for a folder that holds the toolkit's marker (or a study's ``spec.json`` from before the marker)."""
    path = Path(path)
    if (path / MARKER).is_file():
        return True
    legacy = path / "spec.json"  # study results written before the marker existed
    try:
        return legacy.is_file() and "spec_id" in json.loads(legacy.read_text())
    except (OSError, ValueError):
        return False


def check_output_dir(path: str | os.PathLike, option: str = "--out") -> Path:
    """Refuse an output folder the toolkit may not write into; nothing is created.

    Allowed: a path that does not exist, an empty folder, or a folder holding :data:`MARKER`.
    """
    path = Path(path)
    if str(path).startswith("~"):
        raise ScalingError(
            f"{option} {str(path)!r} starts with '~', which only a shell expands; give the full path "
            f"(e.g. {str(Path.home() / 'results')!r})."
        )
    if path.is_symlink() and not path.exists():
        raise ScalingError(f"{option} {str(path)!r} is a broken symbolic link; remove it or choose another folder.")
    if path.exists() and not path.is_dir():
        raise ScalingError(
            f"{option} {str(path)!r} is an existing file, not a results folder; it is left as it is. "
            f"Choose a new folder name."
        )
    if path.is_dir():
        try:
            empty = not any(path.iterdir())
        except OSError as e:
            raise ScalingError(f"{option} {str(path)!r}: cannot read the folder ({e.strerror}).") from None
        if not empty and not is_ours(path):
            raise ScalingError(
                f"{option} {str(path)!r} is a folder that holds other files ({_describe(path)}) and no "
                f"{MARKER} marker, so it is not a scaling results folder; nothing in it is changed. Choose a "
                f"new or empty folder (e.g. {str(path / 'results')!r})."
            )
    return path


def results_dir(path: str | os.PathLike, kind: str, option: str = "--out", **info: Any) -> Path:
    """A folder the toolkit may write ``kind`` results into: checked, created, and marked."""
    path = check_output_dir(path, option)
    try:
        path.mkdir(parents=True, exist_ok=True)
        if not (path / MARKER).exists():
            mark(path, kind, **info)
        probe = tempfile.NamedTemporaryFile(dir=path, prefix=".write-test-")  # fails now, not after a fit
        probe.close()
    except OSError as e:
        raise ScalingError(
            f"{option} {str(path)!r}: cannot write there ({e.strerror}). Choose another folder."
        ) from None
    return path


def mark(path: Path, kind: str, **info: Any) -> None:
    """Write the marker file into ``path``."""
    (path / MARKER).write_text(json.dumps({"written_by": "scaling", "kind": kind, **info}, indent=2) + "\n")


@contextlib.contextmanager
def output_lock(out: str | os.PathLike) -> Iterator[None]:
    """Hold an exclusive lock (``flock`` on ``.NAME.lock`` beside ``out``) while writing ``out``.

    A second run for the same folder waits for the first one to finish (with a warning).
    """
    out = Path(out)
    lock = out.parent / f".{out.name}.lock"
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError as e:
        raise ScalingError(
            f"Cannot write beside {str(out)!r} ({e.strerror}). Choose a folder you can write to."
        ) from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            warnings.warn(f"another run is writing {out}; waiting for it to finish", stacklevel=3)
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def staging_dir(out: Path, kind: str, **info: Any) -> Path:
    """A new marked folder beside ``out`` (``.NAME.tmp-XXXX``) to build results in."""
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes it private; the results folder should not be
    mark(tmp, kind, **info)
    return tmp


def clean_staging(out: Path) -> None:
    """Remove staging folders left beside ``out`` by killed runs (only marked ones; call under the lock)."""
    for stale in out.parent.glob(f".{out.name}.tmp-*"):
        if stale.is_dir() and not stale.is_symlink() and (stale / MARKER).is_file():
            shutil.rmtree(stale, ignore_errors=True)


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux ``renameat2(RENAME_EXCHANGE)``); False where it is unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False  # this kernel or filesystem cannot exchange
    raise OSError(code, os.strerror(code), str(a))


def _rename(a: Path, b: Path) -> None:
    os.replace(a, b)


def replace_dir(tmp: Path, out: Path) -> None:
    """Put the folder ``tmp`` at ``out``; the previous ``out`` (ours: checked by the caller) is removed.

    With an exchange the results folder is never missing: ``out`` holds the old results, then,
    in one step, the new ones (the old ones are left at ``tmp`` and removed; a kill before that
    leaves a marked staging folder that :func:`clean_staging` removes). Without one (no
    ``renameat2``), the old folder is first renamed to ``.NAME.old`` and :func:`recover` puts
    it back if a kill comes between the two renames.
    """
    if not out.exists():
        _rename(tmp, out)
    elif _exchange(tmp, out):
        shutil.rmtree(tmp)
    else:
        old = out.parent / f".{out.name}.old"
        if old.exists():
            shutil.rmtree(old)
        _rename(out, old)
        _rename(tmp, out)
        shutil.rmtree(old)


def recover(out: Path) -> None:
    """Undo a fallback swap interrupted between its two renames (``.NAME.old`` but no ``NAME``)."""
    old = out.parent / f".{out.name}.old"
    if old.is_dir() and not out.exists() and is_ours(old):
        os.replace(old, out)


def _digest(tree: xr.DataTree) -> str:
    """sha256 over every variable's values (by node path and name) and the root's text attributes."""
    import numpy as np

    h = hashlib.sha256()
    for key in sorted(k for k, v in tree.attrs.items() if isinstance(v, str) and k != "content_sha256"):
        h.update(f"{key}={tree.attrs[key]}\0".encode())
    for node in sorted(tree.subtree, key=lambda n: n.path):
        for name in sorted(map(str, node.dataset.variables)):
            values = np.asarray(node.dataset.variables[name].values)
            h.update(f"{node.path}/{name}{values.shape}\0".encode())
            if values.dtype.kind in "biuf":
                h.update(np.ascontiguousarray(values, dtype=np.float64).tobytes())
            elif values.dtype.kind in "mM":  # the unit (s, us, ns) may change on the way through netCDF
                unit = "datetime64[ns]" if values.dtype.kind == "M" else "timedelta64[ns]"
                h.update(np.ascontiguousarray(values.astype(unit).astype("int64")).tobytes())
            else:
                h.update("\0".join(map(str, values.ravel())).encode())
    return h.hexdigest()


def save(fit: xr.DataTree, path: str | os.PathLike) -> Path:
    """Write a fit to netCDF (h5netcdf), atomically, with a checksum of its contents in ``content_sha256``.

    An existing file at ``path`` is replaced only when it is a scaling fit.
    """
    path = Path(path)
    if path.is_file() and not _is_fit(path):
        raise ScalingError(f"{str(path)!r} exists and is not a scaling fit; it is left as it is. Choose another name.")
    fit = fit.copy()
    fit.attrs["content_sha256"] = _digest(fit)
    return atomic_write(path, lambda tmp: fit.to_netcdf(tmp, engine="h5netcdf"))


def _is_fit(path: Path) -> bool:
    import xarray as xr

    try:
        with open(path, "rb") as f:
            if f.read(8) != b"\x89HDF\r\n\x1a\n":  # the HDF5 signature (netCDF-4 files are HDF5)
                return False
        with xr.open_datatree(path, engine="h5netcdf") as tree:
            return "spec" in tree.attrs
    except Exception:  # noqa: BLE001 - any unreadable file is "not a fit"
        return False


def load(path: str | os.PathLike) -> xr.DataTree:
    """Read a fit fully into memory; refuses a damaged one; warns when another scaling version wrote it."""
    path = Path(path)
    if not path.exists():
        raise ScalingError(f"No fit at {str(path)!r}.")
    if path.is_dir():
        raise ScalingError(f"{str(path)!r} is a folder; give the fit file, e.g. {str(path / 'fit.nc')!r}.")
    import xarray as xr

    try:
        fit = xr.load_datatree(path, engine="h5netcdf")
    except Exception as e:  # noqa: BLE001 - h5py/h5netcdf raise many types for a damaged or foreign file
        raise ScalingError(
            f"{path}: cannot be read as a fit (not netCDF, or the file is damaged: {type(e).__name__}: {e}). "
            f"Refit, or restore the file."
        ) from None
    if "spec" not in fit.attrs:
        raise ScalingError(f"{path} is not a scaling fit (no 'spec' attribute).")
    try:
        json.loads(fit.attrs["spec"])
    except ValueError:
        raise ScalingError(f"{path}: the fit's spec attribute is not valid JSON; the file is damaged.") from None
    expected = fit.attrs.get("content_sha256")
    if expected is not None and _digest(fit) != expected:
        raise ScalingError(f"{path}: the contents do not match their checksum; the file is damaged. Refit it.")
    saved = fit.attrs.get("scaling_version")
    if saved != versions()["scaling"]:
        warnings.warn(f"{path} was written by scaling {saved}; this is {versions()['scaling']}.", stacklevel=2)
    return fit
