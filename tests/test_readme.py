"""The README's Python example runs as written (from the repository root)."""

import re

from .conftest import REPO


def test_readme_python_example_runs(tmp_path, monkeypatch):
    text = (REPO / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert blocks, "README has no python example"
    monkeypatch.chdir(REPO)
    code = (
        blocks[0]
        .replace('"metr.png"', repr(str(tmp_path / "metr.png")))
        .replace('"metr.nc"', repr(str(tmp_path / "metr.nc")))
    )
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)
    assert (tmp_path / "metr.png").exists() and (tmp_path / "metr.nc").exists()
    assert abs(float(namespace["best"]["point_estimate"]["alpha"]) - 0.3473) < 0.002
    assert 150 < float(namespace["dt"].posterior["doubling_time_days"].median()) < 260
