"""``labkit.advise(report)`` over the NPU configuration against one cold compile of the same
model, both measured in this run in an empty cache. Reports the ratio; asserts nothing
about time.

    python benchmarks/bench_advise.py [--model mobilenet_v2] [--target corstone-320]

The target-level candidates (MAC count, system config, memory mode) reuse the report's
lowering: each costs Vela and a patched .pte, not a compile.
"""

import argparse
import os
import tempfile
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="mobilenet_v2")
    ap.add_argument("--target", default="corstone-320")
    args = ap.parse_args()
    os.environ["LABKIT_CACHE_DIR"] = tempfile.mkdtemp(prefix="labkit-bench-advise-")

    import labkit

    labkit.warm_up(background=False)  # both sides start with the toolchain imported
    t0 = time.perf_counter()
    report = labkit.compile(args.model, args.target, progress=False)
    cold = time.perf_counter() - t0

    t0 = time.perf_counter()
    advice = labkit.advise(report, levers=["target"], progress=False)
    spent = time.perf_counter() - t0
    print(f"{args.model} on {args.target}, empty cache:")
    print(f"  one cold compile                          {cold:7.1f} s")
    print(f"  advise(levers=['target']), {advice.attrs['tried']} candidates  {spent:7.1f} s")
    print(f"  ratio advise / cold compile = {spent / cold:.2f}   (goal: <= 2)")
    print(f"  {advice.attrs['message']}")
    for _, row in advice.iterrows():
        print(f"    {row['benefit']:<40} {row['change']}")


if __name__ == "__main__":
    main()
