#!/usr/bin/env python3
"""The table at the end of compare.sh, from its results file (tab-separated, one line per
measurement): model, row, batch, round, ms per forward, and the largest box difference in px
against the same model's eager fp32 output, from `streaminfer bench model` ("" for ONNX Runtime).

Per model, one row per runtime/variant in the order first measured: the median over rounds of the
ms per forward at each batch with the spread between rounds ((max - min) / median), frames/s at
the largest batch, and the speed against ONNX Runtime fp32 at each batch (ORT ms / row ms: above
1 is faster than ONNX Runtime). The row named by --reference is ONNX Runtime's. Standard library
only (any python3).
  compare_table.py RESULTS.tsv [--reference "ONNX Runtime fp32"]
"""
import argparse
import collections
import statistics
import sys


def load(path):
    """{model: {row: {batch: [ms per round]}}}, rows in first-seen order; and the largest box
    difference per (model, row) over its batches and rounds."""
    ms = collections.OrderedDict()
    dbox = {}
    with open(path) as f:
        for line in f:
            if not line.strip():
                continue
            model, row, batch, _round, value, box = line.rstrip("\n").split("\t")
            rows = ms.setdefault(model, collections.OrderedDict())
            rows.setdefault(row, collections.defaultdict(list))[int(batch)].append(float(value))
            if box:
                key = (model, row)
                dbox[key] = max(dbox.get(key, 0.0), float(box))
    return ms, dbox


def spread(values):
    med = statistics.median(values)
    return (max(values) - min(values)) / med if med > 0 and len(values) > 1 else 0.0


def table(model, rows, dbox, reference):
    batches = sorted({b for per_batch in rows.values() for b in per_batch})
    top = batches[-1]
    ref = rows.get(reference, {})
    head = ["runtime / variant"]
    head += [f"ms/forward b{b} (spread)" for b in batches]
    head += [f"frames/s b{top}"]
    head += [f"vs ORT b{b}" for b in batches]
    head += ["max Δbox px vs eager"]
    out = [f"### {model}", "", "| " + " | ".join(head) + " |",
           "|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|"]
    for row, per_batch in rows.items():
        cells = [row]
        for b in batches:
            v = per_batch.get(b)
            cells.append(f"{statistics.median(v):.1f} ({100 * spread(v):.0f}%)" if v else "-")
        v = per_batch.get(top)
        cells.append(f"{top * 1000 / statistics.median(v):.1f}" if v else "-")
        for b in batches:
            v, r = per_batch.get(b), ref.get(b)
            cells.append(f"{statistics.median(r) / statistics.median(v):.2f}x" if v and r else "-")
        box = dbox.get((model, row))
        cells.append("-" if box is None else f"{box:.3f}")
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results")
    parser.add_argument("--reference", default="ONNX Runtime fp32")
    args = parser.parse_args(argv)
    ms, dbox = load(args.results)
    if not ms:
        raise SystemExit(f"compare_table: no measurements in {args.results}")
    print("\n\n".join(table(model, rows, dbox, args.reference) for model, rows in ms.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
