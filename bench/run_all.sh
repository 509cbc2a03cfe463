#!/usr/bin/env bash
# Run every benchmark, then regenerate bench/RESULTS.md from the JSON lines.
#
#   bench/run_all.sh            # full run (about 1.5-2 h on the 2-core CPU; run it when the machine is quiet)
#   bench/run_all.sh --quick    # smoke run (about 10 min), results in bench/results/quick/
#
# Extra arguments go to every script (e.g. --repeats 5). One workload: bench/w1_chinchilla.py [--quick].
# GPU: bench/w3_many.py --n 10000 and bench/w1_chinchilla.py (bootstrap target <= 30 s) on a machine
# with .[cuda] installed.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
quick=""
for a in "$@"; do [[ "$a" == "--quick" ]] && quick="--quick"; done
for w in w0_startup w1_chinchilla w2_one_posterior w3_many w4_ray; do
    echo "== $w $*" >&2
    "$PY" "bench/$w.py" "$@"
done
"$PY" bench/report.py $quick
echo "wrote bench/RESULTS.md" >&2
