"""What every saved result carries: spec, ids, data hashes, versions, seed."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from importlib import metadata
from typing import Any

PACKAGES = ("scaling", "jax", "numpyro", "optax", "arviz", "xarray", "pandas", "numpy")


def versions(packages: tuple[str, ...] = PACKAGES) -> dict[str, str]:
    """Installed versions of ``packages`` (default: those a result depends on)."""
    out = {}
    for name in packages:
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


def root_attrs(spec: dict[str, Any], problems: list[Any], seed: int | str, *, single: bool) -> dict[str, Any]:
    """Root attrs of a fit (netCDF-safe: strings and numbers only).

    ``problems`` are the :class:`scaling.data.preparation.Prepared` inputs: their data hashes,
    excluded rows and notices (unit conversions, duplicates) are recorded, one value for a
    ``single`` fit, else a JSON list with one entry per problem (also for a batch of one).
    """
    one = single

    def per_problem(values: list[Any]) -> Any:
        return values[0] if one else values

    return {
        "scaling_version": versions()["scaling"],
        "law": spec["law"]["name"],
        "likelihood": spec["likelihood"]["name"],
        "spec": canonical_json(spec),
        "spec_id": spec_id(spec),
        "data_sha256": problems[0].sha256() if one else canonical_json([p.sha256() for p in problems]),
        "versions": canonical_json(versions()),
        "seed": seed if isinstance(seed, str) else int(seed),  # an int, or a JAX key as text
        "excluded_rows": canonical_json(per_problem([p.excluded for p in problems])),
        "notices": canonical_json(per_problem([p.notes for p in problems])),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
