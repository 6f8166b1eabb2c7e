#!/usr/bin/env python3
"""Draws the throughput chart of docs/benchmarks.md from the results: median messages
per second of every (implementation, broker, mode) in RESULTS/memory*.jsonl,
RESULTS/kafka*.jsonl and RESULTS/sqs*.jsonl (of a `*-before` file, only tidings' rows), as horizontal bars on a log scale, in plain SVG (no library).

  chart.py RESULTS_DIR OUT.svg
"""
import glob, json, math, os, statistics, sys
from collections import defaultdict

res, out = sys.argv[1], sys.argv[2]
groups = defaultdict(list)
for path in sorted(glob.glob(os.path.join(res, "memory*.jsonl")) + glob.glob(os.path.join(res, "kafka*.jsonl"))
                   + glob.glob(os.path.join(res, "sqs*.jsonl"))):
    tag = os.path.basename(path).rsplit(".", 1)[0]
    before = "before" in tag
    for line in open(path):
        line = line.strip()
        if not line.startswith("{"):
            continue
        r = json.loads(line)
        # Throughput only: not the run-ahead memory runs, the paced latency runs (their
        # rate is the pacer's), nor the in-flight sweep (kafka-publish.jsonl, a table).
        if "msgs_per_s" not in r or r.get("mode") in ("ahead", "latency") or "in_flight" in r:
            continue
        if before and r["impl"] != "tidings":
            continue
        impl = r["impl"] + (" (before)" if before else "")
        groups[(r["broker"].split("(")[0], r["mode"], impl)].append(r["msgs_per_s"])

colors = {"tidings": "#2b7bb9", "tidings (before)": "#9cc3e4", "ruststream": "#e08a2c",
          "faststream": "#6a9f3a", "rdkafka": "#7d5ba6", "rdkafka + str decode": "#9479bf",
          "rdkafka + str decode + headers": "#9479bf", "rdkafka linger.ms=1": "#b09ad0",
          "rdkafka linger.ms=1 + JSON encode": "#b09ad0", "rdkafka linger.ms=1 + JSON encode + headers": "#b09ad0",
          "aws-sdk-sqs": "#a65b7d"}
order = ["tidings", "tidings (before)", "ruststream", "rdkafka", "rdkafka + str decode", "rdkafka + str decode + headers",
         "rdkafka linger.ms=1", "rdkafka linger.ms=1 + JSON encode",
         "rdkafka linger.ms=1 + JSON encode + headers", "aws-sdk-sqs", "faststream"]
rows = sorted(groups.items(), key=lambda kv: (kv[0][0] != "memory", kv[0][0], kv[0][1],
                                               order.index(kv[0][2]) if kv[0][2] in order else 9))
W, left, bar, gap = 960, 430, 20, 6
H = 70 + len(rows) * (bar + gap) + 40
vmax = max((statistics.median(v) for v in groups.values()), default=1)
top = 10 ** math.ceil(math.log10(vmax))
lo = 10.0
x = lambda v: left + (W - left - 30) * (math.log10(max(v, lo)) - math.log10(lo)) / (math.log10(top) - math.log10(lo))
svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">',
       f'<rect width="{W}" height="{H}" fill="white"/>',
       '<text x="10" y="22" font-size="15" font-weight="bold">Throughput per broker: messages per second (median of runs, log scale)</text>',
       '<text x="10" y="40" fill="#555">consume = delivery, JSON decode, handler, ack; publish = encode and hand to the broker. 2 cores, same run.</text>']
d = 10
while d <= top:
    svg.append(f'<line x1="{x(d):.1f}" y1="52" x2="{x(d):.1f}" y2="{H-30}" stroke="#ddd"/>')
    svg.append(f'<text x="{x(d):.1f}" y="{H-14}" text-anchor="middle" fill="#555">{d:,}</text>')
    d *= 10
y = 60
for (broker, mode, impl), vals in rows:
    m = statistics.median(vals)
    c = colors.get(impl, "#888")
    svg.append(f'<text x="{left-8}" y="{y+bar-6}" text-anchor="end">{broker} {mode}: {impl}</text>')
    svg.append(f'<rect x="{left}" y="{y}" width="{max(x(m)-left,1):.1f}" height="{bar}" fill="{c}"/>')
    svg.append(f'<text x="{x(m)+4:.1f}" y="{y+bar-6}">{m:,.0f}</text>')
    y += bar + gap
svg.append("</svg>")
open(out, "w").write("\n".join(svg) + "\n")
print(out, len(rows), "bars")
