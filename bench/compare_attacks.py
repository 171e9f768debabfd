#!/usr/bin/python3
"""Side-by-side throughput of Crucible's attacks and PyTorch's on the fixture CNNs.

Runs build/bench/attack_bench and bench/pytorch_attacks.py alternately for several rounds in
one run (same machine, same ONNX weights, same images, same batch sizes, same thread count),
each under every runtime configuration (see side_by_side.py), then prints each side's best
configuration's median, min–max and the ratio as a Markdown table.

Needs python3-torch, python3-onnx and libopenblas0-pthread.

Usage: bench/compare_attacks.py [--build build] [--rounds 3] [--min-time 0.5] [--threads 2] [--models M,M] [--batches B,B]
                                [--configs passive,spin]
"""
import argparse
import json
import os
import subprocess

from side_by_side import blas_in_use, config_env, google_benchmarks, print_table, pytorch_env, run_rounds

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ATTACKS = {"BM_Fgsm": "fgsm", "BM_Pgd40": "pgd40", "BM_CwL2": "cw_l2"}
LABELS = {"fgsm": "FGSM", "pgd40": "PGD-40", "cw_l2": "CW-L2 (100 it.)"}


def crucible_round(build, threads, min_time, models, batches, overrides):
    pattern = f"/({'|'.join(models)})/({'|'.join(batches)})/"
    out = subprocess.run([os.path.join(build, "bench", "attack_bench"), "--benchmark_format=json",
                          f"--benchmark_min_time={min_time}", f"--benchmark_filter={pattern}"],
                         env=config_env(overrides, CRUCIBLE_BENCH_THREADS=str(threads)), check=True,
                         capture_output=True, text=True)
    results = {}
    for b in google_benchmarks(out.stdout):
        # Name: BM_Pgd40/fmnist_lenet/32/real_time
        kind, model, batch = b["name"].split("/")[:3]
        results[(model, ATTACKS[kind], int(batch))] = b["items_per_second"]
    return results


def pytorch_round(threads, min_time, models, batches, overrides):
    out = subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "bench", "pytorch_attacks.py"), "--models",
                          os.path.join(ROOT, "tests", "fixtures", "models"), "--threads", str(threads),
                          "--min-time", str(min_time), "--names", ",".join(models), "--batches", ",".join(batches)],
                         env=pytorch_env(overrides, threads), check=True, capture_output=True, text=True)
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
    parser.add_argument("--min-time", type=float, default=0.5)
    parser.add_argument("--models", default="fmnist_lenet,fmnist_resnet")
    parser.add_argument("--batches", default="1,32,256")
    parser.add_argument("--configs", default="passive,spin",
                        help="wait policies to try; PyTorch also tries each with OpenBLAS on 1 thread")
    args = parser.parse_args()
    models, batches = args.models.split(","), args.batches.split(",")

    ours, theirs, crucible_configs, pytorch_configs = run_rounds(
        args.rounds, args.configs.split(","),
        lambda overrides: crucible_round(args.build, args.threads, args.min_time, models, batches, overrides),
        lambda overrides: pytorch_round(args.threads, args.min_time, models, batches, overrides))
    print(f"threads: {args.threads}; rounds: {args.rounds}; configurations: Crucible {crucible_configs}, "
          f"PyTorch {pytorch_configs}; {blas_in_use()}")
    order = list(LABELS)
    print_table(ours, theirs, ["model", "attack", "batch"], lambda k: (k[0], LABELS[k[1]], str(k[2])),
                lambda k: (k[0], order.index(k[1]), k[2]))


if __name__ == "__main__":
    main()
