"""Epoch AI's Benchmarking Hub as one long table of scores.

:func:`load_hub` reads Epoch's internal evaluations (with standard errors), the 35 external
benchmark tables (one score column each, in percent strings, percent numbers or other units) and
the model-version release dates, and returns one row per (model version, benchmark):

``model, benchmark, score, n_items, stderr, floor, date, source``

``score`` is a fraction in [0, 1]; ``n_items`` the benchmark's number of items where known;
``stderr`` the reported standard error of ``score`` (internal runs, Terminal-Bench, BALROG);
``floor`` the benchmark's chance accuracy where its answer format fixes it (NaN: estimate it);
``date`` the model version's release date. Reasoning-effort variants (``o3-2025-04-16_high``) are
separate model versions, as in Epoch's data. The choice of score column per benchmark and the
filters follow Epoch's ``data_loader.py`` (``epoch-research/benchmark-stitching``): models seen on
more than 3 benchmarks, released on or after 2022-11-01, the highest score where a (model,
benchmark) pair is reported more than once. Every row left out is listed in
``df.attrs["dropped"]`` (file, row, model, benchmark, reason) and counted in a warning.

Files are reached through the registry: ``epoch_benchmark_runs`` (internal runs),
``epoch_model_versions`` (release dates) and, for the external tables, the folder of the
``epoch_benchmarks`` entry (the mirror keeps them beside Epoch's ECI export).
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from scaling.errors import DataError

__all__ = ["HUB", "HubBenchmark", "LONG_COLUMNS", "hub_folder", "load_hub", "long_table"]

LONG_COLUMNS = ("model", "benchmark", "score", "n_items", "stderr", "floor", "date", "source")


@dataclass(frozen=True)
class HubBenchmark:
    """One hub benchmark: its file, score column, unit, chance floor and size.

    ``divisor`` turns the column into a fraction (100 for percent; a trailing ``%`` is stripped);
    ``floor`` is the chance accuracy of the answer format (1/k for k-way multiple choice, 0 for
    free-form answers), None where the format does not fix it; ``n_items`` the test-set size
    where documented (used for the binomial likelihood and to bound 0/1 scores).
    """

    name: str
    file: str
    column: str
    divisor: float = 100.0
    floor: float | None = 0.0
    n_items: int | None = None
    stderr_column: str | None = None


#: Internal runs (tasks of ``epoch_internal_benchmark_runs.csv``), scores already fractions.
INTERNAL: dict[str, HubBenchmark] = {
    "GPQA diamond": HubBenchmark("GPQA diamond", "internal", "GPQA diamond", 1.0, 0.25, 198),
    "FrontierMath-2025-02-28-Private": HubBenchmark("FrontierMath-2025-02-28-Private", "internal", "", 1.0, 0.0),
    "MATH level 5": HubBenchmark("MATH level 5", "internal", "", 1.0, 0.0, 1324),
    "OTIS Mock AIME 2024-2025": HubBenchmark("OTIS Mock AIME 2024-2025", "internal", "", 1.0, 0.0, 45),
    "FrontierMath-Tier-4-2025-07-01-Private": HubBenchmark(
        "FrontierMath-Tier-4-2025-07-01-Private", "internal", "", 1.0, 0.0
    ),
    "SWE-Bench verified": HubBenchmark("SWE-Bench verified", "internal", "", 1.0, 0.0, 500),
}

B = HubBenchmark
#: External tables: (benchmark, file stem, score column, divisor, chance floor, items), Epoch's columns.
HUB: tuple[HubBenchmark, ...] = (
    *INTERNAL.values(),
    B("Aider polyglot", "aider_polyglot", "Percent correct", 100, 0.0, 225),
    B("ANLI", "anli", "Score", 100, 1 / 3),
    B("ARC-AGI", "arc_agi", "Score", 100, 0.0),
    B("ARC AI2", "arc_ai2", "Challenge score", 100, 0.25, 1172),
    B("Balrog", "balrog", "Average progress", 100, 0.0, None, "Average Standard error"),
    B("BBH", "bbh", "Average", 100, None),
    B("CadEval", "cadeval", "Overall pass (%)", 100, 0.0, 50),
    B("CSQA2", "csqa2", "Score", 100, 0.5),
    B("Cybench", "cybench", "Unguided % Solved", 100, 0.0, 40),
    B("DeepResearch Bench", "deepresearch", "Average score", 100, None),
    B("Factorio learning environment", "factorio_learning_environment", "Lab Success %", 100, 0.0),
    B("Fiction.LiveBench", "fictionlivebench", "16k token score", 100, None),
    B("GeoBench", "geobench", "ACW Country %", 100, None),
    B("GSM8K", "gsm8k", "EM", 100, 0.0, 1319),
    B("GSO-Bench", "gso_bench", "Score OPT@1", 100, 0.0),
    B("HellaSwag", "hellaswag", "Overall accuracy", 100, 0.25, 10042),
    B("LAMBADA", "lambada", "Score", 100, 0.0, 5153),
    B("Lech Mazur Writing", "lech_mazur_writing", "Mean score", 10, None),
    B("LiveBench", "livebench", "Global average", 100, 0.0),
    B("MMLU", "mmlu", "EM", 100, 0.25, 14042),
    B("OpenBookQA", "openbookqa", "Accuracy", 100, 0.25, 500),
    B("OSWorld", "os_world", "Score", 100, 0.0, 369),
    B("OSUniverse", "osuniverse", "Weighted Score", 100, 0.0),
    B("PIQA", "piqa", "Score", 100, 0.5, 1838),
    B("ScienceQA", "scienceqa", "Score", 100, None),
    B("SimpleBench", "simple_bench", "Score (AVG@5)", 100, None),
    B("SuperGLUE", "superglue", "Score", 100, None),
    B("Terminal Bench", "terminal_bench", "Accuracy mean", 100, 0.0, None, "Accuracy SE"),
    B("The Agent Company", "the_agent_company", "% Resolved", 100, 0.0, 175),
    B("TriviaQA", "triviaqa", "EM", 100, 0.0),
    B("VideoMME", "videomme", "Overall (no subtitles)", 100, 0.25, 2700),
    B("VPCT", "vpct", "Correct", 100, 1 / 3),  # which of three buckets a ball falls into: chance 1/3
    B("Winogrande", "winogrande", "Accuracy", 100, 0.5, 1267),
)

#: Hub tables left out as Epoch leaves them out, with the reason.
SKIPPED = {
    "boolq": "BoolQ is a SuperGLUE task (duplicate of the SuperGLUE table); Epoch leaves it out",
    "mcbench": "MCBench reports an arena win rate, not an accuracy; Epoch leaves it out",
}
SCORE_SE = re.compile(r"([^:,]+):\s*([0-9.eE+-]+)\s*±\s*([0-9.eE+-]+)")


def hub_folder() -> Path:
    """The folder holding the hub's tables: that of the registry's ``epoch_benchmarks`` file."""
    from scaling.data.registry import locate

    return locate("epoch_benchmarks").parent


def _fraction(raw: pd.Series, divisor: float) -> pd.Series:
    """Text or numbers -> fraction: a trailing ``%`` stripped, then divided by ``divisor``."""
    text = raw.astype("string").str.strip().str.rstrip("%").str.replace(",", "", regex=False)
    return pd.to_numeric(text, errors="coerce") / divisor


def _stderr_of(scores: str | float, best: float) -> float:
    """Standard error of the scorer whose score is closest to ``best`` in ``name:0.85±0.02`` lists."""
    pairs = [(float(v), float(s)) for _, v, s in SCORE_SE.findall(str(scores))] if isinstance(scores, str) else []
    if not pairs:
        return float("nan")
    return min(pairs, key=lambda p: abs(p[0] - best))[1]


def _read(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise DataError(
            f"{path}: hub table not found. Point SCALING_DATA_DIR at a mirror holding Epoch's benchmark "
            "hub (epoch_benchmarks/), or pass your own long table to long_table()."
        )
    return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])


def _external(folder: Path, bench: HubBenchmark, drops: list[dict]) -> pd.DataFrame:
    path = folder / f"external_benchmark_{bench.file}.csv"
    raw = _read(path)
    for col in ("Model version", bench.column):
        if col not in raw.columns:
            raise DataError(f"{path}: column {col!r} not found; columns are {list(raw.columns)}.")
    score = _fraction(raw[bench.column], bench.divisor)
    se = _fraction(raw[bench.stderr_column], bench.divisor) if bench.stderr_column else np.nan
    out = pd.DataFrame(
        {
            "model": raw["Model version"],
            "benchmark": bench.name,
            "score": score,
            "stderr": se,
            "source": raw["Source"] if "Source" in raw.columns else bench.name,
            "file": path.name,
            "row": raw.index + 2,
        }
    )
    return _keep(out, raw[bench.column], drops)


def _internal(path: Path, drops: list[dict]) -> pd.DataFrame:
    raw = _read(path)
    best = pd.to_numeric(raw["Best score (across scorers)"], errors="coerce")
    out = pd.DataFrame(
        {
            "model": raw["model"],
            "benchmark": raw["task"],
            "score": best,
            "stderr": [_stderr_of(s, b) for s, b in zip(raw["Scores"], best, strict=True)],
            "source": "Epoch evaluations",
            "file": path.name,
            "row": raw.index + 2,
        }
    )
    unused = ~out["benchmark"].isin(list(INTERNAL))
    _drop(drops, out[unused], "task not among the benchmarks Epoch's index uses")
    out = out[~unused]
    return _keep(out, raw.loc[out.index, "Best score (across scorers)"], drops)


def _keep(out: pd.DataFrame, raw: pd.Series, drops: list[dict]) -> pd.DataFrame:
    no_model = out["model"].isna()
    _drop(drops, out[no_model], "no model version (the score is not matched to a model)")
    bad = ~no_model & out["score"].isna()
    for reason, mask in (("no score", bad & raw.isna()), ("score is not a number", bad & raw.notna())):
        _drop(drops, out[mask], reason)
    out = out[~no_model & ~bad]
    outside = (out["score"] < 0) | (out["score"] > 1)
    _drop(drops, out[outside], "score outside [0, 1] after conversion to a fraction")
    return out[~outside]


def _drop(drops: list[dict], rows: pd.DataFrame, reason: str) -> None:
    for r in rows.itertuples(index=False):
        drops.append(
            {
                "file": r.file,
                "row": r.row,
                "model": r.model,
                "benchmark": r.benchmark,
                "score": r.score,
                "reason": reason,
            }
        )


def load_hub(
    *,
    min_benchmarks: int = 4,
    start_date: str | None = "2022-11-01",
    duplicates: str = "max",
    folder: str | Path | None = None,
) -> pd.DataFrame:
    """Epoch's Benchmarking Hub as one long table (see the module docstring for the columns).

    Parameters
    ----------
    min_benchmarks : keep models scored on at least this many benchmarks (Epoch: more than 3).
    start_date : keep models released on or after this ISO date (Epoch: 2022-11-01); None keeps all dated models.
    duplicates : ``"max"`` keeps the highest score of a (model, benchmark) pair (Epoch's rule),
        ``"mean"`` averages them.
    folder : read the hub's files from this folder instead of through the registry.

    Returns
    -------
    DataFrame with :data:`LONG_COLUMNS`; ``attrs["dropped"]`` lists every row left out and why,
    ``attrs["benchmarks"]`` the benchmarks (file, column, floor, n_items).
    """
    if duplicates not in ("max", "mean"):
        raise DataError(f"The 'duplicates' parameter of load_hub must be 'max' or 'mean'. Got {duplicates!r} instead.")
    if folder is None:
        from scaling.data.registry import locate

        base = hub_folder()
        runs, versions = locate("epoch_benchmark_runs"), locate("epoch_model_versions")
    else:
        base = Path(folder)
        runs, versions = base / "epoch_internal_benchmark_runs.csv", base / "model_versions.csv"
    drops: list[dict] = []
    parts = [_internal(runs, drops)] + [_external(base, b, drops) for b in HUB if b.file != "internal"]
    for stem, reason in SKIPPED.items():
        if (base / f"external_benchmark_{stem}.csv").is_file():
            drops.append(
                {
                    "file": f"external_benchmark_{stem}.csv",
                    "row": 0,
                    "model": "",
                    "benchmark": stem,
                    "score": np.nan,
                    "reason": reason,
                }
            )
    df = pd.concat(parts, ignore_index=True)
    dates = _read(versions).set_index("id")["Version release date"]
    dates = pd.to_datetime(dates[~dates.index.duplicated()], errors="coerce")
    df["date"] = df["model"].map(dates)
    df = _filter(df, drops, min_benchmarks, start_date)
    df = _dedupe(df, drops, duplicates)
    meta = {b.name: b for b in HUB}
    df["n_items"] = df["benchmark"].map(lambda n: meta[n].n_items).astype(float)
    df["floor"] = df["benchmark"].map(lambda n: np.nan if meta[n].floor is None else meta[n].floor).astype(float)
    out = df[list(LONG_COLUMNS)].sort_values(["benchmark", "model"]).reset_index(drop=True)
    dropped = pd.DataFrame(drops, columns=["file", "row", "model", "benchmark", "score", "reason"])
    out.attrs["dropped"] = dropped
    out.attrs["benchmarks"] = pd.DataFrame(
        [{"benchmark": b.name, "file": b.file, "column": b.column, "floor": b.floor, "n_items": b.n_items} for b in HUB]
    )
    if len(dropped):
        counts = "; ".join(f"{n} x {r}" for r, n in dropped["reason"].value_counts().items())
        warnings.warn(f"load_hub left out {len(dropped)} rows (listed in attrs['dropped']): {counts}", stacklevel=2)
    return out


def _filter(df: pd.DataFrame, drops: list[dict], min_benchmarks: int, start_date: str | None) -> pd.DataFrame:
    n_bench = df.groupby("model")["benchmark"].nunique()
    few = df["model"].map(n_bench) < min_benchmarks
    _drop(drops, df[few], f"model scored on fewer than {min_benchmarks} benchmarks")
    df = df[~few]
    undated = df["date"].isna()
    _drop(drops, df[undated], "model version has no release date in model_versions.csv")
    df = df[~undated]
    if start_date is not None:
        early = df["date"] < pd.Timestamp(start_date)
        _drop(drops, df[early], f"model released before {start_date}")
        df = df[~early]
    return df


def _dedupe(df: pd.DataFrame, drops: list[dict], how: str) -> pd.DataFrame:
    """One row per (model, benchmark): the highest score (its stderr and source), or the mean."""
    df = df.sort_values("score", ascending=False, kind="stable")
    extra = df.duplicated(["model", "benchmark"], keep="first")
    reason = "repeat of a (model, benchmark) pair: " + (
        "kept the highest score (Epoch's rule)" if how == "max" else "averaged"
    )
    _drop(drops, df[extra], reason)
    if how == "mean":
        mean = df.groupby(["model", "benchmark"])["score"].transform("mean")
        df = df.assign(score=mean)
    return df[~extra]


def long_table(df: pd.DataFrame, *, source: str = "table") -> pd.DataFrame:
    """A user's long table checked and completed: ``model, benchmark, score`` required, scores in [0, 1].

    Optional columns ``n_items, stderr, floor, date, source`` are added as missing where absent.
    Raises :class:`DataError` naming the row and column of the first bad value.
    """
    missing = [c for c in ("model", "benchmark", "score") if c not in df.columns]
    if missing:
        raise DataError(f"{source}: columns {missing} are required for a capability index; got {list(df.columns)}.")
    out = df.copy()
    for col in ("n_items", "stderr", "floor"):
        out[col] = pd.to_numeric(out[col], errors="coerce") if col in out.columns else np.nan
    out["date"] = pd.to_datetime(out["date"], errors="coerce") if "date" in out.columns else pd.NaT
    if "source" not in out.columns:
        out["source"] = source
    score = pd.to_numeric(out["score"], errors="coerce")
    bad = score.isna() | (score < 0) | (score > 1) | out["model"].isna() | out["benchmark"].isna()
    if bad.any():
        r = out.index[bad][0]
        raise DataError(
            f"{source} row {r}: expected a model, a benchmark and a score in [0, 1]; got "
            f"{out.loc[r, 'model']!r}, {out.loc[r, 'benchmark']!r}, {df.loc[r, 'score']!r}. Fix or remove the row."
        )
    dup = out.duplicated(["model", "benchmark"], keep=False)
    if dup.any():
        r = out.index[dup][:2].tolist()
        raise DataError(f"{source} rows {r}: the (model, benchmark) pair repeats; keep one score per pair.")
    out["score"] = score
    return out[list(LONG_COLUMNS)].reset_index(drop=True)
