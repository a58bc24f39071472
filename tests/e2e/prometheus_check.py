#!/usr/bin/env python3
"""A strict parser for the Prometheus text exposition format 0.0.4, for the tests: reads the
scrape on stdin, checks every line, every TYPE, and every histogram's buckets, and prints
the samples as JSON ({"name{labels}": value}). Exits 1 naming the first bad line."""
import json
import math
import re
import sys

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*"'
SAMPLE = re.compile(rf"^({NAME})(\{{(?:{LABEL})(?:,{LABEL})*\}})? (\S+)$")
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}


def fail(line_no, line, why):
    print(f"line {line_no}: {why}: {line!r}", file=sys.stderr)
    sys.exit(1)


def main():
    types, samples, seen_help = {}, {}, set()
    for no, line in enumerate(sys.stdin.read().split("\n"), 1):
        if not line:
            continue
        if line.startswith("# HELP "):
            name = line.split(" ")[2]
            if name in seen_help:
                fail(no, line, "second HELP")
            seen_help.add(name)
        elif line.startswith("# TYPE "):
            parts = line.split(" ")
            if len(parts) != 4 or parts[3] not in TYPES or parts[2] in types:
                fail(no, line, "bad TYPE")
            types[parts[2]] = parts[3]
        elif line.startswith("#"):
            continue
        else:
            m = SAMPLE.match(line)
            if not m:
                fail(no, line, "not a sample")
            name, labels, value = m.group(1), m.group(2) or "", m.group(3)
            try:
                v = float(value)
            except ValueError:
                fail(no, line, "bad value")
            base = re.sub(r"_(bucket|sum|count|total)$", "", name)
            if name not in types and base not in types:
                fail(no, line, "sample before its TYPE")
            if name + labels in samples:
                fail(no, line, "duplicate sample")
            samples[name + labels] = v
    # Histograms: cumulative buckets ending in +Inf equal to _count.
    for name, kind in types.items():
        if kind != "histogram":
            continue
        series = {}
        for key, v in samples.items():
            if key.startswith(name + "_bucket{"):
                labels = re.sub(r',?le="[^"]*"', "", key[len(name) + 8:-1])
                le = re.search(r'le="([^"]*)"', key).group(1)
                series.setdefault(labels, []).append((math.inf if le == "+Inf" else float(le), v))
        for labels, buckets in series.items():
            buckets.sort()
            counts = [c for _, c in buckets]
            if counts != sorted(counts) or buckets[-1][0] != math.inf:
                fail(0, name + labels, "buckets not cumulative or no +Inf")
            count_key = f"{name}_count{{{labels}}}" if labels else f"{name}_count"
            if samples.get(count_key) != counts[-1]:
                fail(0, name + labels, "+Inf bucket differs from _count")
    print(json.dumps(samples))


main()
