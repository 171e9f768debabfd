#!/usr/bin/python3
"""Side-by-side throughput of Crucible's attacks and PyTorch's on the fixture CNNs.

Runs build/bench/attack_bench and bench/pytorch_attacks.py alternately for several rounds in
one run (same machine, same ONNX weights, same images, same batch sizes, same thread count),
then prints medians, spreads and the Crucible/PyTorch ratio as a Markdown table.

PyTorch runs with OPENBLAS_CORETYPE=SkylakeX (see DESIGN.md); the BLAS it loaded is reported.
Needs python3-torch, python3-onnx and libopenblas0-pthread.

Both sides use OpenMP (libgomp) and run with the same OMP_WAIT_POLICY (--omp-wait-policy,
default PASSIVE). On a machine shared with other work, libgomp's default spinning at barriers
waits for threads that are not scheduled: measured here, that made both sides 10-60x slower
and their ratio meaningless. Pass --omp-wait-policy "" to keep libgomp's default on a quiet machine.

Usage: bench/compare_attacks.py [--build build] [--rounds 3] [--threads 2] [--models M,M] [--batches B,B]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))
from compare_pytorch import blas_in_use  # noqa: E402

ATTACKS = {"BM_Fgsm": "fgsm", "BM_Pgd40": "pgd40", "BM_CwL2": "cw_l2"}
LABELS = {"fgsm": "FGSM", "pgd40": "PGD-40", "cw_l2": "CW-L2 (100 it.)"}


def omp_env(policy):
    env = dict(os.environ)
    env.pop("OMP_WAIT_POLICY", None)
    if policy:
        env["OMP_WAIT_POLICY"] = policy
    return env


def crucible_round(build, threads, min_time, models, batches, policy):
    env = dict(omp_env(policy), CRUCIBLE_BENCH_THREADS=str(threads))
    pattern = f"/({'|'.join(models)})/({'|'.join(batches)})/"
    out = subprocess.run([os.path.join(build, "bench", "attack_bench"), "--benchmark_format=json",
                          f"--benchmark_min_time={min_time}", f"--benchmark_filter={pattern}"],
                         env=env, check=True, capture_output=True, text=True)
    results = {}
    for b in json.loads(out.stdout)["benchmarks"]:
        # Name: BM_Pgd40/fmnist_lenet/32/real_time
        kind, model, batch = b["name"].split("/")[:3]
        results[(model, ATTACKS[kind], int(batch))] = b["items_per_second"]
    return results


def pytorch_round(threads, min_time, models, batches, policy):
    env = dict(omp_env(policy), OPENBLAS_CORETYPE="SkylakeX", OMP_NUM_THREADS=str(threads))
    out = subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "bench", "pytorch_attacks.py"), "--models",
                          os.path.join(ROOT, "tests", "fixtures", "models"), "--threads", str(threads),
                          "--min-time", str(min_time), "--names", ",".join(models), "--batches", ",".join(batches)],
                         env=env, check=True, capture_output=True, text=True)
    results = {}
    for line in out.stdout.splitlines():
        r = json.loads(line)
        results[(r["model"], r["attack"], r["batch"])] = r["images_per_second"]
    return results


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", default=os.path.join(ROOT, "build"))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--min-time", type=float, default=0.3)
    parser.add_argument("--models", default="fmnist_lenet,fmnist_resnet")
    parser.add_argument("--batches", default="1,32,256")
    parser.add_argument("--omp-wait-policy", default="PASSIVE")
    args = parser.parse_args()
    models, batches = args.models.split(","), args.batches.split(",")

    ours, theirs = {}, {}
    for r in range(args.rounds):
        print(f"round {r + 1}/{args.rounds}", file=sys.stderr)
        for key, value in crucible_round(args.build, args.threads, args.min_time, models, batches,
                                         args.omp_wait_policy).items():
            ours.setdefault(key, []).append(value)
        for key, value in pytorch_round(args.threads, args.min_time, models, batches, args.omp_wait_policy).items():
            theirs.setdefault(key, []).append(value)

    print(f"threads: {args.threads}; rounds: {args.rounds}; OMP_WAIT_POLICY={args.omp_wait_policy or 'default'}; "
          f"{blas_in_use()}")
    print("| model | attack | batch | Crucible images/s (min–max) | PyTorch images/s (min–max) | ratio (median) |")
    print("|---|---|---|---|---|---|")
    order = list(LABELS)
    for key in sorted(ours, key=lambda k: (k[0], order.index(k[1]), k[2])):
        if key not in theirs:
            continue
        a, b = ours[key], theirs[key]
        ma, mb = statistics.median(a), statistics.median(b)
        print(f"| {key[0]} | {LABELS[key[1]]} | {key[2]} | {ma:,.1f} ({min(a):,.1f}–{max(a):,.1f}) | "
              f"{mb:,.1f} ({min(b):,.1f}–{max(b):,.1f}) | {ma / mb:.2f}× |")


if __name__ == "__main__":
    main()
