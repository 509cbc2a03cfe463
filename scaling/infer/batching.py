"""The batch a NUTS fit hands the engine: sampler settings checked once, datasets padded to a
bucketed common length with a mask (:func:`pad_length`, :func:`_stack`), one key per dataset
(:func:`batch_inputs`, from ``seed``: an int or a JAX key, :func:`seed_key`), the fit's spec
(:func:`fit_spec`) and the progress bar."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from scaling.checks import check_seed
from scaling.data.preparation import Prepared
from scaling.errors import ScalingError
from scaling.infer.sampler import Sampler
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


def seed_key(seed: Any, where: str) -> Any:
    """``seed`` as a JAX PRNG key: an int in [0, 2**32 - 1] becomes ``jax.random.key(seed)``; a JAX key
    (typed, ``jax.random.key``, or raw uint32, ``jax.random.PRNGKey``) is used as it is."""
    if is_key(seed):
        return seed
    return jax.random.key(check_seed(seed, where))


def is_key(seed: Any) -> bool:
    """Whether ``seed`` is a JAX PRNG key or an array of them (typed, or raw uint32 pairs), not an int."""
    dtype = getattr(seed, "dtype", None)
    if dtype is None:
        return False
    if jnp.issubdtype(dtype, jax.dtypes.prng_key):
        return True
    return dtype == np.uint32 and np.shape(seed)[-1:] == (2,)


def _typed(key: Any) -> Any:
    """A typed key (``jax.random.key``) of a typed or raw key."""
    return key if jnp.issubdtype(key.dtype, jax.dtypes.prng_key) else jax.random.wrap_key_data(key)


def seed_attr(seed: Any) -> int | str:
    """What a result's ``seed`` attribute records: the int, a key's data as text (``key [0, 42]``), or
    ``one key per dataset`` (their data are not repeated in the attribute)."""
    if not is_key(seed):
        return int(seed)
    if _typed(seed).ndim >= 1:
        return "one key per dataset"
    return "key " + str(np.asarray(jax.random.key_data(_typed(seed))).tolist())


def batch_inputs(
    datasets: Mapping[str, Any] | Sequence[Any],
    law: str | Law | Model,
    *,
    x: str | Sequence[str],
    y: str,
    likelihood: str | Likelihood | None = None,
    priors: Mapping[str, Any] | None = None,
    law_options: Mapping[str, Any] | None = None,
    trials: str | None = None,
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
    sampler: Sampler | Mapping[str, Any] | None = None,
    seed: Any = 0,
    caller: str = "fit_many",
    **shorthand: Any,
) -> dict[str, Any]:
    """:func:`fit_many`'s arguments checked and resolved once (shared with :func:`scaling.infer.survey.fit_survey`):
    the named datasets, the :class:`~scaling.models.model.Model`, the data-preparation arguments, one
    key per dataset and the :class:`~scaling.infer.sampler.Sampler`. ``shorthand``: the Sampler's
    fields given as keywords (``num_warmup=``, ...), which replace those of ``sampler``."""
    items = [(str(k), d) for k, d in (datasets.items() if isinstance(datasets, Mapping) else enumerate(datasets))]
    if not items:
        raise ScalingError(f"{caller} needs at least one dataset.")
    unknown = [k for k in shorthand if k not in Sampler.fields()]
    if unknown:
        raise TypeError(f"{caller}() got unexpected keyword argument(s) {unknown}")
    run = Sampler.of(sampler, caller, **shorthand)
    model, structure = resolve_structure(law, likelihood, priors, law_options, y_err, y_low, censored, pooled, date)
    prep = {"x": x, "y": y, "trials": trials, "dropna": dropna, "where": where, "units": units}
    prep |= {"y_err": y_err, "y_low": y_low, "y_high": y_high, "level": level, "group": group} | structure
    if is_key(seed) and _typed(seed).ndim >= 1:  # one key per dataset
        keys = _typed(seed)
        if keys.shape[0] != len(items):
            raise ScalingError(
                f"{caller}: seed holds {keys.shape[0]} keys; give one key per dataset ({len(items)}), "
                "one key or an int."
            )
    else:  # dataset i: fold_in(key, i)
        key = _typed(seed_key(seed, caller))
        keys = jax.vmap(lambda i: jax.random.fold_in(key, i))(jnp.arange(len(items)))
    return {
        "items": items,
        "model": model,
        "prep": prep,
        "keys": keys,
        "sampler": run,
        "settings": run.settings(),
        "num_chains": run.num_chains,
        "seed": seed_attr(seed),
        "device": run.device,
        "progress": run.progress,
    }
