"""Regenerate BENCHMARKS.md from the zoo plus short runs (issue 5).

    python -m latentlab.bench                 # the committed report: BENCHMARKS.md + docs/*.png
    python -m latentlab.bench --quick         # smoke run, tiny sizes, into artifacts/bench-quick/
    python -m latentlab.bench --sections probes,likelihood   # some sections only
    python -m latentlab.bench --update --sections peer       # rerun one, keep the others

Heavy: the full run trains 20 small one-class models and a pythae VAE and samples ~2M sprite
codes; run it on an otherwise idle machine (it uses `--threads`, default 2).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shlex
import sys
from datetime import UTC, datetime
from pathlib import Path

import torch

from latentlab.bench import (
    anomaly,
    compression,
    conditional,
    disentangle,
    hybrids,
    likelihood,
    peer,
    probes,
    restoration,
    throughput,
)
from latentlab.bench.core import FULL, QUICK, Context, Section, run_section
from latentlab.bench.report import document, machine_lines

ROOT = Path(__file__).resolve().parents[2]
SECTIONS = {
    "disentanglement": disentangle, "anomaly": anomaly, "probes": probes,
    "restoration": restoration, "likelihood": likelihood, "throughput": throughput, "peer": peer,
    "compression": compression, "conditional": conditional, "hybrids": hybrids,
}


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m latentlab.bench", description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run, not a report")
    p.add_argument("--out", type=Path, help="markdown file (default BENCHMARKS.md at the repo root; "
                   "--quick: artifacts/bench-quick/BENCHMARKS.md)")
    p.add_argument("--docs", type=Path, help="image folder (default: docs/ beside --out)")
    p.add_argument("--zoo", type=Path, help="checkpoint folder (default: the shipped checkpoints/)")
    p.add_argument("--sections", help=f"comma-separated subset of: {', '.join(SECTIONS)}")
    p.add_argument("--threads", type=int, help="torch threads (default 2; --quick: 1)")
    p.add_argument("--update", action="store_true", help="rerun only --sections (none: just "
                   "re-render) and keep the other sections from the last run's benchmarks.json")
    return p.parse_args(argv)


def make_context(args: argparse.Namespace) -> tuple[Context, Path]:
    settings = QUICK if args.quick else FULL
    if args.threads:
        settings = dataclasses.replace(settings, threads=args.threads)
    default_out = ROOT / ("artifacts/bench-quick/BENCHMARKS.md" if args.quick else "BENCHMARKS.md")
    out = (args.out or default_out).resolve()
    docs = (args.docs or out.parent / "docs").resolve()
    link = Path(os.path.relpath(docs, out.parent)).as_posix()
    return Context(settings, docs, args.zoo.resolve() if args.zoo else None, link), out


def chosen(spec: str | None) -> list[str]:
    if not spec:
        return list(SECTIONS)
    keys = [k.strip() for k in spec.split(",") if k.strip()]
    unknown = [k for k in keys if k not in SECTIONS]
    if unknown:
        raise SystemExit(f"unknown section(s): {', '.join(unknown)}; known: {', '.join(SECTIONS)}")
    return keys


def header(ctx: Context) -> list[str]:
    s = ctx.settings
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return [f"- generated {stamp}, settings `{s.name}`, base seed {s.seed} (every section seeds "
            "its own generators from it; training runs are deterministic on the CPU for a fixed "
            "thread count)", *machine_lines(s.threads),
            "- zoo: " + (str(ctx.zoo_dir) if ctx.zoo_dir else "the shipped `checkpoints/`")]


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    ctx, out = make_context(args)
    torch.set_num_threads(ctx.settings.threads)
    store = ctx.docs_dir / "benchmarks.json"
    previous = _load_sections(store) if args.update else {}
    keys = chosen(args.sections) if args.sections is not None or not args.update else []
    for key in keys:
        module = SECTIONS[key]
        print(f"[bench] {module.TITLE} ...", file=sys.stderr, flush=True)
        previous[key] = run_section(key, module.TITLE, module.run, ctx)
        print(f"[bench]   {previous[key].seconds:.1f} s", file=sys.stderr, flush=True)
    sections = [with_notes(previous[k], ctx) for k in SECTIONS if k in previous]
    command = "python -m latentlab.bench" + (" --quick" if args.quick else "")
    lines = header(ctx) + ([f"- last written by `python -m latentlab.bench {shlex.join(argv)}` "
                            "(sections not rerun keep their earlier numbers and timings)"]
                           if args.update else [])
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(document(sections, lines, command))
    ctx.docs_dir.mkdir(parents=True, exist_ok=True)
    raw = {s.key: {"title": s.title, "seconds": round(s.seconds, 1), "load": s.load, "body": s.body,
                   "data": s.data}
           for s in (previous[k] for k in SECTIONS if k in previous)}
    store.write_text(json.dumps(raw, indent=1, default=_plain))
    print(f"[bench] wrote {out}", file=sys.stderr)
    return 0


def with_notes(section: Section, ctx: Context) -> Section:
    """Append docs/notes_<key>.md, a person's reading of the section's images, if it exists."""
    notes = ctx.docs_dir / f"notes_{section.key}.md"
    if not notes.exists():
        return section
    body = (section.body.rstrip() + "\n\n### What the images show (written by a person looking at "
            f"them; kept in `{ctx.docs_link}/{notes.name}`, not regenerated)\n\n"
            + notes.read_text().strip() + "\n")
    return dataclasses.replace(section, body=body)


def _load_sections(path: Path) -> dict:
    if not path.exists():
        return {}
    raw = json.loads(path.read_text())
    return {k: Section(k, v["title"], v["body"], v["data"], v["seconds"], v.get("load"))
            for k, v in raw.items()}


def _plain(value):
    """JSON fallback for numpy scalars and arrays."""
    return value.tolist() if hasattr(value, "tolist") else str(value)


if __name__ == "__main__":
    raise SystemExit(main())
