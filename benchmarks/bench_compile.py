"""labkit's compile vs. the minimal hand-written ExecuTorch flow, same model and
target, measured in this run. Reports ratios; asserts nothing about time.

    python benchmarks/bench_compile.py [--model mobilenet_v2] [--target ethos-u85-256] [--repeat 3]

Each variant runs in a fresh process (so imports and peak memory are its own);
wall time excludes Python start-up and imports, which both pay alike. With
--repeat N the two alternate N times and the medians are reported: one run of
a 60 s compile varies by a few percent on its own.
"""

import argparse
import json
import subprocess
import sys
import tempfile
import textwrap

HAND_WRITTEN = textwrap.dedent("""
    import json, resource, sys, time
    import torch
    from executorch.backends.arm.ethosu import EthosUCompileSpec, EthosUPartitioner
    from executorch.backends.arm.quantizer import EthosUQuantizer, get_symmetric_quantization_config
    from executorch.exir import to_edge_transform_and_lower
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e
    from labkit import models
    spec = models.get(sys.argv[1])
    model, example = spec.factory(), spec.example_inputs()
    calibration = spec.calibration_inputs()
    t0 = time.perf_counter()
    cs = EthosUCompileSpec(sys.argv[2])
    gm = torch.export.export(model, example).module(check_guards=False)
    q = EthosUQuantizer(cs); q.set_global(get_symmetric_quantization_config())
    p = prepare_pt2e(gm, q)
    for s in calibration: p(*s)
    c = convert_pt2e(p)
    edge = to_edge_transform_and_lower(torch.export.export(c, example), partitioner=[EthosUPartitioner(cs)])
    pte = edge.to_executorch().buffer
    print(json.dumps({"seconds": time.perf_counter() - t0,
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
""")

LABKIT = textwrap.dedent("""
    import json, resource, sys, time
    import labkit
    from labkit.toolchain.lower import warm_up
    warm_up()   # the same imports the hand-written flow pays before its clock
    from labkit import models
    models.get(sys.argv[1]).factory()   # and the same model build
    t0 = time.perf_counter()
    r = labkit.compile(sys.argv[1], sys.argv[2], cache=False, in_process=True, progress=False)
    seconds = time.perf_counter() - t0
    t1 = time.perf_counter()
    labkit.compile(sys.argv[1], sys.argv[2], progress=False)          # fills the cache (worker)
    t2 = time.perf_counter()
    hit = labkit.compile(sys.argv[1], sys.argv[2], progress=False)    # cache hit
    hit_seconds = time.perf_counter() - t2
    print(json.dumps({"seconds": seconds, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "cache_hit_seconds": hit_seconds, "from_cache": hit.from_cache,
                      "total_cycles": int(r.summary["total_cycles"])}))
""")

IMPORT = "import time; t = time.perf_counter(); import labkit; print(time.perf_counter() - t)"


def run(code: str, *args: str, env=None) -> dict:
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="mobilenet_v2")
    ap.add_argument("--target", default="ethos-u85-256")
    ap.add_argument("--repeat", type=int, default=1, help="alternate the two this many times; report medians")
    args = ap.parse_args()
    import os
    from statistics import median

    hands, ours = [], []
    for _ in range(args.repeat):
        env = dict(os.environ, LABKIT_CACHE_DIR=tempfile.mkdtemp(prefix="labkit-bench-"))
        hands.append(run(HAND_WRITTEN, args.model, args.target, env=env))
        ours.append(run(LABKIT, args.model, args.target, env=env))
    imports = sorted(float(subprocess.run([sys.executable, "-c", IMPORT], capture_output=True, text=True,
                                          check=True).stdout) for _ in range(5))

    def med(runs, key):
        return median(r[key] for r in runs)

    def each(runs):
        return ", ".join(f"{r['seconds']:.1f}" for r in runs)

    print(f"model {args.model} on {args.target}, {args.repeat} run(s) each, medians")
    print(f"  hand-written flow : {med(hands, 'seconds'):.2f} s, peak RSS {med(hands, 'peak_rss_mb'):.0f} MB"
          f"  (runs: {each(hands)} s)")
    print(f"  labkit (in-process, full report): {med(ours, 'seconds'):.2f} s, peak RSS "
          f"{med(ours, 'peak_rss_mb'):.0f} MB  (runs: {each(ours)} s)")
    print(f"  wall-time ratio labkit/hand-written : {med(ours, 'seconds') / med(hands, 'seconds'):.3f}")
    print(f"  peak-memory ratio labkit/hand-written: {med(ours, 'peak_rss_mb') / med(hands, 'peak_rss_mb'):.3f}")
    print(f"  cache hit: {med(ours, 'cache_hit_seconds') * 1000:.1f} ms (from_cache={ours[0]['from_cache']})")
    print(f"  import labkit: median {imports[2] * 1000:.0f} ms over 5 fresh processes")


if __name__ == "__main__":
    main()
