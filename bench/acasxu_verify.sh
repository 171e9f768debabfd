#!/bin/sh
# ACAS Xu (VNN-COMP, 186 instances) with the verify engine's verifier:
# runs crucible-vnncomp over instances.csv with each instance's timeout,
# compares with ground_truth.csv and prints solved / wrong / total time and
# the slowest instances. Exit status 1 on any wrong answer.
#
# Further arguments go to crucible-vnncomp (e.g. --alpha_iterations=0 to
# measure without slope optimisation).
#
#   bench/acasxu_verify.sh [BUILD_DIR] [OUT_DIR] [crucible-vnncomp flags...]   # defaults: build, /tmp/acasxu_verify
set -eu
BUILD=${1:-build}
OUT=${2:-/tmp/acasxu_verify}
shift $(( $# < 2 ? $# : 2 ))
DATA=$(dirname "$0")/../../shared/data/vnncomp/acasxu
mkdir -p "$OUT"
status=0
"$BUILD/engines/verify/crucible-vnncomp" --benchmark_dir "$DATA" --ground_truth "$DATA/ground_truth.csv" \
  --results_dir "$OUT/results" --threads "${THREADS:-2}" "$@" > "$OUT/instances.csv" 2> "$OUT/summary.txt" || status=$?
cat "$OUT/summary.txt"
# Columns: index, onnx, vnnlib, result, seconds, expected, verdict, detail.
awk -F, '{ n++; t += $5; if ($7 == "ok") s++; if ($7 == "WRONG") w++;
           if ($4 == "sat") sat++; if ($4 == "unsat") unsat++; if ($4 == "timeout") to++; if ($4 == "unknown") uk++ }
     END { printf "instances %d  solved %d (sat %d, unsat %d)  wrong %d  timeout %d  unknown %d  total %.1f s\n",
                  n, s, sat, unsat, w + 0, to + 0, uk + 0, t }' "$OUT/instances.csv"
echo "slowest:"
sort -t, -k5 -g -r "$OUT/instances.csv" | head -10 | cut -d, -f2-5
exit $status
