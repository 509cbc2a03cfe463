"""Turn ``bench/results/*.jsonl`` into the tables of ``bench/RESULTS.md``.

For each workload file the latest run (``run_id``) is used. Writes the machine, the commands, one
table per workload (method, wall, first call, compile, speed-up against the workload's baseline,
quality) and the targets table.

    python bench/report.py                      # bench/results/ -> bench/RESULTS.md
    python bench/report.py --quick              # bench/results/quick/ -> bench/RESULTS.md (labelled smoke run)
    python bench/report.py --out /dev/stdout
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

from common import BENCH, RESULTS

WORKLOADS = {
    "w0": "W0 start-up (30-point CSV, process start to written result)",
    "w1": "W1 Chinchilla replication (Epoch method) and bootstrap",
    "w2": "W2 one posterior (logistic MMLU vs FLOP, OSL table, 4 x 1000 + 1000)",
    "w3": "W3 many posteriors (30-point synthetic logistic datasets, 4 x 1000 + 1000 each)",
    "w4": "W4 survey scale (10,000 20-point power laws, 2 x 300 + 300 each): one process vs local Ray",
    "w5": "W5 which device (the same fits with device='cpu' and device='accelerator' in one process)",
}
SCRIPTS = {
    "w0": "w0_startup.py",
    "w1": "w1_chinchilla.py",
    "w2": "w2_one_posterior.py",
    "w3": "w3_many.py",
    "w4": "w4_ray.py",
    "w5": "w5_device.py",
}
#: method -> the baseline its speed-up is computed against (same run)
BASELINES = {
    "w0": {
        "ours_bayes_cold": "pymc_cold",
        "ours_bayes_warm": "pymc_warm",
        "ours_point_cold": "pymc_cold",
        "ours_point_warm": "pymc_warm",
    },
    "w1": {
        "ours_grid": "scipy_grid",
        "ours_bootstrap": "scipy_exhaustive_bootstrap",
        "scipy_warmstart_bootstrap": "scipy_exhaustive_bootstrap",
    },
    "w2": {
        "ours": "pymc_default",
        "ours_jax_cache": "pymc_default",
        "numpyro_default": "pymc_default",
        "numpyro_reuse": "pymc_default",
    },
    "w3": {"ours": "numpyro_loop"},
    "w4": {"ray": "local"},
    # the CPU's speed-up over the accelerator on the same fits (> 1: the CPU is faster)
    "w5": {
        f"{fit}_cpu": f"{fit}_accelerator" for fit in ("nuts_1", "nuts_8", "nuts_32", "point", "point_bootstrap200")
    },
}
SKIP = {"machine", "targets", "check"}


def load_latest(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    if not rows:
        return []
    latest = max(rows, key=lambda r: r["run_id"])["run_id"]
    return [r for r in rows if r["run_id"] == latest]


def f(v: Any, digits: int = 3) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        if v == 0:
            return "0"
        if abs(v) >= 1000 or abs(v) < 1e-3:
            return f"{v:.{digits}g}" if abs(v) < 1e5 else f"{v:.{digits - 1}e}"
        return f"{v:.{digits}g}"
    if isinstance(v, dict):
        return ", ".join(f"{k} {f(x)}" for k, x in v.items())
    if isinstance(v, list):
        return "[" + ", ".join(f(x) for x in v) + "]"
    return str(v)


def wall(r: dict[str, Any]) -> float | None:
    return r.get("median_s_extrapolated") or r.get("median_s")


def quality(r: dict[str, Any]) -> str:
    parts = []
    keys = [
        ("max_rel_diff_vs_scipy", "max rel diff vs scipy"),
        ("loss", "loss"),
        ("intervals_95", "95% intervals"),
        ("max_interval_abs_err", "max interval err vs published"),
        ("share_grad_norm_below_1e_6", "converged"),
        ("max_rel_diff_vs_ours", "max rel diff vs ours"),
        ("per_replicate_median_s", "s/replicate"),
        ("per_start_ms", "ms/start"),
        ("first_ess_per_s", "ESS/s first"),
        ("median_ess_per_s", "ESS/s later (median)"),
        ("min_ess_per_s_later", "ESS/s later (min)"),
        ("min_ess_bulk", "min bulk ESS"),
        ("max_rhat", "max R-hat"),
        ("pass_share", "pass share"),
        ("coverage_90", "90% coverage"),
        ("per_posterior_median_s", "s/posterior"),
        ("chain_method", "chains"),
        ("runs", "runs"),
        ("auto", "device='auto' picks"),
        ("problems_per_s", "problems/s"),
        ("s_per_chunk", "s/chunk"),
        ("equals_local", "equals local"),
        ("overhead_s_per_chunk", "overhead s/chunk"),
        ("ray_start_s", "Ray start (s)"),
        ("pymc_says", "PyMC"),
        ("command", "command"),
    ]
    for key, label in keys:
        if key in r and r[key] is not None:
            v = r[key]
            if key == "intervals_95":
                v = "; ".join(f"{k} {a:.3f}-{b:.3f}" for k, (a, b) in v.items())
            elif key == "pymc_says":
                continue
            parts.append(f"{label}: {f(v)}")
    fits = r.get("fits") or []
    says = [x.get("pymc_says") for x in fits if x.get("pymc_says")]
    if says:
        parts.append(f"PyMC: {says[0]}")
    return "; ".join(parts)


def table(workload: str, rows: list[dict[str, Any]]) -> list[str]:
    by = {r["method"]: r for r in rows}
    out = [
        "| method | wall (s, median) | first call (s) | compile (s) | repeats | speed-up vs baseline | quality |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        m = r["method"]
        if m in SKIP:
            continue
        base = BASELINES.get(workload, {}).get(m)
        sp = "-"
        if base and base in by and wall(by[base]) and wall(r):
            sp = f"{wall(by[base]) / wall(r):.3g}x vs {base}"
        w = f(wall(r))
        if r.get("extrapolated"):
            w += " (extrapolated)"
        out.append(
            f"| {m} | {w} | {f(r.get('first_s'))} | {f(r.get('compile_s'))} | {f(r.get('repeats'))} | {sp} "
            f"| {quality(r)} |"
        )
    check = by.get("check")
    if check:
        out.append("")
        out.append(
            f"Replicate check ({len(check.get('replicates', []))} sampled replicates against exhaustive scipy): "
            f"max rel diff {f(check.get('max_rel_diff'))}, within 1e-3: {f(check.get('all_within_rel_1e_3'))}, "
            f"resample weights reconstructed: {f(check.get('weights_reconstruction_ok'))}."
        )
    return out


def targets(rows: list[dict[str, Any]]) -> list[str]:
    out = []
    for r in rows:
        if r["method"] != "targets":
            continue
        for t in r["targets"]:
            met = {True: "met", False: "**not met**", None: "n/a"}[t["met"]]
            note = f" ({t['note']})" if t.get("note") else ""
            out.append(f"| {t['target']} | {f(t['value'])} | {t['threshold']} | {met}{note} |")
    return out


def machine_lines(rows_by_w: dict[str, list[dict[str, Any]]]) -> list[str]:
    out = []
    for w, rows in rows_by_w.items():
        m = next((r for r in rows if r["method"] == "machine"), None)
        if not m:
            continue
        mi = m["machine"]
        v = mi.get("versions", {})
        vs = ", ".join(f"{k} {x}" for k, x in v.items() if x)
        out.append(
            f"- **{w}** (run `{m['run_id']}`, {m['time']}): {mi.get('cpu')}, {mi.get('cores')} cores, "
            f"load at start {f(mi.get('loadavg', [None])[0])}"
            + (f", Python loop {f(mi['python_loop_s'])} s" if mi.get("python_loop_s") else "")
            + f"; jax backend {mi.get('jax_backend')} "
            f"{mi.get('jax_devices')}; Python {mi.get('python')}; {vs}; git {mi.get('git', {}).get('commit')}"
            f"{' (scaling/ modified)' if mi.get('git', {}).get('dirty') else ''}"
        )
    return out


def render(results_dir: Path, quick: bool) -> str:
    rows_by_w = {w: load_latest(results_dir / f"{w}.jsonl") for w in WORKLOADS}
    rows_by_w = {w: r for w, r in rows_by_w.items() if r}
    lines = ["# Benchmark results", ""]
    if quick:
        lines += [
            "> **Quick smoke run, not results.** Tiny sizes (`--quick`: subsampled grid, few replicates, "
            "100-150 draws, 1 repeat) on a shared, busy 2-core machine; they show that the scripts run, not "
            "how fast anything is. The full run replaces this file (`bench/run_all.sh`, then "
            "`python bench/report.py`).",
            "",
        ]
    lines += [
        "Generated by `python bench/report.py"
        + (" --quick" if quick else "")
        + f"` from `{results_dir.relative_to(BENCH.parent)}/*.jsonl` "
        "(the latest run of each workload). Wall times are medians of the timed repeats after a warm-up "
        "call; *first call* is that warm-up (in a fresh process where the method says so) and "
        "*compile* = first call - median. *(extrapolated)* marks baselines timed on a subset and scaled "
        "up. See `bench/README.md` for what each method is.",
        "",
        *([(BENCH / "SUMMARY.md").read_text().rstrip(), ""] if (BENCH / "SUMMARY.md").exists() and not quick else []),
        "## Machine",
        "",
        *machine_lines(rows_by_w),
        "",
        "## Commands",
        "",
        "```bash",
    ]
    for w in rows_by_w:
        m = next((r for r in rows_by_w[w] if r["method"] == "machine"), None)
        lines.append(f".venv/bin/python {m['command'] if m else 'bench/' + SCRIPTS[w]}")
    lines += ["```", ""]
    lines += workload_sections(rows_by_w)
    gpu = {w: load_latest(results_dir / "gpu" / f"{w}.jsonl") for w in WORKLOADS}
    gpu = {w: r for w, r in gpu.items() if r}
    if gpu and not quick:
        lines += [
            "# GPU column",
            "",
            "From `bench/results/gpu/*.jsonl`, written by `bench/run_gpu.sh` on a machine with a GPU (the commands "
            "below); baselines there ran on that machine's CPU.",
            "",
            "## Machine",
            "",
            *machine_lines(gpu),
            "",
            *workload_sections(gpu, level="##", suffix=" (GPU)"),
        ]
    return "\n".join(lines)


def workload_sections(rows_by_w: dict[str, list[dict[str, Any]]], level: str = "##", suffix: str = "") -> list[str]:
    """One table per workload, then the targets of them all."""
    lines, all_targets = [], []
    for w, rows in rows_by_w.items():
        command = next((r["command"] for r in rows if r["method"] == "machine"), None)
        lines += [f"{level} {WORKLOADS[w]}{suffix}", ""]
        if suffix and command:
            lines += [f"`python {re.sub(r' --out \S+', '', command)}`", ""]
        lines += [*table(w, rows), ""]
        all_targets += targets(rows)
    if all_targets:
        lines += [
            f"{level} Targets{suffix}",
            "",
            "| target | value | threshold | status |",
            "|---|---|---|---|",
            *all_targets,
            "",
        ]
    return lines


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="read bench/results/quick/ (smoke runs)")
    p.add_argument("--dir", type=Path, default=None)
    p.add_argument("--out", type=Path, default=BENCH / "RESULTS.md")
    args = p.parse_args()
    d = args.dir or (RESULTS / "quick" if args.quick else RESULTS)
    text = render(d.resolve(), args.quick)
    args.out.write_text(text)


if __name__ == "__main__":
    main()
