"""The batch a NUTS fit hands the engine: sampler settings checked once, datasets padded to a
bucketed common length with a mask (:func:`pad_length`, :func:`_stack`), one key per dataset
(:func:`batch_inputs`), the fit's spec (:func:`fit_spec`) and the progress bar."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from scaling.checks import check_int, check_seed
from scaling.data.preparation import Prepared
from scaling.errors import ScalingError
from scaling.infer import devices
from scaling.models.law import Law
from scaling.models.likelihoods import Likelihood
from scaling.models.model import Model, resolve_structure


def pad_length(n: int) -> int:
    """Bucketed padded length (powers of two from 16) so similar sizes share a compile."""
    size = 16
    while size < n:
        size *= 2
    return size


def _stack(problems: Sequence[Prepared], law: Law, length: int) -> dict[str, Any]:
    """Batched, padded model kwargs with a leading problem axis.

    Per point: padding is masked out (``mask``); known standard errors pad with 0, censoring codes
    with 0 (observed), group indices with 0. Groups are padded to the largest group count of the
    batch (``group_mask`` False for padding; a padded group's offsets are draws from their prior).
    """
    pad_y = 0.5 if law.bounded else None

    def pad(a: np.ndarray, fill: float) -> np.ndarray:
        return np.concatenate([a, np.full(length - a.shape[0], fill)])

    data = {
        "u": {k: np.stack([pad(p.centred()[k], 0.0) for p in problems]) for k in problems[0].u},
        "y": np.stack([pad(p.y, p.y_scale if pad_y is None else pad_y) for p in problems]),
        "center": {k: np.array([p.center[k] for p in problems]) for k in problems[0].u},
        "y_scale": np.array([p.y_scale for p in problems]),
        "mask": np.stack([np.arange(length) < p.n for p in problems]),
    }
    if problems[0].n_trials is not None:
        data["n_trials"] = np.stack([pad(p.n_trials, 1.0) for p in problems])
    if problems[0].y_err is not None:
        data["y_err"] = np.stack([pad(p.y_err, 0.0) for p in problems])
    if problems[0].censor is not None:
        data["censor"] = np.stack([pad(p.censor, 0.0) for p in problems])
    if problems[0].group is not None:
        n_groups = max(len(p.groups) for p in problems)
        data["group"] = np.stack([pad(p.group, 0.0) for p in problems]).astype(np.int32)
        data["group_mask"] = np.stack([np.arange(n_groups) < len(p.groups) for p in problems])
    return jax.tree.map(jnp.asarray, data)


def progress_bar(total: int, enabled: bool | None, label: str, unit: str = "steps"):
    """A rich progress bar counting ``unit`` (NUTS steps, chunks), or None when not interactive."""
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        return None, None
    from rich.progress import BarColumn, Progress, TimeElapsedColumn, TimeRemainingColumn

    bar = Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        "{task.completed:.0f}/{task.total} " + unit,
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        transient=True,
    )
    task = bar.add_task(label, total=total)
    return bar, lambda n: bar.advance(task, n)


def fit_spec(model: Model, columns, settings, num_chains) -> dict[str, Any]:
    return {
        **model.spec(),
        "columns": columns,
        "sampler": dict(settings, num_chains=num_chains),
    }


def _settings(
    caller, num_warmup, num_samples, num_chains, target_accept, max_tree_depth, dense_mass, batch_mode, device
):
    check_int("num_warmup", num_warmup, 1, caller)
    check_int("num_samples", num_samples, 1, caller)
    check_int("num_chains", num_chains, 1, caller)
    check_int("max_tree_depth", max_tree_depth, 1, caller)
    if not 0.0 < float(target_accept) < 1.0:
        raise ScalingError(
            f"The 'target_accept' parameter of {caller} must be in (0, 1). Got {target_accept!r} instead."
        )
    if batch_mode not in ("auto", "vmap", "map"):
        raise ScalingError(
            f"The 'batch_mode' parameter of {caller} must be 'auto', 'vmap' or 'map'. Got {batch_mode!r}."
        )
    devices.check_device(device, caller)  # before any work
    return {
        "num_warmup": int(num_warmup),
        "num_samples": int(num_samples),
        "max_tree_depth": int(max_tree_depth),
        "target_accept": float(target_accept),
        "dense_mass": bool(dense_mass),
        "batch_mode": batch_mode,
    }


def batch_inputs(
    datasets: Mapping[str, Any] | Sequence[Any],
    law: str | Law | Model,
    *,
    x: str | Sequence[str],
    y: str,
    likelihood: str | Likelihood | None = None,
    priors: Mapping[str, Any] | None = None,
    law_options: Mapping[str, Any] | None = None,
    n_trials: str | None = None,
    dropna: bool = False,
    where: str | None = None,
    units: Mapping[str, str] | None = None,
    y_err: str | None = None,
    y_low: str | None = None,
    y_high: str | None = None,
    level: float = 0.95,
    censored: str | None = None,
    group: str | None = None,
    pooled: Sequence[str] | Mapping[str, Any] | None = None,
    date: str | None = None,
    num_warmup: int = 1000,
    num_samples: int = 1000,
    num_chains: int = 4,
    seed: int = 0,
    keys: jax.Array | None = None,
    target_accept: float = 0.9,
    max_tree_depth: int = 10,
    dense_mass: bool = True,
    batch_mode: str = "auto",
    device: str = "auto",
    caller: str = "fit_many",
) -> dict[str, Any]:
    """:func:`fit_many`'s arguments checked and resolved once (shared with :func:`scaling.infer.survey.fit_survey`):
    the named datasets, the :class:`~scaling.models.model.Model`, the data-preparation arguments, one
    key per dataset and the sampler settings."""
    items = [(str(k), d) for k, d in (datasets.items() if isinstance(datasets, Mapping) else enumerate(datasets))]
    if not items:
        raise ScalingError(f"{caller} needs at least one dataset.")
    settings = _settings(
        caller, num_warmup, num_samples, num_chains, target_accept, max_tree_depth, dense_mass, batch_mode, device
    )
    model, structure = resolve_structure(law, likelihood, priors, law_options, y_err, y_low, censored, pooled, date)
    prep = {"x": x, "y": y, "n_trials": n_trials, "dropna": dropna, "where": where, "units": units}
    prep |= {"y_err": y_err, "y_low": y_low, "y_high": y_high, "level": level, "group": group} | structure
    if keys is None:
        check_seed(seed, caller)
        keys = jax.vmap(lambda i: jax.random.fold_in(jax.random.key(seed), i))(jnp.arange(len(items)))
    elif keys.shape[0] != len(items):
        raise ScalingError(f"keys must have one key per dataset ({len(items)}). Got shape {keys.shape}.")
    return {
        "items": items,
        "model": model,
        "prep": prep,
        "keys": keys,
        "settings": settings,
        "num_chains": int(num_chains),
        "seed": seed,
        "device": device,
    }
