"""Bayesian fits: :func:`fit` (one dataset) and :func:`fit_many` (many at once).

Both run the same compiled NUTS engine (:mod:`scaling.infer.engine`) and return an
:class:`xarray.DataTree` with groups ``posterior``, ``sample_stats``,
``log_likelihood``, ``posterior_predictive``, ``observed_data`` and
``constant_data``; root attrs carry the spec (JSON), its id, the data hash,
library versions and the seed. ``fit_many`` adds a trailing ``problem`` dim. The sampler's
settings are one value, :class:`~scaling.infer.sampler.Sampler` (``sampler=``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import xarray as xr

from scaling.checks import check_draws
from scaling.data.preparation import Prepared, prepare
from scaling.deprecation import renamed
from scaling.errors import DataError
from scaling.infer import engine
from scaling.infer.batching import _stack, batch_inputs, fit_spec, is_key, pad_length, progress_bar, seed_attr, seed_key
from scaling.infer.results import to_datatree
from scaling.infer.sampler import Sampler
from scaling.models.law import Law
from scaling.models.likelihoods import Likelihood
from scaling.models.model import Model, resolve_structure


def _sample(problems, model: Model, keys, *, num_chains, settings, progress, length=None, device="auto"):
    """Run the engine on problems x chains; arrays shaped (problem, chain, draw, ...)."""
    length = length or pad_length(max(p.n for p in problems))
    data = _stack(problems, model.law, length)
    n_prob = len(problems)
    flat = jax.tree.map(lambda a: jnp.repeat(a, num_chains, axis=0), data)
    chain_keys = jax.vmap(lambda k: jax.random.split(k, num_chains))(keys).reshape((n_prob * num_chains,))
    total = (settings["num_warmup"] + settings["num_samples"]) * n_prob * num_chains
    bar, advance = progress_bar(total, progress, f"NUTS {model.name}")
    if bar is not None:
        bar.start()
    try:
        out = engine.run(
            model,
            flat,
            chain_keys,
            **settings,
            device=device,
            progress=None if advance is None else (lambda k: advance(k * n_prob * num_chains)),
        )
    finally:
        if bar is not None:
            bar.stop()
    return {k: v.reshape((n_prob, num_chains) + v.shape[1:]) for k, v in out.items()}


@renamed(keys="seed", n_trials="trials")
def fit_many(
    datasets: Mapping[str, Any] | Sequence[Any],
    law: str | Law | Model,
    *,
    x: str | Sequence[str],
    y: str,
    sampler: Sampler | Mapping[str, Any] | None = None,
    seed: Any = 0,
    **kwargs: Any,
) -> xr.DataTree:
    """Fit one law to many independent datasets with one compiled sampler, in memory.

    Each dataset is validated and normalised on its own (own centre and
    ``y_scale``), padded with a mask to a bucketed common length, and all
    ``problem x chain`` runs go through one jitted NUTS program: vmapped in
    lock-step on accelerators, ``lax.map``-ped on CPU (``batch_mode``); with
    ``device="auto"``, a batch small enough to finish sooner on the CPU runs there
    (see :func:`fit`). A second call with the same law, settings and bucketed shapes
    compiles nothing. For surveys too large for memory, or on a Ray cluster, use
    :func:`scaling.infer.survey.fit_survey` (chunks saved as they finish, resumable).

    Parameters
    ----------
    datasets : mapping name -> data, or a sequence of data (DataFrame, CSV path, dict).
    law, x, y, sampler : as in :func:`fit`.
    seed : an int, a JAX key, or one JAX key per dataset (shape ``(problem,)``). Problem i is
        sampled from ``fold_in(key, i)`` with ``key = jax.random.key(seed)`` for an int (so problem i
        of a batch equals :func:`fit` with ``seed`` set to that key); with one key per dataset,
        from its own key.
    **kwargs : the other arguments of :func:`fit`: the model's and the rows' (``likelihood, priors,
        law_options, trials, dropna, where, units, y_err, ..., date``) and the shorthand sampler
        keywords (``num_warmup``, ..., ``device``, ``progress``).

    Returns
    -------
    DataTree with dims ``(chain, draw, problem)`` in ``posterior``, ``(chain,
    draw, point, problem)`` in ``log_likelihood`` (NaN at padded points).

    Raises
    ------
    DataError : naming the dataset (its key) when one of them is invalid.
    """
    b = batch_inputs(datasets, law, x=x, y=y, sampler=sampler, seed=seed, **kwargs)
    problems = []
    for name, d in b["items"]:
        try:
            problems.append(prepare(d, b["model"], **b["prep"]))
        except DataError as e:
            raise DataError(f"fit_many: dataset {name!r}: {e}") from None
    names = [name for name, _ in b["items"]]
    n_params = len(b["model"].law.params) + len(b["model"].likelihood.params)
    n_max = max(p.n for p in problems)
    check_draws(b["settings"]["num_samples"], b["num_chains"], len(problems), n_max, n_params, "fit_many")
    return fit_prepared(
        problems,
        names,
        b["model"],
        b["keys"],
        settings=b["settings"],
        num_chains=b["num_chains"],
        seed=b["seed"],
        progress=b["progress"],
        device=b["device"],
    )


def fit_prepared(
    problems: Sequence[Prepared],
    names: Sequence[str],
    model: Model,
    keys: jax.Array,
    *,
    settings: dict[str, Any],
    num_chains: int,
    seed: int | str,
    length: int | None = None,
    n_max: int | None = None,
    progress: bool | None = None,
    device: str = "auto",
) -> xr.DataTree:
    """:func:`fit_many` on validated problems; ``length`` (padding) and ``n_max`` (point
    dim) can be fixed so that chunks of a larger batch match a one-piece run exactly."""
    out = _sample(
        problems,
        model,
        keys,
        num_chains=num_chains,
        settings=settings,
        progress=progress,
        length=length,
        device=device,
    )
    spec = fit_spec(model, problems[0].columns, settings, num_chains)
    return to_datatree(out, problems, model, names=list(names), spec=spec, seed=seed, single=False, n_max=n_max)


@renamed(rng_key="seed", n_trials="trials")
def fit(
    data: Any,
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
    num_warmup: int | None = None,
    num_samples: int | None = None,
    num_chains: int | None = None,
    target_accept: float | None = None,
    max_tree_depth: int | None = None,
    dense_mass: bool | None = None,
    batch_mode: str | None = None,
    device: str | None = None,
    progress: bool | None = None,
) -> xr.DataTree:
    """Fit a law to one dataset with NUTS and return the posterior as a DataTree.

    Parameters
    ----------
    data : DataFrame, CSV path or dict of arrays.
    law : law name (see :data:`scaling.models.laws.LAWS`) or :class:`~scaling.models.law.Law`.
    x : input column(s), in the order of ``law.inputs`` (chinchilla: N then D).
    y : observed column (loss, score as a fraction, horizon, ...).
    likelihood : ``lognormal``, ``studentt``, ``normal``, ``beta`` or ``binomial``;
        default: the law's (lognormal for positive laws, beta for logistic).
    priors : overrides by parameter name, e.g. ``{"alpha": Prior("HalfNormal", scale=1)}``.
    law_options : factory options, e.g. ``{"floor": 0.25}`` for logistic.
    trials : item-count column (binomial): the number of items each score is out of.
    dropna : exclude rows with missing values, with a report (default: raise).
    where : row filter (pandas query), e.g. ``"frontier == 1"``; excluded rows are reported.
    units : column units, e.g. ``{"flop": "log10"}``, ``{"compute": "pf-days"}``, ``{"acc": "percent"}``.
    y_err, y_low, y_high, level : each point's known measurement error, as a standard-error column
        (the sd of ``ln y`` for positive laws) or a central interval at ``level`` (e.g. METR's 95%
        ``p50_ci_low``/``p50_ci_high``); added in quadrature to the likelihood's scatter.
    censored : column of censoring codes (``below``, ``above``, ``none``): censored points enter by
        the likelihood's CDF (lognormal, normal, binomial).
    group, pooled : a group column (e.g. ``"family"``) and the law parameters that vary by group
        (names, or a mapping name -> prior of the between-group scale): partial pooling with
        non-centred hierarchical priors; the posterior has ``<param>_group`` on a ``group`` dim.
    date : a release-date column: effective compute ``log10 C + g (t - t0)`` for a compute law
        (see :func:`scaling.models.compute_laws.with_effective_compute`).
    sampler : the NUTS settings, a :class:`~scaling.infer.sampler.Sampler` or a mapping with some of
        its keys (``{"num_samples": 2000}``); default ``Sampler()``: 4 chains of 1000 warm-up steps and
        1000 draws, a dense mass matrix adapted towards a mean acceptance of 0.9, tree depth <= 10.
    seed : an int in [0, 2**32 - 1] or a JAX PRNG key; the same seed gives the same draws.
    num_warmup, num_samples, num_chains, target_accept, max_tree_depth, dense_mass, batch_mode, device, progress :
        shorthand for the :class:`~scaling.infer.sampler.Sampler` fields of the same names: a value
        given replaces that field of ``sampler`` (``fit(..., num_samples=500)``). See the Sampler for
        what each means (``device="auto"`` runs small batches on the CPU, large ones on an accelerator).

    Returns
    -------
    DataTree; ``posterior`` holds the law's parameters, the likelihood's and the
    papers' parameters (see each law's docstring), dims ``(chain, draw)``.

    Examples
    --------
    >>> import numpy as np, scaling
    >>> c = np.logspace(18, 22, 20); loss = 2.0 * (c / 1e18) ** -0.05
    >>> dt = scaling.fit({"c": c, "loss": loss * np.exp(0.01 * np.sin(np.arange(20)))},
    ...                  "power_law", x="c", y="loss", sampler={"num_warmup": 200, "num_samples": 200, "num_chains": 1})
    >>> round(float(dt.posterior["alpha"].mean()), 2)
    0.05
    """
    run = Sampler.of(
        sampler,
        "fit",
        num_warmup=num_warmup,
        num_samples=num_samples,
        num_chains=num_chains,
        target_accept=target_accept,
        max_tree_depth=max_tree_depth,
        dense_mass=dense_mass,
        batch_mode=batch_mode,
        device=device,
        progress=progress,
    )
    settings, n_chains = run.settings(), run.num_chains
    key = seed_key(seed, "fit")
    model, structure = resolve_structure(law, likelihood, priors, law_options, y_err, y_low, censored, pooled, date)
    prepared = prepare(
        data,
        model,
        x=x,
        y=y,
        trials=trials,
        dropna=dropna,
        where=where,
        units=units,
        y_err=y_err,
        y_low=y_low,
        y_high=y_high,
        level=level,
        group=group,
        **structure,
    )
    n_params = len(model.law.params) + len(model.likelihood.params)
    check_draws(settings["num_samples"], n_chains, 1, prepared.n, n_params, "fit")
    if not is_key(seed):  # an int seed: problem 0 of fit_many with that seed
        key = jax.random.fold_in(key, 0)
    out = _sample(
        [prepared], model, key[None], num_chains=n_chains, settings=settings, progress=run.progress, device=run.device
    )
    spec = fit_spec(model, prepared.columns, settings, n_chains)
    return to_datatree(out, [prepared], model, names=["0"], spec=spec, seed=seed_attr(seed), single=True)
