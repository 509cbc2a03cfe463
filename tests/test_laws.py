import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats

from scaling.models.law import LN10
from scaling.models.laws import LAWS, get_law, law_from_spec
from scaling.models.likelihoods import get_likelihood
from scaling.models.priors import Prior


def test_prior_round_trip_and_validation():
    p = Prior("Normal", loc=0.3, scale=0.1)
    assert Prior.from_dict(p.to_dict()) == p
    assert float(p.to_numpyro().mean) == pytest.approx(0.3)
    with pytest.raises(ValueError, match="Unknown prior distribution 'Gaussian'.*Normal"):
        Prior("Gaussian", loc=0)
    with pytest.raises(ValueError, match="unknown argument"):
        Prior("Normal", mu=0)
    with pytest.raises(ValueError, match="must be a number"):
        Prior("Normal", loc="zero", scale=1)


def test_registry_and_options():
    assert set(LAWS) == {
        "power_law",
        "saturating_power_law",
        "chinchilla",
        "broken_power_law",
        "logistic",
        "broken_exponential_trend",
        "exponential_trend",
        "quadratic_trend",
        "logistic_trend",
    }
    assert "floor" not in get_law("logistic", floor=0.25).param_names
    assert "floor" in get_law("logistic").param_names
    with pytest.raises(ValueError, match="Unknown law 'kaplan'"):
        get_law("kaplan")
    with pytest.raises(ValueError, match="floor"):
        get_law("logistic", floor=1.5)
    with pytest.raises(ValueError, match="do not name parameters of law 'power_law'"):
        get_law("power_law", priors={"beta": Prior("Normal", loc=0, scale=1)})
    law = get_law("chinchilla", priors={"alpha": {"dist": "HalfNormal", "scale": 1.0}})
    assert law_from_spec(law.spec()) == law


@pytest.mark.parametrize("name", list(LAWS))
def test_physical_round_trip(name):
    law = get_law(name)
    rng = np.random.default_rng(0)
    theta = {p.name: jnp.asarray(abs(rng.normal()) + 0.2) for p in law.params}
    center = {i.name: jnp.asarray(rng.normal()) for i in law.inputs}
    ys = jnp.asarray(1.7)
    phys = {**theta, **law.physical(theta, center, ys)}
    back = law.from_physical(phys, center, ys)
    for k, v in back.items():
        assert float(v) == pytest.approx(float(theta[k]), rel=1e-5), k


def test_chinchilla_matches_direct_formula():
    """LSE form == E + A/N^alpha + B/D^beta in the papers' units."""
    law = get_law("chinchilla")
    n, d = np.array([1e8, 1e9, 1e10]), np.array([1e9, 2e10, 3e11])
    center = {"n": 9.0, "d": 10.0}
    phys = {"E": 1.69, "a": np.log(406.4), "b": np.log(410.7), "alpha": 0.34, "beta": 0.28}
    theta = {**phys, **law.from_physical(phys, center, 2.0)}
    u = {"n": jnp.log10(n) - 9.0, "d": jnp.log10(d) - 10.0}
    expected = 1.69 + 406.4 / n**0.34 + 410.7 / d**0.28
    np.testing.assert_allclose(np.asarray(law.mean(u, theta, 2.0)), expected, rtol=1e-5)


def test_broken_power_law_slopes():
    """Far below the break the log-log slope is -c0; far above it is -(c0 + c1)."""
    law = get_law("broken_power_law", irreducible=False)
    th = {"log_a0": 0.0, "alpha": 0.1, "delta_alpha": 0.4, "u_break": 0.0, "width": 0.1}
    slope = jax.grad(lambda t: law.fn({"x": t[None]}, th)[0] / LN10)
    assert float(slope(jnp.array(-3.0))) == pytest.approx(-0.1, abs=1e-3)
    assert float(slope(jnp.array(3.0))) == pytest.approx(-0.5, abs=1e-3)


def test_logistic_and_trend_formulas():
    lg = get_law("logistic", floor=0.25)
    th = {"ceiling": 0.9, "slope": 2.0, "midpoint": 0.5}
    assert float(lg.fn({"x": jnp.array([0.5])}, th)[0]) == pytest.approx(0.575)
    tr = get_law("exponential_trend")
    phys = tr.physical({"log_y0": 0.0, "growth": np.log(2.0)}, {"t": 2024.0}, 1.0)
    assert float(phys["doubling_time_days"]) == pytest.approx(365.25)
    assert float(phys["annual_factor"]) == pytest.approx(2.0)


def test_likelihood_law_compatibility():
    with pytest.raises(ValueError, match="'lognormal' likelihood needs a law with positive output"):
        get_likelihood("lognormal").check_law(get_law("logistic"))
    with pytest.raises(ValueError, match="'beta' likelihood is for scores"):
        get_likelihood("beta").check_law(get_law("power_law"))
    with pytest.raises(ValueError, match="Unknown likelihood 'poisson'"):
        get_likelihood("poisson")


def test_public_namespace_is_explicit_and_no_module_shadows_a_name():
    """Every name in ``scaling.__all__`` is defined by ``import scaling`` itself (editors see it), the
    subpackages are attributes, and ``scaling.predict`` is the function whatever was imported first."""
    import importlib
    import inspect
    import pkgutil

    import scaling

    assert all(hasattr(scaling, name) for name in scaling.__all__)
    assert scaling.analysis.forecasting.forecast is scaling.forecast
    for sub in ("models", "data", "infer", "analysis", "planning", "plots", "studies"):
        package = importlib.import_module(f"scaling.{sub}")
        modules = {m.name for m in pkgutil.iter_modules(package.__path__)}
        shadowed = {n for n in modules & set(package.__all__) if not inspect.ismodule(getattr(package, n))}
        assert not shadowed, (sub, shadowed)


def test_beta_log_density_written_out_equals_numpyro():
    """The beta likelihood's written-out log-density and its gradient equal numpyro's Beta, from
    near-uniform to very concentrated scores (large phi, where the lgamma terms nearly cancel)."""
    import numpyro.distributions as dist

    law = get_law("logistic")
    lik = get_likelihood("beta")
    rng = np.random.default_rng(0)
    mu = jnp.asarray(rng.uniform(0.05, 0.95, 64))
    y = jnp.asarray(rng.uniform(0.01, 0.99, 64))
    for phi in (0.5, 3.0, 200.0, 5000.0):
        ours = lik.dist(law, mu, {"phi": phi}, 1.0)
        assert type(ours).__name__ == "Beta" and type(ours) is not dist.Beta  # the written-out one
        ref = dist.Beta(mu * phi, (1.0 - mu) * phi)
        # float32: the lgamma terms (about 4e4 at phi = 5000) cancel to a few units, in both versions;
        # ours is within a few times numpyro's float32 error of the float64 density (2x at phi = 5000:
        # 0.011 against 0.005, both about 1e-7 of the lgamma terms)
        m64 = np.asarray(mu, dtype=np.float64)
        exact = scipy.stats.beta.logpdf(np.asarray(y, dtype=np.float64), m64 * phi, (1.0 - m64) * phi)
        err_ours = np.abs(np.asarray(ours.log_prob(y), dtype=np.float64) - exact).max()
        err_ref = np.abs(np.asarray(ref.log_prob(y), dtype=np.float64) - exact).max()
        assert err_ours <= 3.0 * err_ref + 1e-5, (phi, err_ours, err_ref)

        g_ours = jax.grad(lambda m, p=phi: lik.dist(law, m, {"phi": p}, 1.0).log_prob(y).sum())(mu)
        g_ref = jax.grad(lambda m, p=phi: dist.Beta(m * p, (1.0 - m) * p).log_prob(y).sum())(mu)
        np.testing.assert_allclose(g_ours, g_ref, rtol=1e-3, atol=1e-3 * float(jnp.abs(g_ref).max()))
