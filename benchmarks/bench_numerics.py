"""labkit.numerics against what it must at least do, measured in this run: one
``simulate()`` of the sample (the compiled program on the TOSA reference model)
plus one float forward. Reports the ratio; asserts nothing about time.

    python benchmarks/bench_numerics.py [--model mobilenet_v2] [--target corstone-320] [--repeat 3]

The compile is done (and cached) first, so neither side pays for it. numerics
also loads the compile's fake-quant graph (the report's ``fake_quant`` artifact)
to run it: that is part of its cost, and the report splits it out.
"""

import argparse
import statistics
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="mobilenet_v2")
    ap.add_argument("--target", default="corstone-320")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    import torch

    import labkit
    from labkit.models import resolve
    from labkit.runtime import evaluate

    report = labkit.compile(args.model, args.target)
    m = resolve(args.model)
    sample = m.example()
    module = m.float_module()
    baseline, measured, quantize = [], [], []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        labkit.simulate(report, sample)
        with torch.no_grad():
            module(*sample)
        baseline.append(time.perf_counter() - t0)

        t0 = time.perf_counter()
        evaluate.same_model(m, args.target, "int8", None, sample, False)
        quantize.append(time.perf_counter() - t0)

        t0 = time.perf_counter()
        table = labkit.numerics(args.model, args.target, data=[sample])
        measured.append(time.perf_counter() - t0)
    b, n, q = (statistics.median(x) for x in (baseline, measured, quantize))
    print(f"{args.model} on {args.target}, one sample, median of {args.repeat}:")
    print(f"  simulate + float forward   {b:7.2f} s   (runs: {', '.join(f'{x:.2f}' for x in baseline)})")
    print(f"  numerics                   {n:7.2f} s   (runs: {', '.join(f'{x:.2f}' for x in measured)})")
    print(f"    of which the fake-quant graph {q:5.2f} s   (cache lookup + loading the compile's graph)")
    print(f"  ratio numerics / (simulate + float) = {n / b:.2f}   (goal: <= 2)")
    print(f"  rows {len(table)}, with TOSA values {int(table['sqnr_tosa_db'].notna().sum())}")


if __name__ == "__main__":
    main()
