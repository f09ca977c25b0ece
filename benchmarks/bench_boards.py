"""A sweep over every board against one cold compile of the same model, both with an
empty cache, measured in this run. The boards share two TOSA profiles (U55/U65 and U85),
so the sweep lowers twice and runs Vela per board. Reports the ratio and the sweep's
table; asserts nothing about time.

    python benchmarks/bench_boards.py [--model mobilenet_v2]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap

CODE = textwrap.dedent("""
    import json, sys, time
    import labkit
    from labkit.toolchain.lower import warm_up
    warm_up()   # the toolchain's imports, before either clock starts
    model, what = sys.argv[1], sys.argv[2]
    t0 = time.perf_counter()
    if what == "compile":
        labkit.compile(model, progress=False)
        print(json.dumps({"seconds": time.perf_counter() - t0}))
    else:
        df = labkit.sweep(model, boards="all", progress=False)
        columns = ["board", "accelerator", "inference_ms", "total_ms_low", "total_ms_high", "fits",
                   "tightest_region", "margin_kib", "error"]
        print(json.dumps({"seconds": time.perf_counter() - t0,
                          "table": df[columns].to_dict(orient="records")}))
""")


def run(model: str, what: str) -> dict:
    env = dict(os.environ, LABKIT_CACHE_DIR=tempfile.mkdtemp(prefix="labkit-bench-boards-"))
    out = subprocess.run([sys.executable, "-c", CODE, model, what], capture_output=True, text=True, env=env,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="mobilenet_v2")
    args = ap.parse_args()
    one = run(args.model, "compile")
    every = run(args.model, "sweep")
    print(f"{args.model}, empty cache each:")
    print(f"  one cold compile (corstone-320)      : {one['seconds']:.1f} s")
    print(f"  sweep(boards='all'), {len(every['table'])} boards : {every['seconds']:.1f} s")
    print(f"  ratio sweep / one compile            : {every['seconds'] / one['seconds']:.2f}")
    print("  board            NPU ms (vela-estimate)  whole inference ms (+ cortex-m-estimate)  fits  tightest region")
    for r in every["table"]:
        whole = (f"{r['total_ms_low']:.3g}–{r['total_ms_high']:.3g}" if r["total_ms_low"] == r["total_ms_low"]
                 else "no CPU estimate")
        print(f"  {r['board']:<16} {r['inference_ms']:>10.3g}  {whole:>24}  {str(r['fits']):>5}  "
              f"{r['tightest_region']} ({r['margin_kib']:,.0f} KiB left){'  ' + r['error'] if r['error'] else ''}")


if __name__ == "__main__":
    main()
