#!/usr/bin/python3
"""Side-by-side throughput of Crucible's attacks and PyTorch's on the fixture CNNs.

Runs build/bench/attack_bench and bench/pytorch_attacks.py alternately for several rounds in
one run (same machine, same ONNX weights, same images, same batch sizes, same thread count),
then prints medians, spreads and the Crucible/PyTorch ratio as a Markdown table.

PyTorch runs with OPENBLAS_CORETYPE=SkylakeX (see DESIGN.md); the BLAS it loaded is reported.
Needs python3-torch, python3-onnx and libopenblas0-pthread.

Both sides use OpenMP (libgomp), whose wait policy decides small-batch speed: spinning at
barriers makes a batch-1 pass fast on a quiet machine, while passive waiting pays a thread
wake-up per primitive; on a loaded machine spinning waits for threads that are not scheduled
and is 10-60x slower. PyTorch also has OpenBLAS's own thread pool, which competes with its
OpenMP threads. So each side runs every round under each of its runtime configurations
(--configs: "passive" and "spin" for both; PyTorch also with OPENBLAS_NUM_THREADS=1), and
the table compares each side's best configuration per cell, naming it.

Usage: bench/compare_attacks.py [--build build] [--rounds 3] [--threads 2] [--models M,M] [--batches B,B]
                                [--configs passive,spin]
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


# Runtime configurations: name -> environment overrides (None removes the variable).
CRUCIBLE_CONFIGS = {"passive": {"OMP_WAIT_POLICY": "PASSIVE"}, "spin": {"OMP_WAIT_POLICY": None}}
PYTORCH_CONFIGS = dict(CRUCIBLE_CONFIGS, **{
    "passive, OpenBLAS 1 thread": {"OMP_WAIT_POLICY": "PASSIVE", "OPENBLAS_NUM_THREADS": "1"},
    "spin, OpenBLAS 1 thread": {"OMP_WAIT_POLICY": None, "OPENBLAS_NUM_THREADS": "1"}})


def config_env(overrides):
    env = dict(os.environ)
    for name, value in overrides.items():
        env.pop(name, None)
        if value is not None:
            env[name] = value
    return env


def crucible_round(build, threads, min_time, models, batches, overrides):
    env = dict(config_env(overrides), CRUCIBLE_BENCH_THREADS=str(threads))
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


def pytorch_round(threads, min_time, models, batches, overrides):
    env = dict(config_env(overrides), OPENBLAS_CORETYPE="SkylakeX", OMP_NUM_THREADS=str(threads))
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
    parser.add_argument("--configs", default="passive,spin",
                        help="wait policies to try; PyTorch also tries each with OpenBLAS on 1 thread")
    args = parser.parse_args()
    models, batches = args.models.split(","), args.batches.split(",")
    policies = args.configs.split(",")
    crucible_configs = {name: CRUCIBLE_CONFIGS[name] for name in policies}
    pytorch_configs = {name: env for name, env in PYTORCH_CONFIGS.items() if name.split(",")[0] in policies}

    ours, theirs = {}, {}  # (model, attack, batch) -> config -> [images/s per round]
    for r in range(args.rounds):
        print(f"round {r + 1}/{args.rounds}", file=sys.stderr)
        for config, overrides in crucible_configs.items():
            for key, value in crucible_round(args.build, args.threads, args.min_time, models, batches,
                                             overrides).items():
                ours.setdefault(key, {}).setdefault(config, []).append(value)
        for config, overrides in pytorch_configs.items():
            for key, value in pytorch_round(args.threads, args.min_time, models, batches, overrides).items():
                theirs.setdefault(key, {}).setdefault(config, []).append(value)

    print(f"threads: {args.threads}; rounds: {args.rounds}; configurations: Crucible {list(crucible_configs)}, "
          f"PyTorch {list(pytorch_configs)}; {blas_in_use()}")
    print("| model | attack | batch | Crucible images/s (min–max) [config] | "
          "PyTorch images/s (min–max) [config] | ratio (medians) |")
    print("|---|---|---|---|---|---|")
    order = list(LABELS)
    for key in sorted(ours, key=lambda k: (k[0], order.index(k[1]), k[2])):
        if key not in theirs:
            continue
        (ca, a), (cb, b) = best_config(ours[key]), best_config(theirs[key])
        ma, mb = statistics.median(a), statistics.median(b)
        print(f"| {key[0]} | {LABELS[key[1]]} | {key[2]} | {ma:,.1f} ({min(a):,.1f}–{max(a):,.1f}) [{ca}] | "
              f"{mb:,.1f} ({min(b):,.1f}–{max(b):,.1f}) [{cb}] | {ma / mb:.2f}× |")


def best_config(runs_by_config):
    """The configuration with the highest median, and its runs."""
    return max(runs_by_config.items(), key=lambda item: statistics.median(item[1]))


if __name__ == "__main__":
    main()
