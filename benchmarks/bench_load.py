"""Load: 20 compiles of different models and targets in a row in one process
(a kernel), cold cache. Reports the kernel's and the worker's resident memory
after the first and after the last compile, and the worker recycles
(LABKIT_WORKER_MAX_JOBS / LABKIT_WORKER_MAX_RSS_MB bound it).

    python benchmarks/bench_load.py
"""

import itertools
import os
import tempfile

import psutil

MODELS = ["ds_cnn", "resnet8", "deep_autoencoder", "mobilenet_v1_025"]
TARGETS = ["ethos-u55-32", "ethos-u55-128", "ethos-u65-256", "ethos-u85-128", "ethos-u85-1024"]


def rss_mb(pid: int) -> float:
    return psutil.Process(pid).memory_info().rss / 2**20


def main() -> None:
    os.environ["LABKIT_CACHE_DIR"] = tempfile.mkdtemp(prefix="labkit-bench-load-")
    import labkit
    from labkit.worker import MAX_GROWTH, MAX_JOBS, MAX_RSS_MB, shared

    worker = shared()
    rows, pids = [], []
    for i, (model, target) in enumerate(itertools.islice(itertools.product(MODELS, TARGETS), 20)):
        labkit.compile(model, target, progress=False)
        pid = worker.pid
        pids.append(pid)
        rows.append((i + 1, model, target, rss_mb(os.getpid()), worker.last_rss_mb,
                     rss_mb(pid) if pid else float("nan")))
    print(f"worker bound: recycled after {MAX_JOBS} compiles, above {MAX_RSS_MB} MB or {MAX_GROWTH:.0%} above "
          f"its size after its first compile ({worker.recycled} recycles, "
          f"{len(set(p for p in pids if p))} worker process(es) used)")
    print(f"{'#':>3} {'model':<18} {'target':<15} {'kernel MB':>10} {'worker MB (after job)':>22}")
    for n, model, target, kernel, worker_mb, _ in rows:
        print(f"{n:>3} {model:<18} {target:<15} {kernel:>10.0f} {worker_mb:>22.0f}")
    first, last = rows[0], rows[-1]
    print(f"kernel growth first->last: {100 * (last[3] / first[3] - 1):+.1f}%")
    print(f"worker growth first->last: {100 * (last[4] / first[4] - 1):+.1f}%")


if __name__ == "__main__":
    main()
