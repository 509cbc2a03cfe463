"""Jitted programs kept on disk as exported StableHLO, so that a new process skips tracing them.

JAX's persistent compilation cache (:mod:`scaling.runtime`) stores compiled executables, but a
process finds one only after tracing and lowering the Python function, which gives the cache its
key: for the point fit's L-BFGS program that takes longer (about 0.7 s on 2 cores) than solving a
small fit. :func:`program` also keeps the traced program itself (``jax.export``) in
``<cache dir>/exported``. A later process deserialises it (milliseconds), compiles it through the
persistent cache and runs it without importing the libraries that built it (optax, numpyro).

A file is named by the program's name and a digest of its ``key`` (what the builder closes over,
e.g. a law's spec and the solver's settings), the arguments' tree, shapes and dtypes, the
platform, the versions of jax, jaxlib, numpyro and optax, and the source of this package: a
changed law, setting or library builds a new file. Unreadable files are rebuilt, unwritable
folders only cost the trace; a program ``jax.export`` cannot keep (a host callback), one whose
builder a key does not fully describe (``key=None``: a user-defined law) and every program with
``SCALING_JAX_CACHE=off`` run as plain ``jax.jit``. At most :data:`MAX_FILES` files are kept, the
least recently used going first. On CPU, the first exported program a process
lowers makes JAX set up its LAPACK kernels, which imports ``scipy.linalg`` (0.2 s on 2 cores).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import jax

from .io import atomic_write
from .laws import Law, law_from_spec
from .likelihoods import Likelihood, get_likelihood
from .provenance import canonical_json, versions
from .runtime import cache_dir

log = logging.getLogger(__name__)

#: File suffix of exported programs (``jax.export`` serialisation).
SUFFIX = ".jaxexport"

#: Most exported programs kept (tens of kB each); writing one more removes the least recently used.
MAX_FILES = 2000


def exported_dir() -> Path | None:
    """Where exported programs are kept: ``<cache dir>/exported`` (None when the cache is off)."""
    where = cache_dir()
    return None if where is None else where / "exported"


@cache
def fingerprint() -> str:
    """Digest of the library versions and of this package's source that a traced program depends on."""
    h = hashlib.sha256(canonical_json(versions(("jax", "jaxlib", "numpyro", "optax"))).encode())
    for path in sorted(Path(__file__).parent.glob("*.py")):
        h.update(path.name.encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def _platform(leaves: list[Any]) -> str:
    """The export platform of a call: that of its first JAX array, else of the default device."""
    device = next((next(iter(a.devices())) for a in leaves if isinstance(a, jax.Array)), None)
    if device is None:
        default = jax.config.jax_default_device
        device = default if default is not None and not isinstance(default, str) else jax.devices(default)[0]
    return "cpu" if device.platform == "cpu" else jax.export.default_export_platform()


class Program:
    """A jitted function, traced at most once per machine for each argument signature (see module doc).

    Calling it with arguments of a new signature loads or builds the exported program for that
    signature; later calls in the process reuse it. Safe to call from several threads.
    """

    def __init__(self, name: str, key: str | None, build: Callable[[], Callable[..., Any]]):
        self.name, self.key, self.build = name, key, build
        self._calls: dict[Any, Callable[..., Any]] = {}
        self._lock = threading.Lock()

    def __call__(self, *args: Any) -> Any:
        leaves, tree = jax.tree.flatten(args)
        platform = _platform(leaves)
        signature = (str(tree), tuple(str(jax.typeof(a)) for a in leaves), platform)
        call = self._calls.get(signature)
        if call is None:
            with self._lock:
                call = self._calls.get(signature) or self._load(args, signature, platform)
                self._calls[signature] = call
        return call(*args)

    def path(self, signature: Any) -> Path | None:
        """The file of the program for ``signature`` (None: not kept on disk)."""
        folder = exported_dir()
        if folder is None or self.key is None:
            return None
        digest = hashlib.sha256(repr((self.name, self.key, signature, fingerprint())).encode()).hexdigest()
        return folder / f"{self.name}-{digest[:32]}{SUFFIX}"

    def _load(self, args: tuple[Any, ...], signature: Any, platform: str) -> Callable[..., Any]:
        path = self.path(signature)
        if path is None:
            return jax.jit(self.build())
        exported = None
        try:
            exported = jax.export.deserialize(bytearray(path.read_bytes()))
            with contextlib.suppress(OSError):  # a read-only cache
                path.touch()  # recently used (see MAX_FILES)
        except FileNotFoundError:
            pass
        except Exception as err:  # a truncated or foreign file: build it again
            log.warning("Rebuilding the exported program %s (%s: %s).", path, type(err).__name__, err)
        if exported is None:
            fn = jax.jit(self.build())
            try:
                exported = jax.export.export(fn, platforms=[platform])(*args)
            except Exception as err:  # e.g. a custom call jax.export does not guarantee: run it as it is
                log.warning("Not keeping %s on disk: jax.export failed (%s: %s).", self.name, type(err).__name__, err)
                return fn
            _write(path, exported.serialize())
        # the first process runs the exported program too, so it fills the compilation cache entry later ones hit
        return jax.jit(exported.call)


def _write(path: Path, data: bytes | bytearray) -> None:
    try:
        atomic_write(path, lambda tmp: tmp.write_bytes(data))
        kept = list(path.parent.glob(f"*{SUFFIX}"))
        if len(kept) > MAX_FILES:
            mtimes = {}
            for f in kept:
                try:
                    mtimes[f] = f.stat().st_mtime
                except FileNotFoundError:  # removed by another process meanwhile
                    pass
            for old in sorted(mtimes, key=mtimes.get)[: len(kept) - MAX_FILES]:
                old.unlink(missing_ok=True)
    except OSError as err:  # a read-only cache: the program still runs, later processes trace it again
        log.warning("Could not keep the exported program %s (%s).", path, err)


def model_key(law: Law, likelihood: Likelihood | None = None, **settings: Any) -> str | None:
    """A :func:`program` key for a program built from ``law`` (and ``likelihood``) and ``settings``:
    their specs and the settings as canonical JSON. None when the specs do not rebuild these very
    objects (a user-defined law's function is not described by its spec): nothing is kept on disk."""
    spec: dict[str, Any] = {"law": law.spec(), **settings}
    try:
        same = law_from_spec(spec["law"]) == law
        if likelihood is not None:
            priors = {p.name: p.prior.to_dict() for p in likelihood.params}
            spec["likelihood"] = {"name": likelihood.name, "priors": priors}
            same = same and get_likelihood(likelihood.name, priors) == likelihood
    except ValueError:
        same = False
    return canonical_json(spec) if same else None


def program(name: str, key: str | None, build: Callable[[], Callable[..., Any]]) -> Program:
    """A :class:`Program` named ``name`` (a file-name prefix) that ``build()`` traces when needed.

    ``build`` returns the (pure, jittable) function; ``key`` is a string that, with the argument
    signature, determines the function completely, or None to keep nothing on disk.
    """
    return Program(name, key, build)
