"""Process-wide JAX settings: ``import scaling`` changes none; ``enable_compilation_cache`` (the CLI
calls it) turns JAX's persistent cache on through its public config; no private JAX anywhere."""

import json
import os
import re
import subprocess
import sys

import pytest

from .conftest import REPO

PROBE = """
import json, jax, scaling
BEFORE = jax.config.jax_compilation_cache_dir
CALL
import jax.numpy as jnp
jax.jit(lambda v: jnp.sin(v) * 3.0 + 1.0)(jnp.ones(5)).block_until_ready()
c = jax.config
print(json.dumps({"before": BEFORE, "dir": c.jax_compilation_cache_dir,
                  "min_s": c.jax_persistent_cache_min_compile_time_secs}))
"""


def probe(call: bool, **env) -> dict:
    """Settings seen in a new process that imports scaling (and calls enable_compilation_cache)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("JAX_COMPILATION", "JAX_PERSISTENT"))}
    code = PROBE.replace("CALL", "scaling.enable_compilation_cache()" if call else "")
    proc = subprocess.run(
        [sys.executable, "-c", code], env={**clean, **env}, cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_import_changes_no_jax_setting(tmp_path):
    got = probe(False, SCALING_JAX_CACHE=str(tmp_path / "cache"))
    assert got["dir"] is None and got["before"] is None
    assert not (tmp_path / "cache").exists()


def test_enable_compilation_cache_keeps_every_program(tmp_path):
    where = tmp_path / "cache"
    got = probe(True, SCALING_JAX_CACHE=str(where))
    assert got["dir"] == str(where) and got["min_s"] == 0.0
    assert any(p.name.endswith("-cache") for p in where.iterdir())  # even a tiny program is written


def test_cache_off_and_user_settings_win(tmp_path):
    assert probe(True, SCALING_JAX_CACHE="off")["dir"] is None
    mine = tmp_path / "mine"
    got = probe(True, SCALING_JAX_CACHE=str(tmp_path / "ours"), JAX_COMPILATION_CACHE_DIR=str(mine))
    assert got["dir"] == str(mine) and not (tmp_path / "ours").exists()


PRIVATE = re.compile(r"jax\._src|\._run_exitfuncs|os\._exit|\bfrom jax\.\w+ import _|\._device_assignment")


@pytest.mark.parametrize("path", sorted((REPO / "scaling").rglob("*.py")), ids=lambda p: p.name)
def test_no_private_library_attributes(path):
    hits = [
        f"{path.name}:{i}: {line.strip()}"
        for i, line in enumerate(path.read_text().splitlines(), 1)
        if PRIVATE.search(line)
    ]
    assert not hits, hits
