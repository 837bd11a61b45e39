"""Fuzzing the OSC listener with random and mutated datagrams over loopback: nothing crashes, the
listener thread stays alive, every refusal is counted, and a good message afterwards still works.
"""

from __future__ import annotations

import random
import socket
import struct
import time
from types import SimpleNamespace

import pytest
from pythonosc.osc_message_builder import OscMessageBuilder

from live.clock import BeatClock, ManualClock
from live.control.osc import OscInput, OscSettings
from live.modulation.signals import SignalBus

pytestmark = pytest.mark.timeout(120)

SEEDS = [
    b"/1/fader1\x00\x00\x00,f\x00\x00" + struct.pack(">f", 0.5),
    b"/echoel/bio/w/rr\x00\x00\x00\x00,i\x00\x00" + struct.pack(">i", 812),
    b"/echoel/master/dimmer\x00\x00\x00,f\x00\x00" + struct.pack(">f", 0.5),
    b"#bundle\x00" + struct.pack(">Q", 1) + struct.pack(">i", 16)
    + b"/x\x00\x00,if\x00" + struct.pack(">i", 1) + struct.pack(">f", 2.0)[:0] + b"\x00\x00\x00\x00",
    b"/s\x00\x00,sT\x00hello\x00\x00\x00",
]


def mutate(rng: random.Random, data: bytes) -> bytes:
    b = bytearray(data)
    kind = rng.randrange(7)
    if kind == 0 and b:                       # flip bits
        for _ in range(rng.randint(1, 8)):
            b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
    elif kind == 1:                           # truncate
        b = b[: rng.randrange(len(b) + 1)]
    elif kind == 2:                           # append junk
        b += bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))
    elif kind == 3:                           # insert junk
        i = rng.randrange(len(b) + 1)
        b[i:i] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
    elif kind == 4:                           # random type tags
        tags = "".join(rng.choice("ifdhsbTFNI[]rmtc") for _ in range(rng.randint(0, 12)))
        body = b"/t\x00\x00" + (("," + tags).encode() + b"\x00")
        body += b"\x00" * (-len(body) % 4)
        b = bytearray(body + bytes(rng.randrange(256) for _ in range(rng.randint(0, 40))))
    elif kind == 5:                           # nested bundles, sometimes absurdly deep
        inner = bytes(b)
        for _ in range(rng.randint(1, 40)):
            head = b"#bundle\x00" + struct.pack(">Q", rng.getrandbits(64))
            inner = head + struct.pack(">i", len(inner)) + inner
        b = bytearray(inner)
    else:                                     # wrong bundle element sizes
        size = struct.pack(">i", rng.randint(-5, 5000))
        b = bytearray(b"#bundle\x00" + struct.pack(">Q", 1) + size + bytes(b))
    return bytes(b)


def test_random_and_mutated_datagrams_never_stop_the_listener():
    rng = random.Random(20260)
    osc = OscInput(OscSettings(host="127.0.0.1", port=0, rate=1e7, burst=1e7))
    osc.start()
    eng = SimpleNamespace(clock=ManualClock(), signals=SignalBus(), scene=None, beat=BeatClock(),
                          dimmer=1.0, blackout=False, freeze=False)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    target = ("127.0.0.1", osc.port)
    sent = 0
    try:
        for i in range(4000):
            if i % 4 == 0:
                data = bytes(rng.randrange(256) for _ in range(rng.randint(0, 200)))
            else:
                data = mutate(rng, rng.choice(SEEDS))
            if i % 500 == 0:
                data = b"/" + b"x" * 60000      # a huge datagram
            if not data:
                continue
            sock.sendto(data, target)
            sent += 1
            if i % 200 == 0:
                time.sleep(0.01)                # let the listener keep up: loss is not the point
                osc.drain(eng, now=i / 1000)
                eng.signals.end_frame()
        end = time.monotonic() + 10
        stats = osc.stats()
        while stats["packets"] + sum(stats["problems"].values()) < sent * 0.95 and time.monotonic() < end:
            time.sleep(0.05)
            stats = osc.stats()
        osc.drain(eng, now=5.0)
        assert osc.alive, "the listener thread died"
        stats = osc.stats()
        assert stats["packets"] >= sent * 0.95
        refused = sum(stats["problems"].values())
        assert refused > sent / 2
        assert "internal error" not in stats["problems"], stats["problems"]
        assert len(stats["problems"]) >= 6, stats["problems"]  # many kinds of damage were seen
        # The server still answers: a good message goes through.
        b = OscMessageBuilder(address="/after/fuzz")
        b.add_arg(0.75)
        sock.sendto(b.build().dgram, target)
        end = time.monotonic() + 5
        while eng.signals.get("osc./after/fuzz", -1.0) != 0.75 and time.monotonic() < end:
            time.sleep(0.01)
            osc.drain(eng, now=6.0)
        assert eng.signals.get("osc./after/fuzz") == 0.75
    finally:
        sock.close()
        osc.close()
