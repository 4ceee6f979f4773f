"""Intake benchmark: Nessus v2 files of growing size, raw streaming parse vs full import.

For each size the script writes (once, cached) a synthetic .nessus file streamed to disk
from the demo's plugin catalogue, then measures in a fresh subprocess each:

- raw:    lxml iterparse with the intake's safety flags, each ReportItem cleared and its
          processed siblings dropped; no records, no database (the floor);
- import: ``intake.service.import_file`` into a fresh SQLite workspace (sha256, sniff,
          parse, score, fingerprint, one transaction with every activity entry).

MB/s is file size / wall time; peak memory is the measuring child's maximum resident set size
(for the import, plus that of the parser process it forks for a large file).
Target (issue 3): import >= half the raw rate; peak at 500 MB within 1.5x of 50 MB.

    .venv/bin/python bench/intake_bench.py                 # 50, 100, 200, 500 MB
    .venv/bin/python bench/intake_bench.py --sizes 5,20    # a quick run
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

MB = 1_000_000
DEFAULT_SIZES = (50, 100, 200, 500)
PORTS = ((0, "general", "tcp"), (22, "ssh", "tcp"), (80, "www", "tcp"), (443, "www", "tcp"),
         (3389, "msrdp", "tcp"), (161, "snmp", "udp"))


# ----------------------------------------------------------------------------- generator

def _item(plugin, host: str, port: int, svc: str, proto: str, n: int) -> str:
    parts = [f'<ReportItem port="{port}" svc_name="{svc}" protocol="{proto}" severity="{plugin.severity}" '
             f'pluginID="{plugin.plugin_id}" pluginName={quoteattr(plugin.name)} '
             f'pluginFamily={quoteattr(plugin.family)}>']
    parts += [f"<cve>{c}</cve>" for c in plugin.cves]
    if plugin.cvss3:
        parts += [f"<cvss3_base_score>{plugin.cvss3[1]}</cvss3_base_score>",
                  f"<cvss3_vector>{plugin.cvss3[0]}</cvss3_vector>"]
    if plugin.cvss2:
        parts += [f"<cvss_base_score>{plugin.cvss2[1]}</cvss_base_score>",
                  f"<cvss_vector>{plugin.cvss2[0]}</cvss_vector>"]
    parts += [f"<cwe>{c}</cwe>" for c in plugin.cwes]
    parts += [f"<description>{escape(plugin.description)}</description>",
              f"<plugin_name>{escape(plugin.name)}</plugin_name>",
              f"<solution>{escape(plugin.solution)}</solution>",
              f"<synopsis>{escape(plugin.synopsis)}</synopsis>"]
    if plugin.see_also:
        parts.append(f"<see_also>{escape(chr(10).join(plugin.see_also))}</see_also>")
    parts += [f"<xref>{escape(x)}</xref>" for x in plugin.xrefs]
    # host-specific output of 2-61 lines, so an item averages ~3.3 KB like the real samples
    # in ../shared/samples/nessus (3.2-10 KB per ReportItem)
    output = "\n".join(f"  {host}:{port}/{proto} check {k} : observed value {(n * 7919 + k) % 100003} (Café ✓)"
                       for k in range(2 + n % 60))
    parts.append(f"<plugin_output>\n{escape(output)}\n</plugin_output>")
    parts.append("</ReportItem>")
    return "\n".join(parts)


def generate(path: Path, size_mb: int) -> Path:
    """Write a Nessus v2 file of about ``size_mb`` MB, streamed (constant memory)."""
    from secportal_pipeline.demo.scanner_files import NESSUS_PLUGINS

    target = size_mb * MB
    tmp = path.with_name(path.name + ".part")
    with open(tmp, "w", encoding="utf-8") as out:
        out.write('<?xml version="1.0" ?>\n<NessusClientData_v2>\n<Policy><policyName>bench</policyName></Policy>\n'
                  '<Report name="intake benchmark" xmlns:cm="http://www.nessus.org/cm">\n')
        host_index = n = 0
        while out.tell() < target:
            host_index += 1
            host = f"host{host_index:06d}.bench.example"
            ip = f"10.{host_index // 65536 % 256}.{host_index // 256 % 256}.{host_index % 256}"
            out.write(f"<ReportHost name={quoteattr(ip)}><HostProperties>\n"
                      f'<tag name="HOST_END">Mon Sep 14 03:{host_index % 60:02d}:00 2026</tag>\n'
                      f'<tag name="host-fqdn">{host}</tag>\n<tag name="host-ip">{ip}</tag>\n'
                      f'<tag name="HOST_START">Mon Sep 14 02:00:00 2026</tag>\n</HostProperties>\n')
            for plugin in NESSUS_PLUGINS:
                for port, svc, proto in PORTS[: 1 + (plugin.plugin_id + host_index) % 3]:
                    n += 1
                    out.write(_item(plugin, host, port, svc, proto, n))
                    out.write("\n")
            out.write("</ReportHost>\n")
        out.write("</Report>\n</NessusClientData_v2>\n")
    tmp.replace(path)
    return path


# ----------------------------------------------------------------------------- children

def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def child_raw(path: Path) -> dict:
    from lxml import etree

    start = time.perf_counter()
    items = 0
    for _, elem in etree.iterparse(str(path), events=("end",), resolve_entities=False, no_network=True,
                                   load_dtd=False, huge_tree=True):
        if elem.tag == "ReportItem":
            items += 1
        if elem.tag in ("ReportItem", "HostProperties", "ReportHost"):
            elem.clear(keep_tail=False)
            parent = elem.getparent()
            while parent is not None and elem.getprevious() is not None:
                del parent[0]
    return {"seconds": time.perf_counter() - start, "records": items, "peak_mb": _peak_mb()}


def child_import(path: Path, workdir: Path) -> dict:
    from secportal_pipeline.intake.service import import_file
    from secportal_pipeline.workspace.db import open_workspace

    db = workdir / f"ws-{os.getpid()}.sqlite"
    engine = open_workspace(f"sqlite:///{db}")
    base_mb = _peak_mb()
    start = time.perf_counter()
    summary = import_file(engine, path)
    seconds = time.perf_counter() - start
    engine.dispose()
    for leftover in workdir.glob(db.name + "*"):
        leftover.unlink()
    assert summary.outcome == "imported", summary.line()
    # a large file is parsed in a forked child (intake/parse_process.py): count its peak too,
    # as if both peaks coincided (an upper bound on the import's memory)
    parser_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"seconds": seconds, "records": summary.new, "peak_mb": _peak_mb() + parser_mb,
            "writer_mb": _peak_mb(), "parser_mb": parser_mb, "base_mb": base_mb}


def measure(kind: str, path: Path, workdir: Path) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", kind, str(path), "--workdir", str(workdir)],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


# ----------------------------------------------------------------------------- report

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default=",".join(map(str, DEFAULT_SIZES)), help="file sizes in MB, comma-separated")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "secportal-intake-bench",
                        help="where generated files are kept between runs")
    parser.add_argument("--child", nargs=2, metavar=("KIND", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    if args.child:
        kind, file = args.child
        result = child_raw(Path(file)) if kind == "raw" else child_import(Path(file), args.workdir)
        print(json.dumps(result))
        return 0

    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    header = (f"{'size MB':>8} {'records':>9} {'raw MB/s':>9} {'raw peak MB':>12} "
              f"{'import MB/s':>12} {'import peak MB':>15} {'import/raw':>11}")
    print(header, flush=True)
    rows = []
    for size in sizes:
        path = args.workdir / f"bench_{size}MB.nessus"
        if not path.exists():
            generate(path, size)
        actual = path.stat().st_size / MB
        raw, imported = measure("raw", path, args.workdir), measure("import", path, args.workdir)
        raw_rate, import_rate = actual / raw["seconds"], actual / imported["seconds"]
        rows.append((size, imported["peak_mb"]))
        print(f"{actual:8.0f} {imported['records']:9d} {raw_rate:9.1f} {raw['peak_mb']:12.0f} "
              f"{import_rate:12.1f} {imported['peak_mb']:15.0f} {import_rate / raw_rate:11.2f}", flush=True)
    if len(rows) > 1:
        print(f"peak memory, largest / smallest import: {rows[-1][1] / rows[0][1]:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
