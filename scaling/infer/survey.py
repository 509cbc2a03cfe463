"""Survey-scale fits: :func:`fit_survey` is :func:`~scaling.fit_many` in chunks that survive a kill,
on this machine or on a Ray cluster.

The validated problems are cut into chunks of ``chunk_size``; each chunk is one call of the
compiled batched sampler (:func:`scaling.infer.bayes.fit_prepared`),
run in this process (``"local"``, on every local device) or as a Ray task that
asks for one GPU where the cluster has them, else one CPU. Every chunk is padded
to the batch's common length and keeps its problems' own PRNG keys, and with
``device="auto"`` the device is decided once for the whole job (locally by its total
runs, as a one-piece call decides; on Ray, the tasks' GPUs where the cluster has them),
so the gathered result equals a one-piece run on that device with the same keys, in
the same layout (problems in input order).

Nothing is lost at scale. With ``out_dir``:

* ``out_dir/job.json`` identifies the job (law, likelihood, settings, seed, chunking
  and the sha256 of every problem's data);
* each finished chunk is saved as ``out_dir/chunks/NNNNN.nc`` (atomically) as soon
  as it completes;
* ``resume=True`` continues a killed job: saved chunks are loaded, not refitted; a
  folder that holds a *different* job is refused;
* a failing chunk is retried ``retries`` times, then reported (``failed.json`` and
  the result's ``failed`` attribute) while the other chunks finish; a dataset that
  fails validation is reported the same way instead of stopping the batch;
* the gathered result is written to ``out_dir/fit.nc``.

Ray is an optional dependency (``pip install scaling[ray]``), imported only when
``backend="ray"``. On a cluster every node needs ``scaling`` installed.
"""

from __future__ import annotations

import json
import math
import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr

from scaling import io
from scaling.checks import check_int
from scaling.data.preparation import Prepared, prepare
from scaling.deprecation import renamed
from scaling.errors import DataError, ScalingError
from scaling.infer import devices
from scaling.infer.batching import batch_inputs, fit_spec, pad_length, progress_bar
from scaling.infer.bayes import fit_prepared
from scaling.infer.sampler import Sampler
from scaling.models.law import Law
from scaling.models.model import Model
from scaling.provenance import canonical_json, root_attrs, spec_id

BACKENDS = ("local", "ray")


def run_chunk(
    problems: Sequence[Prepared],
    names: Sequence[str],
    key_data: np.ndarray,
    model: Model,
    settings: dict[str, Any],
    num_chains: int,
    seed: int | str,
    length: int,
    n_max: int,
    device: str = "auto",
) -> xr.DataTree:
    """Fit one chunk (the function a Ray task runs): ``fit_many``'s layout over its problems."""
    keys = jax.random.wrap_key_data(jnp.asarray(key_data))
    return fit_prepared(
        problems,
        names,
        model,
        keys,
        settings=settings,
        num_chains=num_chains,
        seed=seed,
        length=length,
        n_max=n_max,
        device=device,
    )


def combine(parts: Sequence[xr.DataTree], attrs: dict[str, Any]) -> xr.DataTree:
    """Concatenate chunk results along ``problem`` (in the given order)."""
    groups = {
        name: xr.concat(
            [p[name].to_dataset() for p in parts],
            dim="problem",
            data_vars="all",
            coords="minimal",
            compat="override",
            join="exact",
            combine_attrs="override",
        )
        for name in parts[0].children
    }
    tree = xr.DataTree.from_dict(groups)
    tree.attrs.update(attrs)
    return tree


@renamed(keys="seed", n_trials="trials")
def fit_survey(
    datasets: Mapping[str, Any] | Sequence[Any],
    law: str | Law | Model,
    *,
    x: str | Sequence[str],
    y: str,
    backend: str = "local",
    chunk_size: int | None = None,
    out_dir: str | os.PathLike | None = None,
    resume: bool = False,
    retries: int = 1,
    address: str | None = None,
    progress: bool | None = None,
    sampler: Sampler | Mapping[str, Any] | None = None,
    seed: Any = 0,
    **kwargs: Any,
) -> xr.DataTree:
    """:func:`scaling.fit_many` at survey scale: problems in chunks, each saved as it finishes,
    resumable after a kill, on this machine or on a Ray cluster (see the module docstring).

    Parameters
    ----------
    datasets, law, x, y, sampler, seed, **kwargs : as in :func:`scaling.fit_many`.
    backend : ``"local"`` (this process, every local device) or ``"ray"`` (chunks as Ray
        tasks on a cluster; ``pip install scaling[ray]``).
    chunk_size : problems per chunk (default about an eighth of them, at most 256).
    out_dir : folder where each finished chunk is saved as it completes (and the gathered ``fit.nc``).
    resume : continue a killed job in ``out_dir`` without refitting its saved chunks.
    retries : a failing chunk is retried this many times, then reported in the result's ``failed``
        attribute while the others finish; a dataset that fails validation is reported the same way.
    address : the Ray cluster's address (default: a local instance).
    progress : a progress bar counting the chunks (default: when stderr is a terminal).

    Notes
    -----
    ``device="auto"`` (of ``sampler``) is decided once for the whole job: locally by its total runs,
    so every chunk runs where a one-piece call would and gives the same draws; on Ray, on the
    tasks' GPUs where the cluster has them.
    """
    b = batch_inputs(datasets, law, x=x, y=y, sampler=sampler, seed=seed, caller="fit_survey", **kwargs)
    items, model, prep, keys = b["items"], b["model"], b["prep"], b["keys"]
    settings, num_chains, seed, device = b["settings"], b["num_chains"], b["seed"], b["device"]
    if backend not in BACKENDS:
        raise ScalingError(f"The 'backend' parameter of fit_survey must be one of {BACKENDS}. Got {backend!r} instead.")
    if chunk_size is not None:
        chunk_size = check_int("chunk_size", chunk_size, 1, "fit_survey")
    retries = check_int("retries", retries, 0, "fit_survey")
    if resume and out_dir is None:
        raise ScalingError("resume=True needs out_dir: the folder of the job to continue.")
    names = [str(k) for k, _ in items]
    key_data = np.asarray(jax.random.key_data(keys))
    problems, index, failed = [], [], []
    for i, (name, data) in enumerate(items):
        try:
            problems.append(prepare(data, model, **prep))
            index.append(i)
        except DataError as e:
            failed.append({"problems": [name], "error": f"invalid data in dataset {name!r}: {e}"})
    if not problems:
        raise DataError("fit_survey: no dataset passed validation:\n" + "\n".join(f["error"] for f in failed[:10]))
    size = chunk_size or min(256, max(1, math.ceil(len(problems) / 8)))
    length, n_max = pad_length(max(p.n for p in problems)), max(p.n for p in problems)
    spec = fit_spec(model, problems[0].columns, settings, num_chains)
    chunks = [list(range(s, min(s + size, len(problems)))) for s in range(0, len(problems), size)]
    job = {
        "spec": spec,
        "seed": seed,
        "chunk_size": size,
        "problems": [names[i] for i in index],
        "data_sha256": [p.sha256() for p in problems],
        "keys": key_data[index].tolist(),
    }
    store = _Store(Path(out_dir), spec_id(job), resume) if out_dir is not None else None

    def args(c: list[int]) -> tuple[Any, ...]:
        rows = [index[j] for j in c]
        return ([problems[j] for j in c], [names[i] for i in rows], key_data[rows], model, settings, num_chains, seed)

    results: dict[int, xr.DataTree] = {}
    todo = []
    for k in range(len(chunks)):
        saved = store.load(k) if store is not None else None
        if saved is not None:
            results[k] = saved
        else:
            todo.append(k)
    bar, advance = progress_bar(len(chunks), progress, f"fit_survey ({backend})", unit="chunks")
    if bar is not None:
        bar.start()
        advance(len(chunks) - len(todo))

    def done(k: int, tree: xr.DataTree | None, error: BaseException | None) -> None:
        if tree is not None:
            results[k] = tree
            if store is not None:
                store.save(k, tree)
        else:
            failed.append(
                {"problems": [names[index[j]] for j in chunks[k]], "error": f"{type(error).__name__}: {error}"}
            )
        if advance is not None:
            advance(1)

    tasks = [(k, (*args(chunks[k]), length, n_max)) for k in todo]
    try:
        if backend == "ray":
            _run_ray(tasks, done, device, retries=retries, address=address)
        else:  # device="auto" decided once, for the job's runs: every chunk runs where one piece would
            if device == "auto":
                device = "cpu" if devices.platform(len(problems) * num_chains) == "cpu" else "accelerator"
            _run_local(tasks, done, device, retries=retries)
    finally:
        if bar is not None:
            bar.stop()
    if store is not None:
        store.report(failed)
    if not results:
        raise ScalingError("fit_survey: every chunk failed:\n" + "\n".join(f["error"] for f in failed[:10]))
    kept = [j for k in sorted(results) for j in chunks[k]]
    attrs = root_attrs(spec, [problems[j] for j in kept], seed, single=False)
    attrs["failed"] = canonical_json(failed)
    tree = combine([results[k] for k in sorted(results)], attrs)
    if failed:
        lost = sum(len(f["problems"]) for f in failed)
        warnings.warn(
            f"fit_survey: {lost} of {len(items)} problems failed and are not in the result "
            f"(see the 'failed' attribute{' and ' + str(store.root / 'failed.json') if store else ''}): "
            + "; ".join(f"{', '.join(f['problems'][:3])}: {f['error'][:200]}" for f in failed[:3]),
            UserWarning,
            stacklevel=3,
        )
    if store is not None:
        io.save(tree, store.root / "fit.nc")
    return tree


def _run_local(tasks: list[tuple[int, tuple]], done: Callable, device: str, *, retries: int) -> None:
    for k, a in tasks:
        for attempt in range(retries + 1):
            try:
                tree = run_chunk(*a, device)
            except Exception as e:  # reported with the chunk's problems; the other chunks go on
                if attempt == retries:
                    done(k, None, e)
            else:
                done(k, tree, None)
                break


def _run_ray(tasks: list[tuple[int, tuple]], done: Callable, device: str, *, retries: int, address: str | None) -> None:
    try:
        import ray
    except ImportError:
        raise ImportError("backend='ray' needs Ray: pip install 'scaling[ray]'.") from None
    if not ray.is_initialized():
        ray.init(address=address, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    gpu = ray.cluster_resources().get("GPU", 0) >= 1
    resources = {"num_gpus": 1} if gpu else {"num_cpus": 1}
    if device == "auto":  # every chunk on its task's GPU where the cluster has them, else on its CPU
        device = "accelerator" if gpu else "cpu"
    env = {"JAX_NUM_CPU_DEVICES": "1"}  # one CPU per task: its sampler uses one device
    for var in ("JAX_COMPILATION_CACHE_DIR", "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "SCALING_DATA_DIR"):
        if var in os.environ:
            env[var] = os.environ[var]
    remote = ray.remote(run_chunk).options(
        **resources, max_retries=retries, retry_exceptions=True, runtime_env={"env_vars": env}
    )
    pending = {remote.remote(*a, device): k for k, a in tasks}
    while pending:
        ready, _ = ray.wait(list(pending), num_returns=1)
        for ref in ready:
            k = pending.pop(ref)
            try:
                tree = ray.get(ref)
            except Exception as e:  # RayTaskError wraps the chunk's own exception after the retries
                done(k, None, getattr(e, "cause", None) or e)
            else:
                done(k, tree, None)


class _Store:
    """The output folder of a chunked job: job.json, chunks/NNNNN.nc, failed.json, fit.nc."""

    def __init__(self, root: Path, job_id: str, resume: bool) -> None:
        self.root = root
        self.chunks = root / "chunks"
        job_file = root / "job.json"
        if job_file.exists():
            previous = json.loads(job_file.read_text()).get("job_id")
            if not resume:
                raise ScalingError(
                    f"{root} already holds a fit_many job ({previous}); pass resume=True (--resume) to continue it, "
                    "or choose another out_dir."
                )
            if previous != job_id:
                raise ScalingError(
                    f"{root} holds a different job ({previous}, not {job_id}: other data, law, settings or "
                    "chunking); resume it with the same inputs or choose another out_dir."
                )
        else:  # a new job: only into a new, empty or marked folder (never among a user's files)
            io.results_dir(root, "survey", "out_dir")
        self.chunks.mkdir(parents=True, exist_ok=True)
        io.atomic_write(job_file, lambda tmp: tmp.write_text(json.dumps({"job_id": job_id}, indent=2)))

    def path(self, k: int) -> Path:
        return self.chunks / f"{k:05d}.nc"

    def load(self, k: int) -> xr.DataTree | None:
        p = self.path(k)
        return io.load(p) if p.exists() else None

    def save(self, k: int, tree: xr.DataTree) -> None:
        io.save(tree, self.path(k))

    def report(self, failed: list[dict[str, Any]]) -> None:
        io.atomic_write(self.root / "failed.json", lambda tmp: tmp.write_text(json.dumps(failed, indent=2)))
