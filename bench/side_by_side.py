"""Shared by the compare_*.py scripts: runtime configurations, rounds, and the ratio table.

Both Crucible and PyTorch use OpenMP (libgomp), whose wait policy decides small-batch speed:
spinning at barriers makes a batch-1 pass fast on a quiet machine, while passive waiting pays
a thread wake-up per primitive; on a loaded machine spinning waits for threads that are not
scheduled and is 10-60x slower. PyTorch also has OpenBLAS's own thread pool, which competes
with its OpenMP threads. So each side runs every round under each of its configurations
("passive" and "spin" for both; PyTorch also each with OPENBLAS_NUM_THREADS=1) and a table
cell compares each side's best configuration, naming it.
"""
import json
import os
import statistics
import subprocess
import sys

# Configuration name -> environment overrides (None removes the variable).
CRUCIBLE_CONFIGS = {"passive": {"OMP_WAIT_POLICY": "PASSIVE"}, "spin": {"OMP_WAIT_POLICY": None}}
PYTORCH_CONFIGS = dict(CRUCIBLE_CONFIGS, **{
    "passive, OpenBLAS 1 thread": {"OMP_WAIT_POLICY": "PASSIVE", "OPENBLAS_NUM_THREADS": "1"},
    "spin, OpenBLAS 1 thread": {"OMP_WAIT_POLICY": None, "OPENBLAS_NUM_THREADS": "1"}})


def config_env(overrides, **extra):
    env = dict(os.environ)
    for name, value in overrides.items():
        env.pop(name, None)
        if value is not None:
            env[name] = value
    env.update(extra)
    return env


def pytorch_env(overrides, threads):
    """PyTorch's environment: Debian's OpenBLAS needs OPENBLAS_CORETYPE on these Xeons (DESIGN.md)."""
    return config_env(overrides, OPENBLAS_CORETYPE="SkylakeX", OMP_NUM_THREADS=str(threads))


def google_benchmarks(stdout):
    """The runs in a Google Benchmark --benchmark_format=json output; failed ones are reported and skipped."""
    for b in json.loads(stdout)["benchmarks"]:
        if b.get("error_occurred"):
            print(f"{b['name']}: {b.get('error_message', 'failed')}", file=sys.stderr)
            continue
        yield b


def blas_in_use():
    env = dict(os.environ, OPENBLAS_CORETYPE="SkylakeX")
    code = "import torch; print(torch.__config__.show())"
    info = subprocess.run(["/usr/bin/python3", "-c", code], env=env, capture_output=True, text=True).stdout
    libs = subprocess.run(["sh", "-c", "readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3"], capture_output=True,
                          text=True).stdout.strip()
    mkldnn = "USE_MKLDNN=ON" in info or "USE_MKLDNN=1" in info
    return f"libblas.so.3 -> {libs}; PyTorch built with mkldnn: {mkldnn}"


def run_rounds(rounds, policies, crucible_round, pytorch_round):
    """Alternates the two sides under each configuration whose policy is in `policies`.

    crucible_round(overrides) and pytorch_round(overrides) return {key: images/s}; the result
    is (ours, theirs, crucible configs, pytorch configs), each side {key: {config: [images/s]}}.
    """
    crucible_configs = {name: CRUCIBLE_CONFIGS[name] for name in policies}
    pytorch_configs = {name: env for name, env in PYTORCH_CONFIGS.items() if name.split(",")[0] in policies}
    ours, theirs = {}, {}
    for r in range(rounds):
        print(f"round {r + 1}/{rounds}", file=sys.stderr)
        for side, configs, run in ((ours, crucible_configs, crucible_round), (theirs, pytorch_configs, pytorch_round)):
            for config, overrides in configs.items():
                for key, value in run(overrides).items():
                    side.setdefault(key, {}).setdefault(config, []).append(value)
    return ours, theirs, list(crucible_configs), list(pytorch_configs)


def best_config(runs_by_config):
    """The configuration with the highest median, and its runs."""
    return max(runs_by_config.items(), key=lambda item: statistics.median(item[1]))


def print_table(ours, theirs, columns, describe, order):
    """One Markdown row per key both sides measured: describe(key) gives the leading cells."""
    print("| " + " | ".join(columns) + " | Crucible images/s (min–max) [config] | "
          "PyTorch images/s (min–max) [config] | ratio (medians) |")
    print("|" + "---|" * (len(columns) + 3))
    for key in sorted(ours, key=order):
        if key not in theirs:
            continue
        (ca, a), (cb, b) = best_config(ours[key]), best_config(theirs[key])
        ma, mb = statistics.median(a), statistics.median(b)
        print(f"| {' | '.join(describe(key))} | {ma:,.1f} ({min(a):,.1f}–{max(a):,.1f}) [{ca}] | "
              f"{mb:,.1f} ({min(b):,.1f}–{max(b):,.1f}) [{cb}] | {ma / mb:.2f}× |")
