"""Jitted programs kept on disk, so that a new process neither traces nor compiles them again.

JAX's persistent compilation cache (:mod:`scaling.runtime`) stores compiled executables, but a
process finds one only after tracing and lowering the Python function, which gives the cache its
key: for the point fit's L-BFGS program that takes longer (about 0.7 s on 2 cores) than solving a
small fit, and for the NUTS sampler over a second. :func:`program` keeps two files per program in
``<cache dir>/programs``:

* the traced program (``jax.export`` StableHLO, ``.jaxexport``), for each argument signature and
  platform;
* the executable XLA compiled from it (``jax.experimental.serialize_executable``, ``.jaxexe``),
  for each signature and placement (the devices the arguments are on, or the default device).

A later process loads the executable (milliseconds) and runs it without importing the libraries
that built the program (optax, numpyro) and, on CPU, without JAX's LAPACK set-up (which imports
``scipy.linalg``, 0.2 s). On a device it has no executable for, it compiles the exported program
(through the persistent cache) instead of tracing it. :func:`executable_path`,
:func:`load_executables` and :func:`keep_executables` do the same for programs compiled elsewhere
(the NUTS engine's).

A file is named by the program's name and a digest of its ``key`` (what the builder closes over,
e.g. a law's spec and the solver's settings), the arguments' tree, shapes and dtypes, the platform
(and for executables the devices, the machine's XLA topology and ``XLA_FLAGS``), the versions of
jax, jaxlib, numpyro and optax, and the source of this package: a changed law, setting, library or
machine builds a new file. Unreadable files are rebuilt, unwritable folders only cost the trace; a
program ``jax.export`` cannot keep (a host callback), one whose builder a key does not fully
describe (``key=None``: a user-defined law) and every program with ``SCALING_JAX_CACHE=off`` run as
plain ``jax.jit``. At most :data:`MAX_FILES` files of each kind are kept, the least recently used
going first. Executables are machine code: like JAX's compilation cache, the folder is meant for
one machine (or identical ones); never load one from an untrusted source.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import pickle
import threading
from collections.abc import Callable, Iterator, Sequence
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
EXPORT_SUFFIX = ".jaxexport"

#: File suffix of compiled executables (``jax.experimental.serialize_executable``).
EXECUTABLE_SUFFIX = ".jaxexe"

#: Most files of each kind kept (exported: tens of kB; executables: 0.05-5 MB); writing one more
#: removes the least recently used.
MAX_FILES = 2000


def programs_dir() -> Path | None:
    """Where programs are kept: ``<cache dir>/programs`` (None when the cache is off)."""
    where = cache_dir()
    return None if where is None else where / "programs"


@cache
def fingerprint() -> str:
    """Digest of the library versions and of this package's source that a traced program depends on."""
    h = hashlib.sha256(canonical_json(versions(("jax", "jaxlib", "numpyro", "optax"))).encode())
    for path in sorted(Path(__file__).parent.glob("*.py")):
        h.update(path.name.encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


@cache
def _machine(platform: str) -> str:
    """What an executable compiled for ``platform`` depends on beyond the program: the devices' XLA
    topology (CPU features, GPU model), the runtime version and ``XLA_FLAGS``."""
    devices = jax.devices(platform)
    try:
        from jax._src.lib import xla_client

        topology: Any = xla_client.get_topology_for_devices(devices).fingerprint()
    except Exception:  # a backend without a topology description
        topology = [d.device_kind for d in devices]
    first = devices[0]
    return repr((topology, first.device_kind, first.client.platform_version, os.environ.get("XLA_FLAGS", "")))


def _default_device() -> Any:
    default = jax.config.jax_default_device
    return default if default is not None and not isinstance(default, str) else jax.devices(default)[0]


def _placement(leaves: list[Any]) -> tuple[str, Any, tuple[Any, ...]]:
    """Where a call runs: ``(export platform, first device, placement)``, the placement naming the
    committed arguments' shardings and devices and the default device (where the others go)."""
    committed = [(i, a.sharding) for i, a in enumerate(leaves) if isinstance(a, jax.Array) and a.committed]
    default = _default_device()
    first = committed[0][1]._device_assignment[0] if committed else default
    placement = tuple((i, repr(s), tuple(d.id for d in s._device_assignment)) for i, s in committed)
    platform = "cpu" if first.platform == "cpu" else jax.export.default_export_platform()
    return platform, first, (placement, default.platform, default.id)


def _digest_path(suffix: str, name: str, key: str | None, *parts: Any) -> Path | None:
    folder = programs_dir()
    if folder is None or key is None:
        return None
    digest = hashlib.sha256(repr((name, key, parts, fingerprint())).encode()).hexdigest()
    return folder / f"{name}-{digest[:32]}{suffix}"


def executable_path(name: str, key: str | None, signature: Any, device: Any) -> Path | None:
    """The file of the executables ``name`` compiled from the programs ``key`` describes, for the
    arguments ``signature`` (their trees, shapes, dtypes and placement) on ``device``; None when
    nothing is kept (no key, or the cache is off)."""
    return _digest_path(EXECUTABLE_SUFFIX, name, key, signature, device.platform, _machine(device.platform))


def load_executables(path: Path | None) -> list[jax.stages.Compiled] | None:
    """The executables kept in ``path``, loaded and ready to call; None when there is no such file
    or it cannot be loaded (it is then rebuilt by the caller)."""
    if path is None:
        return None
    try:
        raw = path.read_bytes()
    except OSError:
        return None
    try:
        from jax.experimental.serialize_executable import deserialize_and_load

        loaded = []
        for payload, in_tree, out_tree, platform, ids, lapack in pickle.loads(raw):
            if lapack:
                _initialize_lapack()
            devices = {d.id: d for d in jax.devices(platform)}
            on = [devices[i] for i in ids]
            loaded.append(deserialize_and_load(payload, in_tree, out_tree, on[0].client, on))
    except Exception as err:  # a truncated or foreign file: the caller compiles again
        log.warning("Rebuilding the executable %s (%s: %s).", path, type(err).__name__, err)
        return None
    with contextlib.suppress(OSError):  # a read-only cache
        path.touch()  # recently used (see MAX_FILES)
    return loaded


def _initialize_lapack() -> None:
    """Set up JAX's CPU LAPACK kernels (from ``scipy.linalg``), as lowering a linear-algebra op
    does: an executable that calls them and was loaded without lowering anything would otherwise
    call unset kernels (a crash)."""
    try:
        from jax._src.lax.linalg import initialize_lapack
    except ImportError:  # another JAX layout: lowering any LAPACK op does it too
        import jax.numpy as jnp

        jax.jit(jnp.linalg.cholesky).lower(jax.ShapeDtypeStruct((2, 2), "float32"))
    else:
        initialize_lapack()


def keep_executables(path: Path | None, compiled: Sequence[jax.stages.Compiled]) -> None:
    """Write ``compiled`` (compiled under :func:`fresh_compiles`) to ``path`` (see
    :func:`load_executables`); a backend that cannot serialise its executables only costs later
    processes the compile."""
    if path is None:
        return
    try:
        from jax.experimental.serialize_executable import serialize

        entries = []
        for c in compiled:
            devices = c.runtime_executable().local_devices()  # what it runs on, in order
            lapack = devices[0].platform == "cpu" and "lapack_" in c.as_text()
            entries.append((*serialize(c), devices[0].platform, [d.id for d in devices], lapack))
        data = pickle.dumps(entries, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as err:
        log.info("Not keeping the executable %s (%s: %s).", path.name, type(err).__name__, err)
        return
    _write(path, data)


_FRESH_LOCK = threading.Lock()
_fresh = {"open": 0, "saved": True}  # blocks open (nested or in other threads) and the flag they overrode


@contextlib.contextmanager
def fresh_compiles() -> Iterator[bool]:
    """Compiles inside the block bypass JAX's persistent compilation cache; yields whether they do.

    An executable that cache returns cannot be serialised again (XLA:CPU then leaves its kernels
    out: "Function ... not found" when the copy runs), so the executables kept here are compiled
    afresh. While a block is open, other threads' compiles skip that cache too (they only take
    longer). Yields False, and bypasses nothing, when this JAX lacks the switch used here: the
    caller then keeps nothing.
    """
    from jax._src import compilation_cache as cc

    able = hasattr(cc, "_cache_used") and hasattr(cc, "_cache_checked")
    if able:
        with _FRESH_LOCK:
            if _fresh["open"] == 0:
                cc.is_cache_used(jax.devices()[0].client)  # settle the flag before overriding it
                _fresh["saved"], cc._cache_used = cc._cache_used, False
            _fresh["open"] += 1
    try:
        yield able
    finally:
        if able:
            with _FRESH_LOCK:
                _fresh["open"] -= 1
                if _fresh["open"] == 0:
                    cc._cache_used = _fresh["saved"]


class Checked:
    """An executable loaded from ``path``, run once under watch: if its first run fails in the
    runtime (a file that loads but cannot run here), the file is removed and ``rebuild(*args)``
    compiles the program again, which then runs."""

    def __init__(self, call: Callable[..., Any], path: Path, rebuild: Callable[..., Callable[..., Any]]):
        self._call, self._path, self._rebuild = call, path, rebuild
        self._proven = False

    def __call__(self, *args: Any) -> Any:
        if self._proven:
            return self._call(*args)
        try:
            out = jax.block_until_ready(self._call(*args))
        except jax.errors.JaxRuntimeError as err:
            log.warning("Rebuilding the executable %s (%s).", self._path, err)
            self._path.unlink(missing_ok=True)
            self._call = self._rebuild(*args)
            out = self._call(*args)
        self._proven = True
        return out


class Program:
    """A jitted function, traced at most once per machine for each argument signature and compiled
    at most once per placement (see module doc).

    Calling it with arguments of a new signature or placement loads or builds that executable; later
    calls in the process reuse it. Safe to call from several threads.
    """

    def __init__(self, name: str, key: str | None, build: Callable[[], Callable[..., Any]]):
        self.name, self.key, self.build = name, key, build
        self._calls: dict[Any, Callable[..., Any]] = {}
        self._plain: Callable[..., Any] | None = None  # jax.jit(build()), where nothing is kept
        self._lock = threading.Lock()

    def __call__(self, *args: Any) -> Any:
        leaves, tree = jax.tree.flatten(args)
        platform, device, placement = _placement(leaves)
        signature = (str(tree), tuple(str(jax.typeof(a)) for a in leaves), platform)
        call = self._calls.get((signature, placement))
        if call is None:
            with self._lock:
                call = self._calls.get((signature, placement)) or self._load(args, signature, device, placement)
                self._calls[signature, placement] = call
        return call(*args)

    def path(self, signature: Any) -> Path | None:
        """The file of the exported program for ``signature`` (None: not kept on disk)."""
        return _digest_path(EXPORT_SUFFIX, self.name, self.key, signature)

    def _load(self, args: tuple[Any, ...], signature: Any, device: Any, placement: Any) -> Callable[..., Any]:
        exe_path = executable_path(self.name, self.key, (signature, placement), device)
        if exe_path is None:
            return self._jitted()
        if (loaded := load_executables(exe_path)) is not None:
            return Checked(loaded[0], exe_path, lambda *a: self._compile(a, signature, exe_path))
        return self._compile(args, signature, exe_path)

    def _compile(self, args: tuple[Any, ...], signature: Any, exe_path: Path) -> Callable[..., Any]:
        exported = self._exported(args, signature)
        if not isinstance(exported, jax.export.Exported):
            return exported  # jax.export failed: the plain jitted function
        with fresh_compiles() as fresh:
            compiled = jax.jit(exported.call).lower(*args).compile()
        if fresh:
            keep_executables(exe_path, [compiled])
        return compiled

    def _jitted(self) -> Callable[..., Any]:
        """The function built and jitted once for every signature and placement (jit traces a new
        signature itself), for programs not kept on disk."""
        if self._plain is None:
            self._plain = jax.jit(self.build())
        return self._plain

    def _exported(self, args: tuple[Any, ...], signature: Any) -> Any:
        """The exported program for ``signature``, loaded or traced (and kept); the jitted function
        itself when ``jax.export`` cannot keep it."""
        path = self.path(signature)
        assert path is not None
        try:
            exported = jax.export.deserialize(bytearray(path.read_bytes()))
            with contextlib.suppress(OSError):  # a read-only cache
                path.touch()
            return exported
        except FileNotFoundError:
            pass
        except Exception as err:  # a truncated or foreign file: build it again
            log.warning("Rebuilding the exported program %s (%s: %s).", path, type(err).__name__, err)
        fn = self._jitted()
        try:
            exported = jax.export.export(fn, platforms=[signature[-1]])(*args)
        except Exception as err:  # e.g. a custom call jax.export does not guarantee: run it as it is
            log.warning("Not keeping %s on disk: jax.export failed (%s: %s).", self.name, type(err).__name__, err)
            return fn
        _write(path, exported.serialize())
        return exported


def _write(path: Path, data: bytes | bytearray) -> None:
    try:
        atomic_write(path, lambda tmp: tmp.write_bytes(data))
        kept = list(path.parent.glob(f"*{path.suffix}"))
        if len(kept) > MAX_FILES:
            mtimes = {}
            for f in kept:
                try:
                    mtimes[f] = f.stat().st_mtime
                except FileNotFoundError:  # removed by another process meanwhile
                    pass
            for old in sorted(mtimes, key=mtimes.get)[: len(kept) - MAX_FILES]:
                old.unlink(missing_ok=True)
    except OSError as err:  # a read-only cache: the program still runs, later processes build it again
        log.warning("Could not keep the program %s (%s).", path, err)


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
