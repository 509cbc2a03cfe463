"""Gadre et al. (2024) over-training runs: the repository's per-run JSON files as one table.

``mlfoundations/scaling`` keeps one ``exp_data/models/<run>.json`` per open_lm run (hyperparameters
and 8 validation-loss evaluations) and one ``exp_data/evals/evaluation_<run>_heavy.json`` with 46
in-context-learning accuracies. :func:`read_gadre_runs` flattens them as the repository's
``scaling/shared.py::parse_model_json`` does, one row per run:

- ``params_N`` = ``hyperparameters.params``, ``tokens_D`` = ``hyperparameters.tokens``,
  ``flops_6ND`` = 6 N D, ``tokens_per_param`` = 20 x ``chinchilla_multiplier``;
- ``loss_<set>``, ``loss_lower95_<set>``, ``loss_upper95_<set>``: the loss (nats/token) on each
  validation set and its 95% interval over sequences; ``<set>`` is the folder above the shard
  (the file name for the de-en set);
- ``acc_<task>``: accuracy; ``err_avg_46`` = mean over the 46 tasks of 1 - accuracy;
  ``err_avg_subset17`` = the same over the 17 tasks of the repository's ``constants.SUBSET``.

Rows are ordered by dataset, parameters and multiplier (row labels 1..n in that order).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from scaling.errors import DataError

#: The 17-task subset of Gadre et al.'s downstream average (``scaling/constants.py``, ``SUBSET``).
SUBSET17 = (
    "bigbench_operators",
    "pubmed_qa_labeled",
    "hellaswag_zeroshot",
    "boolq",
    "arc_easy",
    "coqa",
    "bigbench_dyck_languages",
    "lambada_openai",
    "bigbench_novel_concepts",
    "winograd",
    "bigbench_cs_algorithms",
    "commonsense_qa",
    "bigbench_qa_wikidata",
    "hellaswag",
    "copa",
    "squad",
    "piqa",
)


def _json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise DataError(f"{path}: not a readable JSON file ({e}).") from None


def _eval_set(val_data: list[str]) -> str:
    parts = val_data[0].split("/")
    return parts[-1].split(".")[0] if "de-en" in parts[-2] else parts[-2]


def run_row(model_json: Path, eval_json: Path) -> dict[str, Any]:
    """One run's row (see the module docstring for the formulas)."""
    d = _json(model_json)
    try:
        hp = d["hyperparameters"]
        args = d.get("open_lm_args", [])
        seed = float(args[args.index("--seed") + 1]) if "--seed" in args else np.nan
        n, tokens, mult = float(hp["params"]), float(hp["tokens"]), float(hp["chinchilla_multiplier"])
        row: dict[str, Any] = {
            "name": d["name"],
            "dataset": d["dataset_name"],
            "model_config": Path(hp["model"]).stem,
            "params_N": n,
            "params_no_embed": float(hp["params_no_embed"]),
            "tokens_D": tokens,
            "chinchilla_multiplier": mult,
            "tokens_per_param": 20.0 * mult,
            "flops_6ND": 6.0 * n * tokens,
            "lr": hp.get("lr"),
            "wd": hp.get("wd"),
            "global_bs": hp.get("global_bs"),
            "warmup": hp.get("warmup"),
            "seed": seed,
        }
        for r in d["results"]:
            s = _eval_set(r["val_data"])
            row[f"loss_{s}"] = r["loss"]
            row[f"loss_lower95_{s}"] = r["loss_sequences_lower_95"]
            row[f"loss_upper95_{s}"] = r["loss_sequences_upper_95"]
    except (KeyError, IndexError, TypeError, ValueError) as e:
        raise DataError(f"{model_json}: not an open_lm run record as in mlfoundations/scaling ({e!r}).") from None
    icl = _json(eval_json).get("eval_metrics", {}).get("icl")
    if not isinstance(icl, dict) or not set(SUBSET17) <= set(icl):
        raise DataError(f"{eval_json}: expected eval_metrics.icl with the 46 task accuracies.")
    for task, acc in icl.items():
        row[f"acc_{task}"] = acc
    row["err_avg_46"] = float(np.mean([1.0 - a for a in icl.values()]))
    row["err_avg_subset17"] = float(np.mean([1.0 - icl[t] for t in SUBSET17]))
    return row


def read_gadre_runs(folder: Path) -> pd.DataFrame:
    """All runs under ``folder/exp_data/models`` with their ``folder/exp_data/evals`` accuracies."""
    models = sorted((folder / "exp_data" / "models").glob("*.json"))
    if not models:
        raise DataError(f"{folder}: no run files under exp_data/models/. Fetch the dataset again.")
    rows = []
    for m in models:
        ev = folder / "exp_data" / "evals" / f"evaluation_{m.stem}_heavy.json"
        if not ev.exists():
            raise DataError(f"{ev}: missing (the downstream evaluation of run {m.stem}). Fetch the dataset again.")
        rows.append(run_row(m, ev))
    df = pd.DataFrame(rows).sort_values(["dataset", "params_N", "chinchilla_multiplier"], kind="stable")
    df.index = pd.RangeIndex(1, len(df) + 1)
    return df
