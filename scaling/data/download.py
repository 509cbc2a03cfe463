"""Where a registry file comes from: an offline mirror, the user cache, or a pinned download.

Each public entry of ``datasets/registry.toml`` names the upstream file at a fixed commit
(``url``) and that file's sha256. :func:`locate_file` looks, in order, in

1. the mirror folder ``$SCALING_DATA_DIR`` (laid out like the registry's ``path`` values). A
   mirrored file whose sha256 differs from the registered one (a trimmed or newer copy) is used
   with a :class:`ChecksumNotice` saying so, never silently;
2. the download cache (``$SCALING_CACHE_DIR``, default pooch's OS cache for ``scaling``, e.g.
   ``~/.cache/scaling`` on Linux), as ``<cache>/<dataset>/<upstream file name>``;
3. the network: :mod:`pooch` downloads the URL into a temporary file beside the cache entry,
   with retries and a progress bar, and moves it into place only if its sha256 matches; a
   mismatching download is refused and deleted.

An entry whose table is built from many upstream files (``files``: a manifest in ``datasets/``
of upstream paths and sha256s under the pinned ``url`` folder) is cached as the folder
``<cache>/<dataset>/`` with those paths; each file is checked as above.
"""

from __future__ import annotations

import csv
import hashlib
import os
import sys
import warnings
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlparse

from scaling.deprecation import deprecated_alias
from scaling.errors import DataError

DATA_ENV = "SCALING_DATA_DIR"
CACHE_ENV = "SCALING_CACHE_DIR"

#: Extra download attempts after a failed one (pooch waits 1 s, 2 s, ... between them).
RETRIES = 2
#: Seconds without data before a download attempt is abandoned.
TIMEOUT_S = 60

WHAT_TO_DO = (
    "Run `scaling datasets fetch --all` on a machine with internet access (the files go to {cache}), "
    "or set SCALING_DATA_DIR to a mirror folder laid out like the registry's paths."
)


#: The shipped tables, the registry, the manifests and the datasheet: package data (``datasets/``).
SHIPPED = Path(str(resources.files("scaling.data") / "shipped"))


class DatasetUnavailable(DataError):
    """A registry dataset is neither in the mirror, nor cached, nor downloadable now."""


class ChecksumNotice(UserWarning):
    """A mirrored file differs from the registered upstream file and is used anyway."""


def mirror_dir() -> Path | None:
    """The offline mirror folder ``$SCALING_DATA_DIR``, or None when it is not set."""
    env = os.environ.get(DATA_ENV)
    return Path(env).expanduser().resolve() if env else None


def download_cache_dir() -> Path:
    """The download cache of public datasets: ``$SCALING_CACHE_DIR``, default pooch's OS cache folder for
    ``scaling`` (not JAX's compilation cache: :func:`scaling.runtime.compilation_cache_dir`)."""
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env).expanduser()
    import pooch

    return Path(pooch.os_cache("scaling"))


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def upstream_name(entry: dict[str, Any]) -> str:
    """The upstream file's name, from the last part of its URL (``%20`` decoded)."""
    return unquote(Path(urlparse(entry["url"]).path).name)


def manifest(entry: dict[str, Any]) -> dict[str, str]:
    """Upstream path -> sha256 of a many-file entry (its ``files`` manifest); empty for one-file entries."""
    if "files" not in entry:
        return {}
    with open(SHIPPED / entry["files"], newline="", encoding="utf-8") as f:
        return {row["path"]: row["sha256"] for row in csv.DictReader(f)}


def cached_path(name: str, entry: dict[str, Any]) -> Path:
    """``<cache>/<dataset>/<upstream file name>``, or the folder ``<cache>/<dataset>`` of a many-file entry."""
    return download_cache_dir() / name if "files" in entry else download_cache_dir() / name / upstream_name(entry)


def _cached_ok(name: str, entry: dict[str, Any]) -> bool:
    """The cache holds the entry's file(s), each with its registered sha256."""
    cached = cached_path(name, entry)
    files = manifest(entry)
    if files:
        return all((cached / p).is_file() and sha256_file(cached / p) == h for p, h in files.items())
    return cached.is_file() and sha256_file(cached) == entry.get("sha256")


def mirrored_path(entry: dict[str, Any]) -> Path | None:
    mirror = mirror_dir()
    return mirror / entry["path"] if mirror is not None else None


def where(name: str, entry: dict[str, Any]) -> tuple[str, Path | None]:
    """Where the file is now, without downloading: (place, path); place is "mirror", "mirror, differs from
    upstream", "mirror, derived table" (a many-file entry's built table), "cache" or "missing"."""
    mirrored = mirrored_path(entry)
    if mirrored is not None and mirrored.exists():
        if "files" in entry:
            return "mirror, derived table", mirrored
        same = sha256_file(mirrored) == entry.get("sha256")
        return ("mirror" if same else "mirror, differs from upstream"), mirrored
    if "url" in entry and _cached_ok(name, entry):
        return "cache", cached_path(name, entry)
    return "missing", None


def locate_file(name: str, entry: dict[str, Any], *, download: bool = True, progress: bool | None = None) -> Path:
    """The file of registry entry ``name``: mirror (with a notice if it differs), cache, or download."""
    mirrored = mirrored_path(entry)
    if mirrored is not None and mirrored.exists():
        digest = sha256_file(mirrored)
        if "files" in entry:
            warnings.warn(
                f"Dataset {name!r}: using the mirror copy {mirrored}, a table derived from the "
                f"{len(manifest(entry))} upstream files under {entry['url']} (not checked against them).",
                ChecksumNotice,
                stacklevel=3,
            )
        elif digest != entry.get("sha256"):
            warnings.warn(
                f"Dataset {name!r}: using the mirror copy {mirrored} (sha256 {digest[:12]}...), which differs "
                f"from the registered upstream file (sha256 {str(entry.get('sha256'))[:12]}..., {entry.get('url')}): "
                "a trimmed or newer copy.",
                ChecksumNotice,
                stacklevel=3,
            )
        return mirrored
    if "url" not in entry:
        raise DatasetUnavailable(
            f"Dataset {name!r} has no download URL in the registry and is not in the mirror folder "
            f"({mirrored or 'SCALING_DATA_DIR is not set'}); get it from {entry.get('homepage')}."
        )
    cached = cached_path(name, entry)
    if _cached_ok(name, entry):
        return cached
    if not download:
        raise DatasetUnavailable(
            f"Dataset {name!r} is not in the cache ({cached}). " + WHAT_TO_DO.format(cache=download_cache_dir())
        )
    return fetch_file(name, entry, progress=progress)


def fetch_file(name: str, entry: dict[str, Any], *, progress: bool | None = None) -> Path:
    """Download the entry's pinned URL into the cache (nothing is fetched if a verified copy is there).

    Raises :class:`DatasetUnavailable` naming the dataset and URL when the transfer fails (HTTP error,
    no connection, cut short) or the bytes' sha256 differs from the registry (then nothing is cached).
    """
    import pooch
    import requests

    if progress is None:
        progress = sys.stderr.isatty()
    files = manifest(entry)
    if files:  # cache name -> (URL, sha256)
        wanted = {f"{name}/{p}": (entry["url"] + quote(p, safe="/="), h) for p, h in files.items()}
    else:
        wanted = {f"{name}/{cached_path(name, entry).name}": (entry["url"], entry["sha256"])}
    fetcher = pooch.create(
        path=download_cache_dir(),
        base_url="",
        registry={k: f"sha256:{h}" for k, (_, h) in wanted.items()},
        urls={k: u for k, (u, _) in wanted.items()},
        retry_if_failed=RETRIES,
    )
    downloader = pooch.HTTPDownloader(progressbar=progress, timeout=TIMEOUT_S)
    url = entry["url"]  # the URL being fetched, named by the errors below
    try:
        for key in wanted:
            url = wanted[key][0]
            path = Path(fetcher.fetch(key, downloader=downloader))
        return cached_path(name, entry) if files else path
    except ValueError as e:  # pooch: the downloaded file's hash does not match
        raise DatasetUnavailable(
            f"Dataset {name!r}: the file downloaded from {url} was refused and deleted, not cached: {e} "
            "The upstream file changed or the transfer was corrupted; try again, or report it if it persists."
        ) from None
    except requests.exceptions.RequestException as e:
        raise DatasetUnavailable(
            f"Dataset {name!r}: downloading {url} failed ({type(e).__name__}: {e}). "
            + WHAT_TO_DO.format(cache=download_cache_dir())
        ) from None


#: Deprecated name of :func:`download_cache_dir` (0.2's ``scaling.datasets.cache_dir``).
cache_dir = deprecated_alias(download_cache_dir, "cache_dir")
