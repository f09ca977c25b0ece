"""The `labkit` command: models, targets, compile, sweep, numerics, advise, doctor, lab, prepare, cache."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from . import formats as fmt
from .errors import LabkitError, UnknownModelError
from .quantization import DEFAULT, SCHEMES, from_text

DEFAULT_LESSONS_DIR = Path("~/labkit-lessons")


def _print_table(df) -> None:
    import pandas as pd

    with pd.option_context("display.width", 200, "display.max_colwidth", 90, "display.max_rows", 500):
        print(df.to_string(index=False))


def cmd_models(args) -> None:
    from .models import models_table

    _print_table(models_table())


def cmd_targets(args) -> None:
    from .targets import presets_table, targets_table

    print("Presets:")
    _print_table(presets_table())
    print("\nAccelerator configs (system configs read from Vela's .ini):")
    _print_table(targets_table(args.config_ini))
    from .targets import CPU_ONLY, resolve_target

    print("\nCPU-only targets (no NPU; every operator on CMSIS-NN or portable kernels, cycles a "
          "cortex-m-estimate):")
    for name, family in CPU_ONLY.items():
        print(f"  {name}  at {resolve_target(name).cpu_clock_hz / 1e6:.0f} MHz (the clock of the "
              f"{family.replace('ethos-u', 'Ethos-U')} Corstone design's default system config)")


def cmd_compile(args) -> None:
    from .api import compile

    report = compile(args.model, _target(args), board=args.board, system_config=args.system_config,
                     memory_mode=args.memory_mode, config_ini=args.config_ini, cache=not args.no_cache,
                     progress=not args.json, quantization=from_text(args.quantization, args.override),
                     calibration=args.calibration, cpu_kernels=args.cpu_kernels, cpu=args.cpu,
                     allow_overflow=args.board is not None)
    if args.board is not None and not args.json:
        print(_regions_text(report))
    if args.json:
        operators = json.loads(report.operators.to_json(orient="records"))
        print(json.dumps({"summary": json.loads(report.summary.to_json()), "operators": operators}, indent=1))
        return
    if args.csv:
        report.operators.to_csv(args.csv, index=False)
        print(f"wrote the operator table to {args.csv}", file=sys.stderr)
    if args.html:
        from .views.html import write_html

        write_html(report, args.html)
        print(f"wrote {args.html}", file=sys.stderr)
    print(report.summary_text())
    how = "from the cache" if report.from_cache else "compiled now"
    print(f"\nOperators (placement by the Ethos-U partitioner; {how}):")
    _print_table(report.operators[["node", "op", "module", "act_bits", "weight_bits", "placement", "partition",
                                   "reason"]])
    cpu = report.operators[report.operators["kernel"].fillna("") != ""] if "kernel" in report.operators else []
    if len(cpu):
        print(f"\nCPU operators (kernels: {report.results['cpu_kernels']} on {report.target.cpu_core}; "
              "cycles: cortex-m-estimate, low-high):")
        shown = cpu[["node", "kernel"]].assign(
            cycles=[f"{fmt.cycles(lo)}-{fmt.cycles(hi)}" if lo == lo else "" for lo, hi in
                    zip(cpu["cpu_cycles_low"], cpu["cpu_cycles_high"])])
        _print_table(shown)


def cmd_sweep(args) -> None:
    from .sweeps import sweep

    if args.boards:
        boards = "all" if args.boards == "all" else args.boards.split(",")
        df = sweep(args.model, boards=boards, progress=True, quantization=args.quantization.split(","))
        _print_table(df[["board", "accelerator", "inference_ms", "total_ms_low", "total_ms_high", "fits",
                         "tightest_region", "margin_kib", "error"]])
        print("NPU time: vela-estimate at the board's NPU clock; whole inference adds the CPU range "
              "(cortex-m-estimate) at its CPU clock; margin: the tightest memory region's room left (KiB)")
        return
    targets = args.targets if args.targets in ("all", "u55", "u65", "u85") else args.targets.split(",")
    df = sweep(args.model, targets, system_configs=args.system_configs and args.system_configs.split(","),
               memory_modes=args.memory_modes and args.memory_modes.split(","), progress=True,
               quantization=args.quantization.split(","))
    if args.csv:
        df.to_csv(args.csv, index=False)
        print(f"wrote {args.csv}", file=sys.stderr)
    print(f"{args.model}: numbers are Vela estimates (vela-estimate)")
    columns = ["quantization", "accelerator", "system_config", "memory_mode", "total_cycles", "inference_ms",
               "sram_kib", "flash_kib", "fits", "npu_ops", "cpu_ops", "partitions", "accuracy", "error"]
    _print_table(df[[c for c in columns if c in df and (c != "accuracy" or df[c].notna().any())]])


def cmd_boards(args) -> None:
    from .hardware import boards

    table = boards()
    _print_table(table.reset_index()[["id", "name", "cpu", "cpu_mhz", "npu", "npu_mhz", "memory_mode"]])
    print("Every fact's source: data/boards/boards.toml. Compile for one: labkit compile MODEL --board ID")


def _target(args):
    """--target, or none when --board names the hardware (the default target otherwise)."""
    return None if args.board is not None else (args.target or "corstone-320")


def _regions_text(report) -> str:
    regions = report.regions
    lines = [f"{report.model} on {report.board.id} ({report.board.name}): "
             + ("fits every memory region" if report.fits else "does NOT fit")]
    for r in regions.itertuples():
        lines.append(f"  {r.region:<12} {r.kind:<10} {fmt.kib(r.used / 1024):>12} of {fmt.kib(r.size / 1024):>12} KiB"
                     f"  margin {fmt.kib(r.margin / 1024):>12} KiB{'' if r.fits else '  OVER'}")
    if not report.fits:
        from .hardware import overflow_message

        lines.append(overflow_message(report.model, report.target, regions, report.deployment))
    return "\n".join(lines)


def cmd_numerics(args) -> None:
    from .runtime.numerics import numerics

    table = numerics(args.model, args.target, quantization=from_text(args.quantization, args.override),
                     progress=not args.json)
    if args.json:
        print(json.dumps({"attrs": table.attrs, "operators": json.loads(table.to_json(orient="records"))},
                         indent=1, default=str))
        return
    a = table.attrs
    print(f"{a['model']} on {a['target']} ({a['quantization']}), {a['data']}: SQNR vs PyTorch float "
          "(fake-quant-int8 and tosa-reference), dB")
    shown = table[~table["op"].str.startswith("quantized_decomposed.")]
    _print_table(shown[["op", "module", "placement", "sqnr_fake_quant_db", "sqnr_tosa_db", "tosa_vs_fake_quant_lsb",
                        "sqnr_drop_db"]].round(2))


def cmd_doctor(args) -> None:
    from . import cache
    from .report import tool_versions
    from .targets import bundled_vela_ini

    print("labkit doctor")
    print(f"  python           {sys.version.split()[0]} ({sys.executable})")
    for k, v in tool_versions().items():
        print(f"  {k:<16} {v}")
    print(f"  vela config      {bundled_vela_ini()}")
    root = cache.default_root()
    print(f"  cache            {root} ({len(cache.entries())} entries, {cache.size_bytes() / 2**20:.1f} MiB)")
    from . import fvp

    for line in fvp.doctor_lines():
        print(f"  {line}")


# JupyterLab settings for the lessons: start the notebook's kernel without asking (for a
# notebook without kernelspec metadata), and no news pop-up in the middle of a demo.
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"autoStartDefaultKernel": True},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false",
                                                                         "checkForUpdates": False},
}


def lab_settings_dir() -> Path:
    """A labkit-owned JupyterLab user-settings folder (the user's own is left alone)."""
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "labkit" / "jupyterlab-settings"
    for rel, values in LAB_SETTINGS.items():
        path = base / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values, indent=1))
    return base


# labkit's own JupyterLab extension (source: labextension/ in the repository): Run All Cells waits for the
# notebook's kernel while it starts, where JupyterLab 4.6 drops every cell it finds without one. Loaded only
# in the JupyterLab that `labkit lab` starts; it replaces JupyterLab's default cell executor there.
LABEXTENSIONS = Path(__file__).resolve().parent / "app" / "labextension"


def lab_command(root: Path, ip: str = "127.0.0.1", port: str = "8888") -> list[str]:
    """The JupyterLab command line: localhost only, token auth on (Jupyter's default), labkit's
    settings and its Run All extension."""
    cmd = [sys.executable, "-m", "jupyter", "lab", f"--ServerApp.ip={ip}", f"--ServerApp.port={port}",
           f"--ServerApp.root_dir={root}", f"--LabApp.user_settings_dir={lab_settings_dir()}",
           f"--LabApp.extra_labextensions_path={LABEXTENSIONS}"]
    if os.geteuid() == 0:  # containers often run as root; Jupyter refuses without this
        cmd.append("--allow-root")
    return cmd


def cmd_lab(args) -> None:
    """Install the lessons into a folder of yours and start JupyterLab on them (localhost, token auth)."""
    from . import lessons

    folder = Path(args.dir).expanduser().resolve()
    for note in lessons.install(folder):
        print(f"labkit: {note}", file=sys.stderr)
    if args.prepare:
        if prepare(None) != 0:
            print("labkit: some lessons failed while preparing (above); starting the lab anyway.", file=sys.stderr)
    cmd = lab_command(folder, args.ip, args.port)
    if args.no_browser:
        cmd.append("--no-browser")
    cmd.append(f"--LabApp.default_url=/lab/tree/{lessons.sources()[0].stem}.ipynb")
    print(f"Starting JupyterLab on the labkit lessons in {folder} (token auth on; the URL with the token is "
          "printed below).")
    os.execv(sys.executable, cmd)


def cmd_lessons(args) -> None:
    """Copy the lessons into a folder (a copy you edited is kept)."""
    from . import lessons

    folder = Path(args.dir).expanduser().resolve()
    for note in lessons.install(folder):
        print(f"labkit: {note}", file=sys.stderr)
    print(f"The {len(lessons.sources())} lessons are in {folder}; open them with `labkit lab --dir {args.dir}`.")


def cmd_prepare(args) -> int:
    return prepare([int(n) for n in args.lessons.split(",")] if args.lessons else None)


def prepare(numbers) -> int:
    """Run the lessons headless once, so everything they compile is in the cache: after this,
    each lesson runs from the cache in seconds (ahead of a talk). Returns the exit status."""
    import tempfile

    from tqdm.auto import tqdm

    from . import lessons

    chosen = lessons.select(numbers)
    failed = 0
    with tempfile.TemporaryDirectory(prefix="labkit-prepare-") as tmp, \
            tqdm(chosen, desc="preparing the lessons", unit="lesson") as bar:
        for source in bar:
            bar.set_postfix_str(source.stem)
            run = lessons.run(source, Path(tmp))
            failed += not run.ok
            bar.write(f"  {source.stem}: {'ok' if run.ok else 'FAILED'} in {run.seconds:.0f} s"
                      + (f" ({run.error})" if run.error else ""))
    from . import cache

    print(f"{len(chosen) - failed} of {len(chosen)} lessons ran; what they compile is in the cache "
          f"({cache.default_root()}).")
    return 1 if failed else 0


def cmd_cache(args) -> None:
    from . import cache

    if args.action == "clear":
        cache.clear()
        print(f"cleared {cache.default_root()}")
    else:
        print(f"{cache.default_root()}: {len(cache.entries())} entries, {cache.size_bytes() / 2**20:.1f} MiB")


def cmd_advise(args) -> None:
    from .advice import advise, describe_kwargs
    from .api import compile

    report = compile(args.model, _target(args), board=args.board, system_config=args.system_config,
                     memory_mode=args.memory_mode, progress=not args.json,
                     quantization=from_text(args.quantization, args.override), cpu_kernels=args.cpu_kernels,
                     allow_overflow=True)
    levers = args.levers.split(",") if args.levers else None
    table = advise(report, levers=levers, budget=args.budget, progress=not args.json)
    if args.json:
        rows = [{**row, "kwargs": describe_kwargs(row["kwargs"])} for row in table.to_dict(orient="records")]
        print(json.dumps({"attrs": table.attrs, "advice": rows}, indent=1, default=str))
        return
    print(f"{report.model} on {report.target.label}: {table.attrs['message']}")
    if table.empty:
        return
    print("Each change was compiled; deltas against the report above: ms (vela-estimate + cortex-m-estimate), "
          "cycles (vela-estimate), CPU cycles (cortex-m-estimate), SRAM KiB (vela-estimate)"
          + (", accuracy (tosa-reference)" if table["delta_accuracy"].notna().any() else "") + ".")
    for n, row in enumerate(table.itertuples(), 1):
        print(f"\n{n}. {row.change}\n   benefit: {row.benefit}\n   why: {row.why}")
        print(f"   delta: {row.delta_ms:+.3f} ms, {row.delta_cycles:+,.0f} cycles, {row.delta_cpu_cycles:+,.0f} CPU "
              f"cycles, {row.delta_sram_kib:+.1f} KiB SRAM"
              + (f", {100 * row.delta_accuracy:+.1f} points accuracy" if row.delta_accuracy == row.delta_accuracy
                 else "") + f"; fits: {row.fits}")
        print(f"   compile it: {', '.join(f'{k}={v!r}' for k, v in describe_kwargs(row.kwargs).items())}")


def _quantization_arguments(parser) -> None:
    parser.add_argument("--quantization", default=DEFAULT, choices=list(SCHEMES),
                        help=f"the scheme (default {DEFAULT})")
    parser.add_argument("--override", default="", metavar="MODULE=SCHEME,...",
                        help="per-module schemes, e.g. features.1=a16w8,classifier=int8")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="labkit", description="Compile PyTorch models for Arm Ethos-U NPUs "
                                "with ExecuTorch + Vela, and see where the cycles go.")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = p.add_subparsers(dest="command", required=True)

    sub.add_parser("models", help="list the built-in models").set_defaults(func=cmd_models)
    sub.add_parser("boards", help="list the boards (CPU, NPU, clocks, memory; sources in data/boards)"
                   ).set_defaults(func=cmd_boards)
    t = sub.add_parser("targets", help="list presets and accelerator configs")
    t.add_argument("--config-ini", help="a custom Vela .ini")
    t.set_defaults(func=cmd_targets)

    c = sub.add_parser("compile", help="compile a model for a target and print its report")
    c.add_argument("model", help="a built-in model name or a .pt2 file")
    c.add_argument("--target", help="preset or accelerator (default: corstone-320)")
    c.add_argument("--board", help="a board instead of a target (see `labkit boards`), or your own .toml")
    c.add_argument("--system-config")
    c.add_argument("--memory-mode")
    c.add_argument("--config-ini", help="a custom Vela .ini")
    out = c.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print {summary, operators} as JSON")
    out.add_argument("--csv", metavar="FILE", help="also write the operator table as CSV")
    c.add_argument("--html", metavar="FILE", help="also write a standalone HTML report")
    c.add_argument("--no-cache", action="store_true")
    _quantization_arguments(c)
    c.add_argument("--calibration", type=int, metavar="N", help="calibrate on the model's first N samples")
    c.add_argument("--cpu-kernels", default="cmsis-nn", choices=["cmsis-nn", "portable"],
                   help="kernels of the operators outside the NPU (default: cmsis-nn)")
    c.add_argument("--cpu", choices=["cortex-m55", "cortex-m85"],
                   help="the Cortex-M core next to the NPU (default: the Corstone design's for the NPU family)")
    c.set_defaults(func=cmd_compile)

    sw = sub.add_parser("sweep", help="compile one model for many NPU configurations (one row each)")
    sw.add_argument("model")
    sw.add_argument("--targets", default="all", help="all | u55 | u65 | u85 | comma-separated accelerators")
    sw.add_argument("--boards", help="all | comma-separated boards (instead of --targets): which boards run it")
    sw.add_argument("--system-configs", help="comma-separated; only the ones valid per accelerator are used")
    sw.add_argument("--memory-modes", help="comma-separated; only the ones valid per combination are used")
    sw.add_argument("--csv", metavar="FILE", help="also write the table as CSV")
    sw.add_argument("--quantization", default=DEFAULT,
                    help=f"comma-separated schemes to compare ({', '.join(SCHEMES)}; default {DEFAULT})")
    sw.set_defaults(func=cmd_sweep)

    n = sub.add_parser("numerics", help="SQNR of fake-quant and the TOSA reference model vs float, per operator")
    n.add_argument("model")
    n.add_argument("--target", default="corstone-320", help="preset or accelerator (default: corstone-320)")
    n.add_argument("--json", action="store_true", help="print {attrs, operators} as JSON")
    _quantization_arguments(n)
    n.set_defaults(func=cmd_numerics)

    a = sub.add_parser("advise", help="candidate changes (NPU config, rewrites, CPU kernels, quantization), each "
                       "measured by a real compile, best first")
    a.add_argument("model")
    a.add_argument("--target", help="preset or accelerator (default: corstone-320)")
    a.add_argument("--board", help="a board instead of a target (see `labkit boards`)")
    a.add_argument("--system-config")
    a.add_argument("--memory-mode")
    _quantization_arguments(a)
    a.add_argument("--cpu-kernels", default="cmsis-nn", choices=["cmsis-nn", "portable"])
    a.add_argument("--levers", help="comma-separated: target,rewrites,cpu_kernels,quantization (default: all)")
    a.add_argument("--budget", type=int, help="at most this many compiles (cache hits are free)")
    a.add_argument("--json", action="store_true", help="print {attrs, advice} as JSON")
    a.set_defaults(func=cmd_advise)

    sub.add_parser("doctor", help="tool versions, FVP, cache").set_defaults(func=cmd_doctor)

    lab = sub.add_parser("lab", help="start JupyterLab on the lessons (localhost, token auth)")
    lab.add_argument("--dir", default=str(DEFAULT_LESSONS_DIR),
                     help=f"where the lessons are installed (default: {DEFAULT_LESSONS_DIR})")
    lab.add_argument("--prepare", action="store_true",
                     help="first compile what the lessons need (labkit prepare), for a fast demo")
    lab.add_argument("--ip", default="127.0.0.1",
                     help="the address JupyterLab listens on (default: 127.0.0.1, this machine only)")
    lab.add_argument("--port", default="8888", help="its port (default: 8888; the next free one if taken)")
    lab.add_argument("--no-browser", action="store_true",
                     help="do not open a browser (open the printed URL yourself, e.g. on a remote machine)")
    lab.set_defaults(func=cmd_lab)

    ls = sub.add_parser("lessons", help="copy the lesson notebooks into a folder")
    ls.add_argument("dir", help="the folder to copy them into (a lesson you edited there is kept)")
    ls.set_defaults(func=cmd_lessons)

    pr = sub.add_parser("prepare", help="run the lessons headless once so their compiles are cached (before a demo)")
    pr.add_argument("--lessons", help="comma-separated lesson numbers (default: all)")
    pr.set_defaults(func=cmd_prepare)

    k = sub.add_parser("cache", help="show or clear the compile cache")
    k.add_argument("action", choices=["info", "clear"], nargs="?", default="info")
    k.set_defaults(func=cmd_cache)
    return p


def check_model(name: str) -> None:
    """A model the command line can take: a built-in's name or a .pt2 file (which carries its
    example inputs; an nn.Module and its inputs are for Python)."""
    from .models import registry

    if name in registry() or name.endswith(".pt2") or os.sep in name or os.path.exists(name):
        return
    raise UnknownModelError(
        f"Unknown model {name!r}. Built-in models: {', '.join(registry())} (see `labkit models`). Or give the path "
        "of a .pt2 file written by torch.export.save(torch.export.export(model, example_inputs), 'model.pt2'): "
        "it carries its own example inputs.")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if getattr(args, "model", None) is not None:
            check_model(args.model)
        status = args.func(args)
    except LabkitError as e:
        if args.debug:
            raise
        print(f"labkit: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("labkit: interrupted; nothing was cached.", file=sys.stderr)
        return 130
    return status or 0


if __name__ == "__main__":
    sys.exit(main())
