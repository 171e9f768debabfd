#!/usr/bin/python3
"""Side-by-side throughput of Crucible's executor and PyTorch on the fixture CNNs.

Runs build/bench/executor_bench and bench/pytorch_baseline.py alternately for
several rounds in one run (same machine, same ONNX weights, same shapes, same
thread count), then prints medians, spreads and the Crucible/PyTorch ratio.

PyTorch runs with OPENBLAS_CORETYPE=SkylakeX (see DESIGN.md: Debian's OpenBLAS
otherwise picks a slow generic kernel on these Xeons); the BLAS it loaded is
reported. Needs python3-torch, python3-onnx and libopenblas0-pthread.

Usage: bench/compare_pytorch.py [--build build] [--rounds 5] [--threads 2] [--markdown]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def crucible_round(build, threads, min_time):
    env = dict(os.environ, CRUCIBLE_BENCH_THREADS=str(threads))
    out = subprocess.run([os.path.join(build, "bench", "executor_bench"), "--benchmark_format=json",
                          f"--benchmark_min_time={min_time}"], env=env, check=True, capture_output=True, text=True)
    results = {}
    for b in json.loads(out.stdout)["benchmarks"]:
        # Name: BM_Forward/fmnist_lenet/32/real_time
        kind, model, batch = b["name"].split("/")[:3]
        mode = "forward" if kind == "BM_Forward" else "gradient"
        results[(model, mode, int(batch))] = b["items_per_second"]
    return results


def pytorch_round(threads, min_time):
    env = dict(os.environ, OPENBLAS_CORETYPE="SkylakeX", OMP_NUM_THREADS=str(threads))
    out = subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "bench", "pytorch_baseline.py"), "--models",
                          os.path.join(ROOT, "tests", "fixtures", "models"), "--threads", str(threads),
                          "--min-time", str(min_time)], env=env, check=True, capture_output=True, text=True)
    results = {}
    for line in out.stdout.splitlines():
        r = json.loads(line)
        results[(r["model"], r["mode"], r["batch"])] = r["images_per_second"]
    return results


def blas_in_use():
    env = dict(os.environ, OPENBLAS_CORETYPE="SkylakeX")
    code = "import torch; print(torch.__config__.show())"
    info = subprocess.run(["/usr/bin/python3", "-c", code], env=env, capture_output=True, text=True).stdout
    libs = subprocess.run(["sh", "-c", "readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3"], capture_output=True,
                          text=True).stdout.strip()
    mkldnn = "USE_MKLDNN=ON" in info or "USE_MKLDNN=1" in info
    return f"libblas.so.3 -> {libs}; PyTorch built with mkldnn: {mkldnn}"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", default=os.path.join(ROOT, "build"))
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--min-time", type=float, default=0.3)
    args = parser.parse_args()

    ours, theirs = {}, {}
    for r in range(args.rounds):
        print(f"round {r + 1}/{args.rounds}", file=sys.stderr)
        for key, value in crucible_round(args.build, args.threads, args.min_time).items():
            ours.setdefault(key, []).append(value)
        for key, value in pytorch_round(args.threads, args.min_time).items():
            theirs.setdefault(key, []).append(value)

    print(f"threads: {args.threads}; rounds: {args.rounds}; {blas_in_use()}")
    print("| model | pass | batch | Crucible images/s (min–max) | PyTorch images/s (min–max) | ratio (median) |")
    print("|---|---|---|---|---|---|")
    for key in sorted(ours, key=lambda k: (k[0], k[1], k[2])):
        if key not in theirs:
            continue
        a, b = ours[key], theirs[key]
        ma, mb = statistics.median(a), statistics.median(b)
        mode = "forward" if key[1] == "forward" else "forward + input gradient"
        print(f"| {key[0]} | {mode} | {key[2]} | {ma:,.0f} ({min(a):,.0f}–{max(a):,.0f}) | "
              f"{mb:,.0f} ({min(b):,.0f}–{max(b):,.0f}) | {ma / mb:.2f}× |")


if __name__ == "__main__":
    main()
