"""The README's examples run as written (from the repository root), its set-up commands are the ones
CI runs, its links point at files that exist, and it stays short enough to read in five minutes."""

import re
import shlex

import typer

from scaling.cli import app

from .conftest import REPO

README = (REPO / "README.md").read_text()
MAX_LINES = 200


def test_readme_python_example_runs(tmp_path, monkeypatch):
    blocks = re.findall(r"```python\n(.*?)```", README, flags=re.S)
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


def test_readme_is_short():
    lines = README.count("\n")
    assert lines <= MAX_LINES, f"README.md has {lines} lines; move detail into docs/ (at most {MAX_LINES})"


def test_setup_commands_are_what_ci_runs():
    commands = re.findall(r"^python3 -m venv .*$", README, flags=re.M)
    assert len(commands) == 2, f"README must give exactly the two set-up commands; found {commands}"
    install_and_run, install_and_test = commands
    assert install_and_run.endswith("scaling run fits/metr_doubling.toml")
    assert (REPO / "fits" / "metr_doubling.toml").is_file()
    ci = (REPO / ".ci" / "run").read_text()
    assert install_and_test in ci.splitlines(), ".ci/run must run the README's test command"


def test_cli_example_names_a_command_and_its_options():
    """The CLI example parses: its command exists and every option it passes is one of that command's."""
    lines = [ln for ln in re.findall(r"```bash\n(.*?)```", README, flags=re.S)[-1].splitlines() if ln.strip()]
    assert len(lines) == 1, "README's CLI example is one command"
    words = shlex.split(lines[0])
    assert words[0].endswith("scaling")
    group = typer.main.get_command(app)
    command = group.commands[words[1]]
    known = {opt for param in command.params for opt in param.opts}
    passed = [w for w in words[2:] if w.startswith("--")]
    assert passed and set(passed) <= known, f"unknown options {set(passed) - known} for `scaling {words[1]}`"


def test_local_links_exist():
    targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", README)
    local = [t for t in targets if "://" not in t]
    assert local, "README links into the docs"
    missing = [t for t in local if not (REPO / t).exists()]
    assert not missing, f"README links to missing files: {missing}"
