"""`make bench-province`: a province of synthetic departments through the pipeline, measured.

Departments are clones of the demo's (same frameworks and budget-unit structure, new codes, so the
demo generator draws each its own data), grouped into peer groups of four per framework. Each
variant runs in its own process over the same landing folder, with its own store and reports:

- dagster:  `perfeval run` (the Dagster runner, as `make run` uses it), its own DAGSTER_HOME;
- baseline: the same stage functions without Dagster (`python -m perfeval_pipeline.bench.baseline`).

Printed: per-partition CPU and wall of each, their ratio, peak RSS of any process, store + reports
size against the landing size, DAGSTER_HOME per partition, the extrapolation to 660 partitions, and
the command of each variant. CPU is user + system time of the variant's process tree."""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

from perfeval_pipeline.config.settings import Paths, load_settings, package_root

TARGET_PARTITIONS = 660


# Issue #12's targets for the Dagster variant: (what, measured from the variants, limit, unit).
def report_targets(variants: list[dict], partitions: int, landing_bytes: int) -> None:
    d = variants[0]
    rows = [
        ("CPU per partition", d["cpu"] / partitions, 1.8, "s"),
        ("660 partitions, wall", d["wall"] / partitions * TARGET_PARTITIONS / 60, 10.0, "min"),
        ("peak RSS", d["rss_mb"] / 1024, 2.0, "GB"),
        ("store + reports / landing", d["store_reports"] / max(landing_bytes, 1), 1.2, "×"),
        ("DAGSTER_HOME per partition", d["dagster_home"] / 1e3 / partitions, 50.0, "KB"),
    ]
    if len(variants) == 2:
        rows.insert(2, ("Dagster CPU / baseline CPU", d["cpu"] / variants[1]["cpu"], 1.2, "×"))
    print("  targets (dagster variant):")
    for what, value, limit, unit in rows:
        verdict = "met" if value <= limit else f"not met, {value / limit:.1f}× the limit"
        print(f"    {what:<28} {value:8.2f} {unit:<3} (target ≤ {limit:g} {unit}): {verdict}")


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.exists() else 0


def write_config(root: Path, departments: int, years: list[int]) -> Path:
    """A copy of assets_config with `departments` clones of the demo's departments."""
    source = package_root() / "assets_config"
    config = root / "config"
    shutil.rmtree(config, ignore_errors=True)
    shutil.copytree(source, config)
    demo = yaml.safe_load((source / "departments.yaml").read_text(encoding="utf-8"))
    templates = sorted(demo["departments"].items())
    out: dict[str, dict] = {}
    members: dict[str, int] = {}
    groups: dict[str, list[str]] = {}
    for i in range(departments):
        code, entry = templates[i % len(templates)]
        clone = f"p{i:03d}-{code.split('-')[-1]}"
        framework = entry["framework"]
        group = f"{framework}-{members.get(framework, 0) // 4:02d}"  # peer groups of four per framework
        members[framework] = members.get(framework, 0) + 1
        groups.setdefault(group, []).append(clone)
        units = [{**u, "code": f"P{i:03d}{j:02d}"} for j, u in enumerate(entry["budget_units"])]
        out[clone] = {
            **entry,
            "name": f"{entry['name']}（{i:03d}）",
            "budget_units": units,
            "peer_groups": [group],
            "years": years,
        }
        out[clone].pop("rectification_section", None)
    (config / "departments.yaml").write_text(
        yaml.safe_dump({"departments": out, "peer_groups": groups}, allow_unicode=True, sort_keys=False),
        encoding="utf-8",
    )
    pipeline = yaml.safe_load((config / "pipeline.yaml").read_text(encoding="utf-8"))
    pipeline["years"] = sorted(set(pipeline["years"]) | set(years))
    (config / "pipeline.yaml").write_text(
        yaml.safe_dump(pipeline, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )
    return config


def run_variant(name: str, argv: list[str], env: dict[str, str], log: Path) -> dict:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    with log.open("wb") as out:
        code = subprocess.run(argv, env=env, stdout=out, stderr=subprocess.STDOUT).returncode
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "name": name,
        "exit": code,
        "wall": wall,
        "cpu": cpu,
        "rss_mb": after.ru_maxrss / 1024,
        "command": " ".join(argv),
        "log": str(log),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m perfeval_pipeline.bench.province", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--depts", type=int, default=24, help="departments to generate (default 24)")
    parser.add_argument(
        "--years", type=int, default=1, help="years per department, the latest of pipeline.yaml (default 1)"
    )
    parser.add_argument(
        "--dir",
        type=Path,
        default=Path("/tmp/perfeval-province"),
        help="working folder (default /tmp/perfeval-province)",
    )
    parser.add_argument("--workers", type=int, default=0, help="worker processes (default: one per CPU)")
    parser.add_argument("--no-baseline", action="store_true", help="skip the plain-Python baseline")
    args = parser.parse_args(argv)

    root: Path = args.dir
    root.mkdir(parents=True, exist_ok=True)
    base = load_settings(Paths.resolve())
    years = sorted(base.years)[-args.years :]
    config = write_config(root, args.depts, years)
    landing = root / "landing"
    env = {**os.environ, "PERFEVAL_CONFIG": str(config), "PERFEVAL_LANDING": str(landing)}
    settings = load_settings(Paths.resolve(config_dir=config, landing_dir=landing))
    partitions = len(settings.partitions)
    bin_dir = Path(sys.executable).parent

    t0 = time.perf_counter()
    subprocess.run(
        [str(bin_dir / "perfeval"), "demo"],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    generated = time.perf_counter() - t0
    landing_bytes = folder_size(landing)

    variants = []
    for name in ("dagster", "baseline"):
        if name == "baseline" and args.no_baseline:
            continue
        out = root / name
        shutil.rmtree(out, ignore_errors=True)
        venv = {
            **env,
            "PERFEVAL_STORE": str(out / "store"),
            "PERFEVAL_REPORTS": str(out / "reports"),
            "DAGSTER_HOME": str(out / "dagster_home"),
        }
        (out / "dagster_home").mkdir(parents=True)
        (out / "dagster_home" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n", encoding="utf-8")
        workers = ["--workers", str(args.workers)] if args.workers else []
        command = (
            [str(bin_dir / "perfeval"), "run", *workers]
            if name == "dagster"
            else [sys.executable, "-m", "perfeval_pipeline.bench.baseline", *workers]
        )
        result = run_variant(name, command, venv, root / f"{name}.log")
        result["store_reports"] = folder_size(out / "store") + folder_size(out / "reports")
        result["dagster_home"] = folder_size(out / "dagster_home")
        variants.append(result)

    cores = os.cpu_count() or 1
    load = os.getloadavg()
    print(
        f"bench-province: {partitions} partitions ({args.depts} departments × {len(years)} year(s) {years}), "
        f"{cores} cores, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )
    print(
        f"  landing {landing_bytes / 1e6:.1f} MB ({landing_bytes / 1e6 / partitions:.1f} MB per partition), generated in {generated:.0f} s"
    )
    for v in variants:
        per_cpu, per_wall = v["cpu"] / partitions, v["wall"] / partitions
        eta = per_wall * TARGET_PARTITIONS / 60
        print(
            f"  {v['name']:<8} exit {v['exit']}  wall {v['wall']:7.1f} s  cpu {v['cpu']:7.1f} s  "
            f"per partition: cpu {per_cpu:.2f} s, wall {per_wall:.2f} s  peak RSS {v['rss_mb']:.0f} MB"
        )
        print(
            f"           store+reports {v['store_reports'] / 1e6:.1f} MB = {v['store_reports'] / max(landing_bytes, 1):.2f}× landing; "
            f"DAGSTER_HOME {v['dagster_home'] / 1e3 / partitions:.1f} KB per partition; "
            f"660 partitions at this rate: {eta:.1f} min wall"
        )
        print(f"           command: {v['command']}  (log {v['log']})")
    if len(variants) == 2:
        d, b = variants
        print(f"  dagster / baseline: cpu {d['cpu'] / b['cpu']:.2f}×, wall {d['wall'] / b['wall']:.2f}×")
    if variants:
        report_targets(variants, partitions, landing_bytes)
    print(
        f"  environment: PERFEVAL_CONFIG={config} PERFEVAL_LANDING={landing} (each variant: own store, reports, DAGSTER_HOME under {root})"
    )
    return max(v["exit"] for v in variants) if variants else 0


if __name__ == "__main__":
    raise SystemExit(main())
