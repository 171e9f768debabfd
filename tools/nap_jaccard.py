#!/usr/bin/python3
"""Per-class overlap of two NAP sets (NapSet JSON, e.g. Crucible's nap.json and a converted
reference from tools/nap_reference_to_napset.py).

For each class label present in both: the fixed neurons of each side as sets of
(layer, neuron, state); the Jaccard index |A ∩ B| / |A ∪ B| of those sets; the Jaccard
index of the fixed neurons ignoring the state (which neurons are fixed at all); and how many
neurons both fix in opposite states. The sets must index the same layers in the same order
(the script checks layer_sizes when both give them).

    /usr/bin/python3 tools/nap_jaccard.py nap.json nap_ref_0.01.json [--json]
"""
import argparse
import json
import sys


def load_napset(path):
    with open(path) as f:
        return json.load(f)


def fixed_neurons(pattern):
    """{(layer, neuron): state} of one NapPattern in protobuf JSON (defaults may be omitted)."""
    fixed = {}
    for neuron in pattern.get("neurons", []):
        key = (int(neuron.get("layer", 0)), int(neuron.get("neuron", 0)))
        state = neuron.get("state", "STATE_UNSPECIFIED")
        if state not in ("ACTIVE", "INACTIVE"):
            raise ValueError(f"class {pattern.get('label', 0)}: neuron {key} has state {state}")
        fixed[key] = state
    return fixed


def by_label(napset):
    return {int(p.get("label", 0)): fixed_neurons(p) for p in napset.get("patterns", [])}


def jaccard(a, b):
    union = len(a | b)
    return len(a & b) / union if union else 1.0


def compare(ours, reference):
    """Rows (dicts) per label present in both sets, sorted by label."""
    sizes_a, sizes_b = ours.get("layer_sizes"), reference.get("layer_sizes")
    if sizes_a and sizes_b and [int(s) for s in sizes_a] != [int(s) for s in sizes_b]:
        raise ValueError(f"layer sizes differ: {sizes_a} vs {sizes_b}")
    a_by_label, b_by_label = by_label(ours), by_label(reference)
    rows = []
    for label in sorted(set(a_by_label) & set(b_by_label)):
        a, b = a_by_label[label], b_by_label[label]
        with_state_a = set(a.items())
        with_state_b = set(b.items())
        both = set(a) & set(b)
        rows.append({
            "label": label,
            "ours": len(a),
            "reference": len(b),
            "common": len(with_state_a & with_state_b),
            "jaccard": jaccard(with_state_a, with_state_b),
            "jaccard_ignoring_state": jaccard(set(a), set(b)),
            "opposite_states": sum(1 for key in both if a[key] != b[key]),
        })
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("ours")
    parser.add_argument("reference")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    args = parser.parse_args()
    rows = compare(load_napset(args.ours), load_napset(args.reference))
    if args.json:
        json.dump(rows, sys.stdout, indent=1)
        print()
        return
    print("| class | ours | reference | common | Jaccard | Jaccard (ignoring state) | opposite states |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['label']} | {r['ours']} | {r['reference']} | {r['common']} | {r['jaccard']:.3f} "
              f"| {r['jaccard_ignoring_state']:.3f} | {r['opposite_states']} |")


if __name__ == "__main__":
    main()
