"""One vocabulary (docs/guide/vocabulary.md): no public signature uses a name retired in 0.3.0, and
every retired name still works for one release, with a DeprecationWarning naming the new one."""

from __future__ import annotations

import importlib
import inspect
import re
import warnings
from pathlib import Path

import jax
import numpy as np
import pytest
from typer.testing import CliRunner

import scaling
from scaling.cli import app
from scaling.errors import ScalingError

ROOT = Path(__file__).resolve().parents[1]
SUBPACKAGES = ("models", "data", "infer", "analysis", "planning", "plots", "studies")

#: Names of 0.2 that no public signature may use (each has one new name: docs/guide/vocabulary.md).
RETIRED = {
    "rng_key": "seed",
    "keys": "seed",
    "fit_kwargs": "sampler",
    "n_starts": "num_starts",
    "n_bootstrap": "num_bootstrap",
    "n_grid": "num_grid",
    "n_grid_per_year": "num_grid_per_year",
    "n_trials": "trials",
    "n_paths": "num_paths",
    "n_generations": "num_generations",
    "cutoff": "cutoffs",
    "options": "law_options",
    "warmup": "num_warmup",
    "samples": "num_samples",
    "chains": "num_chains",
}
#: (function, parameter) pairs that keep a retired word on purpose, with the reason.
EXEMPT = {
    # one cutoff date of a capability check (scaling.analysis.capability_checks), not backtest's list
    ("leave_future_out", "cutoff"): "a single leave-future-out date",
}


def public_functions() -> dict[str, object]:
    """Every public function by its qualified name: ``scaling.__all__`` and each subpackage's."""
    modules = [scaling, scaling.datasets] + [importlib.import_module(f"scaling.{s}") for s in SUBPACKAGES]
    out = {}
    for module in modules:
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isfunction(obj) and not hasattr(obj, "__deprecated_alias_of__"):
                out[f"{module.__name__}.{name}"] = obj
    return out


FUNCTIONS = public_functions()


def test_walk_finds_the_api():
    assert {"scaling.fit", "scaling.forecast", "scaling.backtest", "scaling.run_plan", "scaling.returns"} <= set(
        FUNCTIONS
    )
    assert len(FUNCTIONS) > 60


@pytest.mark.parametrize("qualname", sorted(FUNCTIONS))
def test_signature_uses_no_retired_name(qualname):
    func = FUNCTIONS[qualname]
    short = qualname.rsplit(".", 1)[1]
    for name, param in inspect.signature(func).parameters.items():
        if (short, name) in EXEMPT:
            continue
        assert name not in RETIRED, f"{qualname}: parameter {name!r} is retired; call it {RETIRED[name]!r}"
        if param.kind is not param.VAR_KEYWORD:
            assert not re.fullmatch(r"n_\w+", name), f"{qualname}: a count is named num_*, not {name!r}"


@pytest.mark.parametrize("qualname", sorted(q for q, f in FUNCTIONS.items() if hasattr(f, "__deprecated_keywords__")))
def test_deprecated_keywords_name_a_new_parameter(qualname):
    """Each retired keyword a function still accepts maps to a parameter it has, and is in the docs table."""
    func = FUNCTIONS[qualname]
    params = inspect.signature(func).parameters
    table = (ROOT / "docs" / "guide" / "vocabulary.md").read_text()
    forwards = any(p.kind is p.VAR_KEYWORD for p in params.values())  # fit_many: **kwargs of fit
    for old, spec in func.__deprecated_keywords__.items():
        new = spec if isinstance(spec, str) else spec[0]
        assert old not in params and (new in params or forwards), (qualname, old, new)
        assert f"`{old}=`" in table or f"`{old}`" in table, f"{old} is missing from docs/guide/vocabulary.md"


def test_sampler_of_mapping_sampler_and_errors():
    s = scaling.Sampler.of({"num_samples": 200})
    assert s == scaling.Sampler(num_samples=200) and scaling.Sampler.of(s) is not None
    assert scaling.Sampler.of(s, num_chains=2).num_chains == 2 and scaling.Sampler.of(None) == scaling.Sampler()
    assert s.settings()["num_samples"] == 200 and "num_chains" not in s.settings()
    with pytest.raises(ScalingError, match="unknown sampler setting.*seed is not a sampler setting"):
        scaling.Sampler.of({"seed": 1}, "forecast")
    with pytest.raises(ScalingError, match="The 'num_warmup' parameter of fit must be an int"):
        scaling.Sampler.of({"num_warmup": 0}, "fit")
    with pytest.raises(ScalingError, match="must be in \\(0, 1\\)"):
        scaling.Sampler(target_accept=1.5)
    with pytest.raises(ScalingError, match="must be a scaling.Sampler or a mapping"):
        scaling.Sampler.of([1, 2], "fit")


def _warns(old: str, new: str):
    return pytest.warns(
        DeprecationWarning, match=rf"'{re.escape(old)}' is deprecated since 0\.3\.0.*'{re.escape(new)}'"
    )


def test_retired_keywords_of_cheap_functions_warn_and_work():
    from scaling.planning import generation_pnl, path_scatter

    with _warns("options", "law_options"):
        old = scaling.resolve("logistic", options={"floor": 0.25})
    assert old == scaling.resolve("logistic", law_options={"floor": 0.25})
    with _warns("n_paths", "num_paths"):
        a = path_scatter(n_paths=3, years=[2026.0, 2027.0], seed=1)
    np.testing.assert_array_equal(a[0], path_scatter(3, [2026.0, 2027.0], seed=1)[0])
    draws, years = np.full((20, 8), 1e10), np.arange(2026.0, 2034.0)
    with _warns("n_generations", "num_generations"):
        old = generation_pnl(draws, years, first_year=2026.0, n_generations=2)
    assert old.equals(generation_pnl(draws, years, first_year=2026.0, num_generations=2))
    with pytest.raises(ScalingError, match="give 'num_paths' only"):
        path_scatter(3, [2026.0], n_paths=3)


def test_renamed_functions_warn_and_work():
    revenue = np.linspace(1e9, 3e9, 500)
    with _warns("plan", "plan_year"):
        old = scaling.planning.plan(revenue, year=2028)
    assert old.affordable_commitment == scaling.planning.plan_year(revenue, year=2028).affordable_commitment
    with _warns("cache_dir", "download_cache_dir"):
        assert scaling.datasets.cache_dir() == scaling.datasets.download_cache_dir()


def test_retired_trials_and_cutoff_and_fit_kwargs():
    df = {"flop": np.logspace(20, 24, 12), "loss": 3.0 * np.logspace(20, 24, 12) ** -0.05}
    counts = {"flop": np.logspace(20, 23, 6), "score": [0.3, 0.4, 0.5, 0.6, 0.65, 0.7], "n": [100] * 6}
    model = scaling.resolve("logistic", "binomial")
    with _warns("n_trials", "trials"):
        old = scaling.prepare(counts, model, x="flop", y="score", n_trials="n")
    np.testing.assert_array_equal(
        old.n_trials, scaling.prepare(counts, model, x="flop", y="score", trials="n").n_trials
    )
    kw = dict(x="flop", y="loss", methods=["least_squares"])
    with _warns("cutoff", "cutoffs"):
        old = scaling.backtest(df, "power_law", cutoff=1e23, **kw).table
    assert old.equals(scaling.backtest(df, "power_law", cutoffs=1e23, **kw).table)
    assert old["status"].isin(["pass", "warn", "fail"]).all()
    with _warns("fit_kwargs", "sampler"):
        scaling.backtest(df, "power_law", cutoffs=[1e23], fit_kwargs={"num_samples": 100, "seed": 3}, **kw)
    with pytest.raises(ScalingError, match=r"fit_kwargs= is deprecated \(use sampler=\).*\['likelihood'\]"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            scaling.backtest(df, "power_law", cutoffs=[1e23], fit_kwargs={"likelihood": "normal"}, **kw)


TINY = {"num_warmup": 60, "num_samples": 60, "num_chains": 1}
DATA = {
    "c": np.logspace(18, 22, 10),
    "loss": 2.0 * np.logspace(0, 4, 10) ** -0.05 * np.exp(0.01 * np.sin(np.arange(10))),
}


def test_retired_seed_names_warn_and_give_the_same_draws():
    key = jax.random.key(11)
    new = scaling.fit(DATA, "power_law", x="c", y="loss", sampler=TINY, seed=key)
    with _warns("rng_key", "seed"):
        old = scaling.fit(DATA, "power_law", x="c", y="loss", sampler=TINY, rng_key=key)
    np.testing.assert_array_equal(new.posterior["alpha"].values, old.posterior["alpha"].values)
    assert new.attrs["seed"].startswith("key [")
    keys = jax.random.split(key, 2)
    many = scaling.fit_many([DATA, DATA], "power_law", x="c", y="loss", sampler=TINY, seed=keys)
    with _warns("keys", "seed"):
        old = scaling.fit_many([DATA, DATA], "power_law", x="c", y="loss", sampler=TINY, keys=keys)
    np.testing.assert_array_equal(many.posterior["alpha"].values, old.posterior["alpha"].values)
    one = scaling.fit(DATA, "power_law", x="c", y="loss", sampler=TINY, seed=keys[1])
    np.testing.assert_array_equal(one.posterior["alpha"].values, many.posterior["alpha"].values[..., 1])
    # an int seed: problem i of fit_many is fit with fold_in(key(seed), i); the shorthand keywords equal sampler=
    by_int = scaling.fit(DATA, "power_law", x="c", y="loss", seed=5, **TINY)
    by_key = scaling.fit(
        DATA, "power_law", x="c", y="loss", sampler=TINY, seed=jax.random.fold_in(jax.random.key(5), 0)
    )
    np.testing.assert_array_equal(by_int.posterior["alpha"].values, by_key.posterior["alpha"].values)
    # the (tree, verdict) pair of 0.2: unpacking warns, and gives the tree
    verdict = scaling.returns(by_int)
    assert verdict.tree is not None and isinstance(verdict, scaling.analysis.diminishing.Verdict)
    with _warns("(tree, verdict) pair", "verdict.tree"):
        tree, v = scaling.returns(by_int)
    assert tree is not None and v.category == verdict.category


def test_retired_spec_keys_warn_and_are_read(tmp_path):
    spec = tmp_path / "s.toml"
    spec.write_text(
        '[data]\nsource = "obsscaling"\n[model]\nlaw = "logistic"\nx = "training_flop"\ny = "mmlu"\n'
        "options = { floor = 0.25 }\n[sampler]\nnum_samples = 100\nmax_tree_depth = 8\n"
    )
    with _warns("[model] options", "[model] law_options"):
        loaded = scaling.load_spec(spec)
    assert loaded["model"]["law_options"] == {"floor": 0.25} and "options" not in loaded["model"]
    from scaling.studies.spec import fit_arguments

    kw = fit_arguments(loaded)
    assert kw["sampler"] == {"num_samples": 100, "max_tree_depth": 8} and kw["seed"] == 0
    spec.write_text(spec.read_text().replace("max_tree_depth = 8", 'batch_mode = "lockstep"'))
    with pytest.raises(scaling.SpecError, match=r"s\.toml: The 'batch_mode' parameter of \[sampler\] must be"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            scaling.load_spec(spec)


def test_retired_cli_flags_are_hidden_and_still_work(tmp_path):
    runner = CliRunner()
    help_text = runner.invoke(app, ["fit", "--help"], terminal_width=200).output
    assert "--num-warmup" in help_text and "--law-option" in help_text and "--trials" in help_text
    assert "--warmup" not in help_text.replace("--num-warmup", "") and "--option " not in help_text
    data = ROOT / "tests" / "fixtures" / "bad" / "percent_scores.csv"
    args = ["fit", str(data), "--law", "logistic", "--x", "training_flop", "--y", "mmlu"]
    with pytest.warns(DeprecationWarning, match="--option is deprecated.*--law-option"):
        result = runner.invoke(app, [*args, "--option", "floor=abc", "--out", str(tmp_path / "o")])
    assert result.exit_code == 2, result.output
    assert "--option is deprecated" in result.output and "The 'floor' option of law 'logistic'" in result.output
    result = runner.invoke(app, [*args, "--option", "floor=0.2", "--law-option", "floor=0.2", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "give --law-option only" in result.output
