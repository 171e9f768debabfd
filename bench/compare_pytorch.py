#!/usr/bin/python3
"""Side-by-side throughput of Crucible's executor and PyTorch on the fixture CNNs.

Runs build/bench/executor_bench and bench/pytorch_baseline.py alternately for several rounds
in one run (same machine, same ONNX weights, same shapes, same thread count), each under
every runtime configuration (see side_by_side.py), then prints each side's best
configuration's median, min–max and the ratio as a Markdown table.

Needs python3-torch, python3-onnx and libopenblas0-pthread.

Usage: bench/compare_pytorch.py [--build build] [--rounds 5] [--threads 2] [--configs passive,spin]
"""
import argparse
import json
import os
import subprocess

from side_by_side import blas_in_use, config_env, google_benchmarks, print_table, pytorch_env, run_rounds

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PASSES = {"forward": "forward", "gradient": "forward + input gradient"}


def crucible_round(build, threads, min_time, overrides):
    out = subprocess.run([os.path.join(build, "bench", "executor_bench"), "--benchmark_format=json",
                          f"--benchmark_min_time={min_time}"],
                         env=config_env(overrides, CRUCIBLE_BENCH_THREADS=str(threads)), check=True,
                         capture_output=True, text=True)
    results = {}
    for b in google_benchmarks(out.stdout):
        # Name: BM_Forward/fmnist_lenet/32/real_time
        kind, model, batch = b["name"].split("/")[:3]
        mode = "forward" if kind == "BM_Forward" else "gradient"
        results[(model, mode, int(batch))] = b["items_per_second"]
    return results


def pytorch_round(threads, min_time, overrides):
    out = subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "bench", "pytorch_baseline.py"), "--models",
                          os.path.join(ROOT, "tests", "fixtures", "models"), "--threads", str(threads),
                          "--min-time", str(min_time)], env=pytorch_env(overrides, threads), check=True,
                         capture_output=True, text=True)
    results = {}
    for line in out.stdout.splitlines():
        r = json.loads(line)
        results[(r["model"], r["mode"], r["batch"])] = r["images_per_second"]
    return results


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", default=os.path.join(ROOT, "build"))
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--min-time", type=float, default=0.3)
    parser.add_argument("--configs", default="passive,spin",
                        help="wait policies to try; PyTorch also tries each with OpenBLAS on 1 thread")
    args = parser.parse_args()

    ours, theirs, crucible_configs, pytorch_configs = run_rounds(
        args.rounds, args.configs.split(","),
        lambda overrides: crucible_round(args.build, args.threads, args.min_time, overrides),
        lambda overrides: pytorch_round(args.threads, args.min_time, overrides))
    print(f"threads: {args.threads}; rounds: {args.rounds}; configurations: Crucible {crucible_configs}, "
          f"PyTorch {pytorch_configs}; {blas_in_use()}")
    print_table(ours, theirs, ["model", "pass", "batch"], lambda k: (k[0], PASSES[k[1]], str(k[2])),
                lambda k: k)


if __name__ == "__main__":
    main()
