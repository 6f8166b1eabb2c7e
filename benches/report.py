#!/usr/bin/env python3
"""Prints the Markdown tables of docs/benchmarks.md from a results directory (the
JSON lines benches/run.sh writes): medians of the repeated runs.

  report.py RESULTS_DIR
"""
import json, os, statistics, sys
from collections import defaultdict

res = sys.argv[1]


def lines(name):
    path = os.path.join(res, name)
    if not os.path.exists(path):
        return []
    return [json.loads(l) for l in open(path) if l.strip().startswith("{")]


def med(v):
    v = [x for x in v if x is not None]
    return statistics.median(v) if v else None


def fmt(x, unit=""):
    if x is None:
        return "-"
    if isinstance(x, float) and x < 100:
        return f"{x:,.1f}{unit}"
    return f"{x:,.0f}{unit}"


spec = lines("spec.jsonl")
if spec:
    print("### Spec emission\n")
    print("| program | median wall (ms) | median peak RSS (MB) | document (bytes) | official parser |")
    print("|---|---:|---:|---:|---|")
    parser = {r["name"]: r for r in spec if "parser" in r}
    for r in spec:
        if "median_ms" not in r:
            continue
        p = parser.get(r["name"], {})
        print(f"| {r['name']} | {r['median_ms']:,.1f} | {r['median_rss_kb'] / 1024:.1f} | {p.get('bytes', r['output_bytes']):,} | {p.get('parser', '-')} |")
    print()
    resident = [r for r in spec if "expected_resident_code_kb" in r]
    if resident:
        print("| program | code segment (KB) | executed 4 KB pages | expected resident code (KB) | over the 16 alignments (KB) |")
        print("|---|---:|---:|---:|---|")
        for r in resident:
            print(f"| {r['name']} | {r['code_kb']:,} | {r['executed_pages']} | {r['expected_resident_code_kb']:,} | {r['min_kb']:,} to {r['max_kb']:,} |")
        print()

for fname, title in (("memory.jsonl", "In-memory broker"), ("memory-before.jsonl", "In-memory broker, tidings before the hot-path changes"), ("kafka.jsonl", "Kafka (Tansu)"), ("kafka-before.jsonl", "Kafka (Tansu), tidings before the consumer changes"), ("sqs.jsonl", "SQS (moto)"), ("sqs-latency.jsonl", "SQS (moto), latency at 20 messages a second")):
    rows = lines(fname)
    if not rows:
        continue
    g = defaultdict(list)
    for r in rows:
        g[(r["mode"], r["impl"], r["broker"])].append(r)
    print(f"### {title}\n")
    print("| mode | implementation | runs | msgs/s (median) | p50 latency | p99 latency | peak RSS (MB) |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for (mode, impl, broker), rs in sorted(g.items()):
        p50 = med([r.get("p50_us") for r in rs])
        p99 = med([r.get("p99_us") for r in rs])
        lat = lambda x: "-" if not x else (f"{x / 1000:,.1f} ms" if x >= 1000 else f"{x:,.0f} µs")
        print(f"| {mode} | {impl} ({broker}) | {len(rs)} | {med([r['msgs_per_s'] for r in rs]):,.0f} | {lat(p50)} | {lat(p99)} | {med([r['max_rss_kb'] for r in rs]) / 1024:.1f} |")
    print()

latency = lines("kafka-latency.jsonl")
if latency:
    g = defaultdict(list)
    for r in latency:
        g[(r["fetch_wait_ms"], r["impl"])].append(r)
    print("### Kafka (Tansu), end-to-end latency at a steady rate\n")
    print("| consumer fetch wait | implementation | runs | p50 latency | p99 latency | peak RSS (MB) |")
    print("|---:|---|---:|---:|---:|---:|")
    for (wait, impl), rs in sorted(g.items(), key=lambda kv: (-kv[0][0], kv[0][1])):
        p50, p99 = med([r.get("p50_us") for r in rs]), med([r.get("p99_us") for r in rs])
        print(f"| {wait} ms | {impl} | {len(rs)} | {p50 / 1000:,.2f} ms | {p99 / 1000:,.2f} ms | {med([r['max_rss_kb'] for r in rs]) / 1024:.1f} |")
    print()

publish = lines("kafka-publish.jsonl")
if publish:
    # One row per in-flight count, each client's median; then tidings and FastStream
    # each at its best count.
    g = defaultdict(list)
    for r in publish:
        name = r["impl"].split(" in flight ")[0]
        g[(r["in_flight"], name)].append(r["msgs_per_s"])
    names = sorted({name for _, name in g})
    print("### Kafka (Tansu), confirmed publish by publishes in flight (msgs/s, median)\n")
    print("| in flight | " + " | ".join(names) + " |")
    print("|---:|" + "---:|" * len(names))
    for fl in sorted({fl for fl, _ in g}):
        print(f"| {fl:,} | " + " | ".join(f"{med(g[(fl, n)]):,.0f}" if g.get((fl, n)) else "-" for n in names) + " |")
    best = {n: max(med(v) for (fl, m), v in g.items() if m == n) for n in names}
    if "tidings" in best and "faststream" in best:
        print(f"\nEach at its best: tidings {best['tidings']:,.0f}, FastStream {best['faststream']:,.0f} ({best['tidings'] / best['faststream']:.1f}x).")
    print()

instr = lines("instr.jsonl")
if instr:
    print("### Instructions and allocations per message (callgrind, DHAT)\n")
    print("| implementation | mode | instructions / message | heap allocations / message |")
    print("|---|---|---:|---:|")
    for r in instr:
        print(f"| {r['impl']} | {r['mode']} | {r['instr_per_msg']:,} | {r['allocs_per_msg']} |")
    print()

rss = lines("rss.jsonl")
if rss:
    idle = defaultdict(list)
    for r in rss:
        if "idle_rss_kb" in r:
            idle[r["name"]].append(r["idle_rss_kb"])
    print("### Memory\n")
    print("| idle service | median RSS (MB) |")
    print("|---|---:|")
    for k, v in idle.items():
        print(f"| {k} | {statistics.median(v) / 1024:.1f} |")
    print()
    print("| publisher ahead of slow handlers: messages | implementation | peak RSS (MB) | msgs/s |")
    print("|---:|---|---:|---:|")
    for r in rss:
        if r.get("mode") == "ahead":
            print(f"| {r['n']:,} | {r['impl']} | {r['max_rss_kb'] / 1024:.1f} | {r['msgs_per_s']:,} |")
    print()

tool = lines("tooling.jsonl")
if tool:
    print("### Tooling\n")
    # Rows `validate-N`, `diff-N`, and the official tools' `official-validate-N`,
    # `official-diff-N` on the same documents where tooling.sh ran them.
    by = {r["name"]: r for r in tool}
    official = any(k.startswith("official-") for k in by)
    if official:
        print("| command | channels | tidings (ms) | tidings (MB) | official tool (ms) | official tool (MB) | official / tidings, time |")
        print("|---|---:|---:|---:|---:|---:|---:|")
    else:
        print("| command | channels | median wall (ms) | median peak RSS (MB) |")
        print("|---|---:|---:|---:|")
    for r in tool:
        cmd, n = r["name"].rsplit("-", 1)
        if cmd.startswith("official-"):
            continue
        row = f"| tidings {cmd} | {int(n):,} | {r['median_ms']:,.1f} | {r['median_rss_kb'] / 1024:.1f} |"
        o = by.get(f"official-{cmd}-{n}")
        if o:
            row += f" {o['median_ms']:,.1f} | {o['median_rss_kb'] / 1024:.1f} | {o['median_ms'] / r['median_ms']:.1f}x |"
        elif official:
            row += " - | - | - |"
        print(row)
    print()

build = lines("build.jsonl")
if build:
    print("### Build cost (dev profile, 50 handlers)\n")
    if "incremental_shifting_s" in build[0]:
        # Two kinds of edit of one handler's body: in place (no span moves) and shifting
        # (every span after it moves), each the same in both variants.
        print("| service | source lines | clean build of the crate (s) | one handler edited in place (s) | edited, later spans shifted (s) | load |")
        print("|---|---:|---:|---:|---:|---|")
        for r in build:
            print(f"| {r['name']} | {r['source_lines']:,} | {r['clean_s']:.2f} | {r['incremental_in_place_s']:.2f} | {r['incremental_shifting_s']:.2f} | {r['load']} |")
    else:
        print("| service | source lines | clean build of the crate (s) | incremental, one handler changed (s) | load |")
        print("|---|---:|---:|---:|---|")
        for r in build:
            print(f"| {r['name']} | {r['source_lines']:,} | {r['clean_s']:.1f} | {r['incremental_s']:.1f} | {r['load']} |")
    print()
