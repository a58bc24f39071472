#!/usr/bin/env python3
"""The figures line of scripts/scale.sh, from the peers' /metrics snapshots.

Reads WORK/I/at-formation (taken when every peer had primed) and WORK/I/at-end for peers
1..N, and prints one line; then "missing=K", the peers that reported no frames sent.
"""
import re
import sys

LINE = re.compile(r'^weave_ipam_gossip_frames_(sent|dropped)_total\{type="(\w+)"\} (\d+)$')
TYPES = ("topology", "broadcast", "unicast", "gossip")


def frames(work, n, name):
    peers = []
    for i in range(1, n + 1):
        counts = {}
        try:
            with open(f"{work}/{i}/{name}") as f:
                for text in f:
                    m = LINE.match(text.strip())
                    if m:
                        counts[(m[1], m[2])] = int(m[3])
        except OSError:
            pass
        peers.append(counts)
    return peers


def total(peers, kind, types=TYPES):
    return [sum(v for (k, t), v in p.items() if k == kind and t in types) for p in peers]


def main():
    work, n, t0, tl, tp, primed, ticks, hz, rest, rss, given, unique, alive = sys.argv[1:]
    n = int(n)
    formed, end = frames(work, n, "at-formation"), frames(work, n, "at-end")
    sent_formed = total(formed, "sent")
    by_type = ", ".join(f"{t} {sum(total(formed, 'sent', {t})) // n}" for t in TYPES)
    dropped = sum(total(end, "dropped"))
    dropped_messages = sum(total(end, "dropped", {"broadcast", "unicast"}))
    cpu = 100.0 * int(ticks) / int(hz) / float(rest) / n
    print(f"scale N={n}: launch {float(tl) - float(t0):.1f} s; last launch -> all primed "
          f"{float(tp) - float(tl):.1f} s ({primed}/{n} primed); frames sent per peer to "
          f"formation {sum(sent_formed) / n:.0f} mean, {max(sent_formed)} max ({by_type}); "
          f"at the end {sum(total(end, 'sent')) / n:.0f} mean; frames dropped {dropped} "
          f"({dropped_messages} broadcast/unicast); CPU at rest {cpu:.2f} % of a core per peer "
          f"({rest} s); RSS {int(rss) / n / 1024:.1f} MB mean per peer; allocations {given}, "
          f"{unique} unique; {alive}/{n} peers alive")
    print(f"missing={sum(1 for s in total(end, 'sent') if s == 0)}")


if __name__ == "__main__":
    main()
