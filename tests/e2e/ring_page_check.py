#!/usr/bin/env python3
"""Checks one property of the ring page's DOM (as dumped by headless Chromium) against the
/status JSON it was drawn from. Sizes are recomputed here with the ipaddress module, so a
share is checked against an independent computation, not against the page's own arithmetic.

Usage: ring_page_check.py DOM STATUS CHECK [ARG]
  loaded             the page finished its first draw (body data-loaded="1")
  segments           one segment per ring row: same ranges and owners
  shares             each share is size/universe, and the shares sum to 1 within 1e-6
  reachable          each segment's data-reachable matches its ring row
  peer-rows N        the peer table has N rows
  unreachable PEER   PEER's segments and table row are marked unreachable, nobody else's
Exits 0 iff the check holds; says why on stderr otherwise.
"""
import ipaddress
import json
import sys
from html.parser import HTMLParser


class Dom(HTMLParser):
    def __init__(self):
        super().__init__()
        self.loaded = False
        self.segments = []  # attribute dicts of path.segment
        self.peer_rows = []  # attribute dicts of tr.peer

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        classes = (a.get("class") or "").split()
        if tag == "body":
            self.loaded = a.get("data-loaded") == "1"
        elif tag == "path" and "segment" in classes:
            self.segments.append(a)
        elif tag == "tr" and "peer" in classes:
            self.peer_rows.append(a)


def range_size(text):
    if "/" in text:
        return ipaddress.ip_network(text, strict=False).num_addresses
    start, end = text.split("-")
    return int(ipaddress.ip_address(end)) - int(ipaddress.ip_address(start)) + 1


def fail(why):
    print(why, file=sys.stderr)
    return 1


def check(dom, status, name, arg):
    rows = {r["range"]: r for r in status["ring"]}
    segs = {s.get("data-range"): s for s in dom.segments}
    if name == "loaded":
        return 0 if dom.loaded else fail("body has no data-loaded=1")
    if name == "segments":
        want = {(r, row["owner"]) for r, row in rows.items()}
        got = {(r, s.get("data-owner")) for r, s in segs.items()}
        if len(dom.segments) != len(status["ring"]) or want != got or not want:
            return fail(f"status ring {sorted(want)} but page segments {sorted(got)}")
        return 0
    if name == "shares":
        universe = range_size(status["range"])
        total = 0.0
        for r, s in segs.items():
            share = float(s.get("data-share", "nan"))
            if not abs(share - range_size(r) / universe) < 1e-9:
                return fail(f"{r}: data-share {share}, expected {range_size(r) / universe}")
            total += share
        return 0 if abs(total - 1) < 1e-6 else fail(f"shares sum to {total}")
    if name == "reachable":
        wrong = [r for r, s in segs.items()
                 if r not in rows or s.get("data-reachable") != json.dumps(rows[r]["reachable"])]
        return fail(f"data-reachable differs from /status for {wrong}") if wrong else 0
    if name == "peer-rows":
        n = len(dom.peer_rows)
        return 0 if n == int(arg) else fail(f"peer table has {n} rows, expected {arg}")
    if name == "unreachable":
        mine = [s for s in dom.segments if s.get("data-owner") == arg]
        wrong = [s.get("data-range") for s in dom.segments
                 if (s.get("data-owner") == arg) != (s.get("data-reachable") == "false")]
        row = [p for p in dom.peer_rows if p.get("data-name") == arg]
        if not mine or wrong:
            return fail(f"{arg} owns {len(mine)} segments; wrongly marked: {wrong}")
        if len(row) != 1 or row[0].get("data-reachable") != "false":
            return fail(f"the table row of {arg} is not marked unreachable: {row}")
        return 0
    return fail(f"unknown check {name}")


def main():
    if len(sys.argv) < 4:
        return fail(__doc__)
    dom = Dom()
    with open(sys.argv[1], encoding="utf-8") as f:
        dom.feed(f.read())
    with open(sys.argv[2], encoding="utf-8") as f:
        status = json.load(f)
    return check(dom, status, sys.argv[3], sys.argv[4] if len(sys.argv) > 4 else None)


if __name__ == "__main__":
    sys.exit(main())
