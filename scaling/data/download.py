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
"""

from __future__ import annotations

import hashlib
import os
import sys
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

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


class DatasetUnavailable(DataError):
    """A registry dataset is neither in the mirror, nor cached, nor downloadable now."""


class ChecksumNotice(UserWarning):
    """A mirrored file differs from the registered upstream file and is used anyway."""


def mirror_dir() -> Path | None:
    """The offline mirror folder ``$SCALING_DATA_DIR``, or None when it is not set."""
    env = os.environ.get(DATA_ENV)
    return Path(env).expanduser().resolve() if env else None


def cache_dir() -> Path:
    """The download cache: ``$SCALING_CACHE_DIR``, default pooch's OS cache folder for ``scaling``."""
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


def cached_path(name: str, entry: dict[str, Any]) -> Path:
    return cache_dir() / name / upstream_name(entry)


def mirrored_path(entry: dict[str, Any]) -> Path | None:
    mirror = mirror_dir()
    return mirror / entry["path"] if mirror is not None else None


def where(name: str, entry: dict[str, Any]) -> tuple[str, Path | None]:
    """Where the file is now, without downloading: ("mirror" | "mirror, differs" | "cache" | "missing", path)."""
    mirrored = mirrored_path(entry)
    if mirrored is not None and mirrored.exists():
        same = sha256_file(mirrored) == entry.get("sha256")
        return ("mirror" if same else "mirror, differs from upstream"), mirrored
    if "url" in entry:
        cached = cached_path(name, entry)
        if cached.exists() and sha256_file(cached) == entry.get("sha256"):
            return "cache", cached
    return "missing", None


def locate_file(name: str, entry: dict[str, Any], *, download: bool = True, progress: bool | None = None) -> Path:
    """The file of registry entry ``name``: mirror (with a notice if it differs), cache, or download."""
    mirrored = mirrored_path(entry)
    if mirrored is not None and mirrored.exists():
        digest = sha256_file(mirrored)
        if digest != entry.get("sha256"):
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
    if cached.exists() and sha256_file(cached) == entry["sha256"]:
        return cached
    if not download:
        raise DatasetUnavailable(
            f"Dataset {name!r} is not in the cache ({cached}). " + WHAT_TO_DO.format(cache=cache_dir())
        )
    return fetch_file(name, entry, progress=progress)


def fetch_file(name: str, entry: dict[str, Any], *, progress: bool | None = None) -> Path:
    """Download the entry's pinned URL into the cache (nothing is fetched if a verified copy is there).

    Raises :class:`DatasetUnavailable` naming the dataset and URL when the transfer fails (HTTP error,
    no connection, cut short) or the bytes' sha256 differs from the registry (then nothing is cached).
    """
    import pooch
    import requests

    url, cached = entry["url"], cached_path(name, entry)
    if progress is None:
        progress = sys.stderr.isatty()
    fetcher = pooch.create(
        path=cache_dir(),
        base_url="",
        registry={f"{name}/{cached.name}": f"sha256:{entry['sha256']}"},
        urls={f"{name}/{cached.name}": url},
        retry_if_failed=RETRIES,
    )
    downloader = pooch.HTTPDownloader(progressbar=progress, timeout=TIMEOUT_S)
    try:
        return Path(fetcher.fetch(f"{name}/{cached.name}", downloader=downloader))
    except ValueError as e:  # pooch: the downloaded file's hash does not match
        raise DatasetUnavailable(
            f"Dataset {name!r}: the file downloaded from {url} was refused and deleted, not cached: {e} "
            "The upstream file changed or the transfer was corrupted; try again, or report it if it persists."
        ) from None
    except requests.exceptions.RequestException as e:
        raise DatasetUnavailable(
            f"Dataset {name!r}: downloading {url} failed ({type(e).__name__}: {e}). "
            + WHAT_TO_DO.format(cache=cache_dir())
        ) from None
