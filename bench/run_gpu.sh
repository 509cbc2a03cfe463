#!/usr/bin/env bash
# The GPU column of bench/RESULTS.md: the workloads on a CUDA machine (`pip install -e .[cuda]`),
# with the JSON lines in bench/results/gpu/ (or $GPU_RESULTS), then `python bench/report.py`.
#
#   bench/run_gpu.sh            # w3 w1 w2 w0 w5
#   bench/run_gpu.sh w3         # W3 at 10,000 datasets only
#
# W3 runs 10,000 datasets in one program, timed once (the first call: compilation included); its
# baseline, the numpyro loop, runs on this machine's CPU (3 datasets, extrapolated). W1's exhaustive
# scipy checks are cut to 3 replicates and its scipy grid to 1,500 starts (extrapolated): they
# measure the CPU baseline, not the GPU. W0 and W2 run ours only (their CPU columns have PyMC and
# numpyro), with 2 repeats: a single fit goes to the CPU beside the GPU (device="auto"), so these
# rows measure what a user of a GPU machine gets. W5 times the same fits on this machine's CPU and
# GPU (where device="auto" should switch).
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python}"
out="${GPU_RESULTS:-bench/results/gpu}"
mkdir -p "$out"
workloads=("$@")
[[ ${#workloads[@]} -gt 0 ]] || workloads=(w3 w1 w2 w0 w5)
for w in "${workloads[@]}"; do
    echo "== $w" >&2
    case "$w" in
        w3) "$PY" bench/w3_many.py --n 10000 --repeats 0 --baseline-k 3 --baseline-device cpu --out "$out/w3.jsonl" ;;
        w1) "$PY" bench/w1_chinchilla.py --repeats 2 --scipy-starts 1500 --check-replicates 3 --warm-replicates 20 \
                --out "$out/w1.jsonl" ;;
        w2) "$PY" bench/w2_one_posterior.py --methods ours,ours_jax_cache --repeats 2 --out "$out/w2.jsonl" ;;
        w0) "$PY" bench/w0_startup.py --methods ours_bayes,ours_point --repeats 2 --out "$out/w0.jsonl" ;;
        w5) "$PY" bench/w5_device.py --out "$out/w5.jsonl" ;;
        *) echo "unknown workload $w (w0, w1, w2, w3, w5)" >&2; exit 2 ;;
    esac
done
