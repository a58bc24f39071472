#!/usr/bin/env python3
"""A stranger on the gossip port: speaks just enough of the wire format (gossip/WIRE_FORMAT.md)
to be hostile. Each mode prints one line saying what it saw and exits 0 iff the peer behaved:

  join-and-poison HOST PORT RANGE SRC   joins as a peer (no password), then sends a Gossip and
                                        two Broadcasts whose payloads are 1 MB of nested CBOR
                                        arrays, a Broadcast with seq near UINT64_MAX, and random
                                        payloads
  random HOST PORT SRC COUNT            COUNT connections of random bytes, some after a preamble
  big-hello HOST PORT SRC               a Hello frame header of 1 MB: the peer must close at once
  flood HOST PORT SRC COUNT SECONDS     COUNT half-open connections (preamble only), reopened
                                        when closed, held for SECONDS
  forge-sources HOST PORT RANGE SRC     on fresh links, frames that lie about their source: a
                                        Topology entry and a Broadcast in the stranger's own name
                                        with another uid, and a first-hop Unicast from a third
                                        peer (the peer must close each link); then a relayed
                                        Unicast in the peer's own name (refused, link kept)
  prove-first HOST PORT RANGE SRC       a keyed Hello with no password behind it: the peer must
                                        send nothing after its own Hello, not even a Verdict,
                                        and close after a forged Verdict
SRC is the local address to dial from (a loopback address of the test's choosing).
"""
import os
import random
import socket
import struct
import sys
import time

PREAMBLE = b"WIPM" + bytes([1, 2])


def frame(body):
    return struct.pack(">I", len(body)) + body


def text(s):
    b = s.encode()
    return struct.pack(">H", len(b)) + b


def hello(name, uid, rng, keyed, port=1):
    return (bytes([1]) + struct.pack(">QQ", name, uid) + text("stranger") + struct.pack(">H", port)
            + text(rng) + bytes([1 if keyed else 0]) + os.urandom(32)
            + (os.urandom(32) if keyed else bytes(32)) + text(""))


def verdict(accept=True, reason=""):
    return bytes([2, 1 if accept else 0]) + bytes(32) + text(reason)


def broadcast(source, uid, seq, payload):
    return bytes([5]) + struct.pack(">QQQI", source, uid, seq, len(payload)) + payload


def gossip(payload):
    return bytes([7]) + struct.pack(">I", len(payload)) + payload


def dial(host, port, src, timeout=5.0):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((src, 0))
    s.settimeout(timeout)
    s.connect((host, port))
    return s


def read_exact(s, n):
    out = b""
    while len(out) < n:
        chunk = s.recv(n - len(out))
        if not chunk:
            raise EOFError("closed after %d of %d bytes" % (len(out), n))
        out += chunk
    return out


def read_frame(s):
    (n,) = struct.unpack(">I", read_exact(s, 4))
    return read_exact(s, n)


def stranger_name():
    return random.randrange(1, 1 << 48) | (1 << 41)  # locally administered, never zero


def join(host, port, rng, src):
    """Joins as a peer with no password: (socket, our name, our uid, the peer's name), or None."""
    s = dial(host, port, src)
    s.sendall(PREAMBLE)
    read_exact(s, 6)
    name, uid = stranger_name(), random.randrange(1, 1 << 63)
    s.sendall(frame(hello(name, uid, rng, keyed=False)))
    (theirs,) = struct.unpack(">Q", read_frame(s)[1:9])  # its Hello
    v = read_frame(s)
    if v[1] != 1:
        print("stranger: refused: %r" % v[35:])
        return None
    s.sendall(frame(verdict()))
    return s, name, uid, theirs


def join_and_poison(host, port, rng, src):
    joined = join(host, port, rng, src)
    if joined is None:
        return 1
    s, name, uid, _ = joined
    nested = b"\x81" * 1_000_000
    s.sendall(frame(gossip(nested)))
    s.sendall(frame(broadcast(name, uid, 1, nested)))
    s.sendall(frame(broadcast(name, uid, 2, b"\x9f" * 500_000)))  # indefinite-length arrays
    s.sendall(frame(broadcast(name, uid, (1 << 64) - 2, os.urandom(200))))
    for seq in range(3, 40):
        s.sendall(frame(broadcast(name, uid, seq, os.urandom(random.randrange(1, 3000)))))
        s.sendall(frame(gossip(os.urandom(random.randrange(1, 3000)))))
    time.sleep(1)
    s.close()
    print("stranger: joined as %012x and sent the poisoned frames" % name)
    return 0


def random_bytes(host, port, src, count):
    closed = 0
    for i in range(count):
        try:
            s = dial(host, port, src, timeout=2.0)
            junk = os.urandom(random.randrange(1, 5000))
            s.sendall((PREAMBLE if i % 2 else b"") + junk)
            s.settimeout(2.0)
            while s.recv(65536):
                pass
            closed += 1
        except (OSError, EOFError):
            closed += 1
        finally:
            s.close()
    print("stranger: %d random connections, %d closed by the peer" % (count, closed))
    return 0 if closed == count else 1


def big_hello(host, port, src):
    s = dial(host, port, src)
    s.sendall(PREAMBLE)
    read_exact(s, 6)
    start = time.monotonic()
    sent = 0
    try:
        s.sendall(struct.pack(">I", 1_000_000) + bytes([1]))
        s.settimeout(3.0)
        chunk = bytes(64 * 1024)
        while sent < 1_000_000:
            s.sendall(chunk)
            sent += len(chunk)
    except OSError:
        pass
    try:
        while True:
            data = s.recv(65536)
            if not data:
                break
    except OSError:
        pass
    took = time.monotonic() - start
    print("stranger: big Hello closed after %.2f s (%d body bytes pushed)" % (took, sent))
    return 0 if took < 3.0 else 1


def flood(host, port, src, count, seconds):
    held, refused = [], 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        alive = []
        for s in held:
            try:
                s.setblocking(False)
                if s.recv(65536) == b"":
                    s.close()
                    continue
            except BlockingIOError:
                pass
            except OSError:
                s.close()
                continue
            alive.append(s)
        held = alive
        while len(held) < count:
            try:
                s = dial(host, port, src, timeout=1.0)
                s.sendall(PREAMBLE)
                held.append(s)
            except OSError:
                refused += 1
                break
        time.sleep(0.05)
    print("stranger: flood held %d half-open connections at the end (%d dials failed)"
          % (len(held), refused))
    for s in held:
        s.close()
    return 0


def topology(name, uid, version):
    return bytes([4]) + struct.pack(">I", 1) + struct.pack(">QQ", name, uid) + text("forged") \
        + struct.pack(">QI", version, 0)


def unicast(source, destination, hops, payload):
    return bytes([6]) + struct.pack(">QQBI", source, destination, hops, len(payload)) + payload


def closed_within(s, seconds):
    """True iff the peer closes the link within `seconds` (whatever frames it sends first)."""
    s.settimeout(seconds)
    try:
        while s.recv(65536):
            pass
        return True
    except socket.timeout:
        return False
    except OSError:
        return True


def forge_sources(host, port, rng, src):
    lies = {
        "a Topology entry in our name with another uid":
            lambda name, uid, _: topology(name, uid + 1, 1),
        "a Broadcast in our name with another uid":
            lambda name, uid, _: broadcast(name, uid + 1, 1, b"\xf6"),
        "a first-hop Unicast from a third peer":
            lambda name, uid, theirs: unicast(stranger_name(), theirs, 64, b"\xf6"),
    }
    for what, forge in lies.items():
        joined = join(host, port, rng, src)
        if joined is None:
            return 1
        s, name, uid, theirs = joined
        s.sendall(frame(forge(name, uid, theirs)))
        if not closed_within(s, 5.0):
            print("stranger: the peer kept the link after " + what)
            return 1
        s.close()
    joined = join(host, port, rng, src)
    if joined is None:
        return 1
    s, name, uid, theirs = joined
    s.sendall(frame(unicast(theirs, theirs, 63, b"\xf6")))  # "relayed", in the peer's own name
    if closed_within(s, 2.0):
        print("stranger: the peer closed the link over a relayed unicast in its name")
        return 1
    s.close()
    print("stranger: each forged source closed its link; the relayed one in its name was dropped")
    return 0


def prove_first(host, port, rng, src):
    s = dial(host, port, src)
    s.sendall(PREAMBLE)
    read_exact(s, 6)
    s.sendall(frame(hello(stranger_name(), random.randrange(1, 1 << 63), rng, keyed=True)))
    h = read_frame(s)
    if h[0] != 1:
        print("stranger: expected the peer's Hello, got type %d" % h[0])
        return 1
    s.settimeout(2.0)
    try:
        extra = s.recv(65536)
    except socket.timeout:
        extra = None
    if extra is not None:
        print("stranger: the peer sent %d bytes before we proved anything" % len(extra))
        return 1
    forged = os.urandom(2 + 32 + 2 + 16)
    s.sendall(frame(forged))
    s.settimeout(5.0)
    got = b""
    try:
        while True:
            data = s.recv(65536)
            if not data:
                break
            got += data
    except OSError:
        pass
    if got:
        print("stranger: the peer sent %d bytes after a forged Verdict" % len(got))
        return 1
    print("stranger: the peer sent only its Hello and closed after a forged Verdict")
    return 0


def main(argv):
    mode, host, port = argv[1], argv[2], int(argv[3])
    if mode == "join-and-poison":
        return join_and_poison(host, port, argv[4], argv[5])
    if mode == "random":
        return random_bytes(host, port, argv[4], int(argv[5]))
    if mode == "big-hello":
        return big_hello(host, port, argv[4])
    if mode == "flood":
        return flood(host, port, argv[4], int(argv[5]), float(argv[6]))
    if mode == "forge-sources":
        return forge_sources(host, port, argv[4], argv[5])
    if mode == "prove-first":
        return prove_first(host, port, argv[4], argv[5])
    print("stranger: unknown mode " + mode)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
