"""Process-wide JAX settings made by ``import scaling``: the persistent compilation cache."""

import json
import os
import subprocess
import sys

import pytest

from .conftest import REPO

PROBE = """
import json
IMPORTS
import jax.numpy as jnp
jax.jit(lambda v: jnp.sin(v) * 3.0 + 1.0)(jnp.ones(5)).block_until_ready()
c = jax.config
print(json.dumps({"dir": c.jax_compilation_cache_dir, "min_s": c.jax_persistent_cache_min_compile_time_secs,
                  "max": c.jax_compilation_cache_max_size}))
"""


def probe(tmp_path, first: str = "scaling", **env) -> dict:
    """Settings seen in a new process that imports ``first`` (scaling or jax) before the other."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("JAX_COMPILATION", "JAX_PERSISTENT"))}
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            PROBE.replace("IMPORTS", "import scaling, jax" if first == "scaling" else "import jax, scaling"),
        ],
        env={**clean, **env},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("first", ["scaling", "jax"])
def test_import_turns_the_cache_on_for_every_program(tmp_path, first):
    where = tmp_path / "cache"
    got = probe(tmp_path, first, SCALING_JAX_CACHE=str(where))
    assert got == {"dir": str(where), "min_s": 0.0, "max": 2 * 2**30}
    assert any(p.name.endswith("-cache") for p in where.iterdir())  # even a tiny program is written


def test_cache_off_and_user_settings_win(tmp_path):
    assert probe(tmp_path, SCALING_JAX_CACHE="off")["dir"] is None
    mine = tmp_path / "mine"
    got = probe(tmp_path, SCALING_JAX_CACHE=str(tmp_path / "ours"), JAX_COMPILATION_CACHE_DIR=str(mine))
    assert got["dir"] == str(mine) and not (tmp_path / "ours").exists()
