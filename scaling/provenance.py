"""What every saved result carries: spec, ids, data hashes, versions, seed."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from importlib import metadata
from typing import Any

PACKAGES = ("scaling", "jax", "numpyro", "optax", "arviz", "xarray", "pandas", "numpy")


def versions() -> dict[str, str]:
    """Installed versions of the packages a result depends on."""
    out = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def canonical_json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


def spec_id(spec: dict[str, Any]) -> str:
    """sha256[:16] of the canonical JSON of a spec."""
    return hashlib.sha256(canonical_json(spec).encode()).hexdigest()[:16]


def root_attrs(spec: dict[str, Any], data_hashes: list[str], seed: int, excluded: list[list[dict]]) -> dict[str, Any]:
    """Root attrs of a fit (netCDF-safe: strings and numbers only)."""
    return {
        "scaling_version": versions()["scaling"],
        "law": spec["law"]["name"],
        "likelihood": spec["likelihood"]["name"],
        "spec": canonical_json(spec),
        "spec_id": spec_id(spec),
        "data_sha256": data_hashes[0] if len(data_hashes) == 1 else canonical_json(data_hashes),
        "versions": canonical_json(versions()),
        "seed": int(seed),
        "excluded_rows": canonical_json(excluded[0] if len(excluded) == 1 else excluded),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
