"""A sweep of every accelerator config (cold cache) vs. independent hand-written
compiles of each, in one process, measured in the same run. Reports the ratio
and both times, and checks the cycles agree; asserts nothing about time.

    python benchmarks/bench_sweep.py [--model mobilenet_v2] [--targets all]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time

HAND_WRITTEN = textwrap.dedent("""
    import csv, glob, json, sys, tempfile, time
    import torch
    from executorch.backends.arm.ethosu import EthosUCompileSpec, EthosUPartitioner
    from executorch.backends.arm.quantizer import EthosUQuantizer, get_symmetric_quantization_config
    from executorch.exir import to_edge_transform_and_lower
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e
    from labkit import models
    spec = models.get(sys.argv[1])
    model, example, calibration = spec.factory(), spec.example_inputs(), spec.calibration_inputs()
    cycles, t0 = {}, time.perf_counter()
    for target in sys.argv[2].split(","):
        out = tempfile.mkdtemp()
        cs = EthosUCompileSpec(target).dump_intermediate_artifacts_to(out)
        gm = torch.export.export(model, example).module(check_guards=False)
        q = EthosUQuantizer(cs); q.set_global(get_symmetric_quantization_config())
        p = prepare_pt2e(gm, q)
        for s in calibration: p(*s)
        edge = to_edge_transform_and_lower(torch.export.export(convert_pt2e(p), example),
                                           partitioner=[EthosUPartitioner(cs)])
        edge.to_executorch()
        (summary,) = glob.glob(out + "/output/out_summary_*.csv")   # one partition for the built-ins
        cycles[target] = int(float(next(csv.DictReader(open(summary)))["cycles_total"]))
    print(json.dumps({"seconds": time.perf_counter() - t0, "cycles": cycles}))
""")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="mobilenet_v2")
    ap.add_argument("--targets", default="all")
    args = ap.parse_args()
    import labkit
    from labkit.sweeps import expand_targets

    accs = [t.accelerator for t in expand_targets(args.targets)]
    os.environ["LABKIT_CACHE_DIR"] = tempfile.mkdtemp(prefix="labkit-bench-sweep-")
    # Both sides start with the toolchain imported: the hand-written loop times from
    # after its imports, and labkit's shared worker is warmed, as the Lab does at start.
    labkit.warm_up(background=False)
    t0 = time.perf_counter()
    df = labkit.sweep(args.model, accs, progress=False)
    sweep_seconds = time.perf_counter() - t0
    out = subprocess.run([sys.executable, "-c", HAND_WRITTEN, args.model, ",".join(accs)], capture_output=True,
                         text=True, check=True)
    hand = json.loads(out.stdout.strip().splitlines()[-1])
    ours = dict(zip(df["accelerator"], df["total_cycles"]))
    equal = all(int(ours[a]) == hand["cycles"][a] for a in accs)
    print(f"{args.model}: {len(accs)} targets, cold cache")
    print(f"  labkit.sweep        : {sweep_seconds:.1f} s")
    print(f"  {len(accs)} hand-written compiles (one process): {hand['seconds']:.1f} s")
    print(f"  speed-up            : {hand['seconds'] / sweep_seconds:.2f}x")
    print(f"  cycles equal to the hand-written results for every target: {equal}")
    if not equal:
        for a in accs:
            print(f"    {a}: labkit {int(ours[a])}, hand-written {hand['cycles'][a]}")


if __name__ == "__main__":
    main()
