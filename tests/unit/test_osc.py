"""OSC input without GL: parsing limits, patterns, rate limits, the allowlist, the bounded queue,
engine-scheduled timetags, sources on the signals bus and companion-app messages.

Packets go over real loopback UDP sockets to a real listener; the "engine" here is the part of it
the OSC input reads for sources (clock, signals bus); targets are covered with the real engine in
tests/e2e/test_osc_interop.py.
"""

from __future__ import annotations

import logging
import socket
import struct
import time
from types import SimpleNamespace

import pytest
from pythonosc.osc_message_builder import OscMessageBuilder

from live.clock import BeatClock, ManualClock
from live.control.osc import (
    Allowlist,
    OscError,
    OscInput,
    OscPacketError,
    OscSettings,
    RateLimiter,
    TokenBucket,
    parse_packet,
    pattern_regex,
)
from live.modulation.signals import SignalBus

NTP_OFFSET = 2208988800  # seconds from 1900 to 1970


def msg(address: str, *args) -> bytes:
    b = OscMessageBuilder(address=address)
    for a in args:
        b.add_arg(a)
    return b.build().dgram


def bundle(timetag: float, *contents: bytes) -> bytes:
    """A bundle by hand: '#bundle', an NTP timetag (0 -> immediately), sized elements."""
    if timetag == 0:
        tt = struct.pack(">Q", 1)
    else:
        secs = timetag + NTP_OFFSET
        tt = struct.pack(">II", int(secs), int((secs % 1) * 2**32))
    body = b"".join(struct.pack(">i", len(c)) + c for c in contents)
    return b"#bundle\x00" + tt + body


def nested(depth: int) -> bytes:
    data = msg("/x", 1.0)
    for _ in range(depth):
        data = bundle(0, data)
    return data


# -- parsing ----------------------------------------------------------------------------------


def test_messages_and_bundles_parse_with_timetags():
    assert parse_packet(msg("/a/b", 1, 2.5, "s", True)) == [(0.0, "/a/b", (1, 2.5, "s", True))]
    out = parse_packet(bundle(1_900_000_000.25, msg("/a", 1.0), bundle(0, msg("/b", 2))))
    assert [(round(t, 3), a, args) for t, a, args in out] == [
        (1_900_000_000.25, "/a", (1.0,)), (1_900_000_000.25, "/b", (2,))]  # inner never earlier


@pytest.mark.parametrize("data, cause", [
    (b"", "empty packet"),
    (b"hello world!", "not OSC"),
    (b"/x\x00\x00,q\x00\x00", "unsupported type tag"),
    (msg("/x", b"blob"), "blob argument"),
    (msg("/x", float("nan")), "non-finite value"),
    (b"/a b\x00\x00\x00\x00,f\x00\x00" + struct.pack(">f", 1.0), "bad address"),
    (b"/x\x00\x00,ff\x00" + struct.pack(">f", 1.0), "malformed message"),
    (b"#bundle\x00" + b"\x00" * 7 + b"\x01" + struct.pack(">i", 400) + msg("/x"), "malformed bundle"),
    (nested(9), "bundle nested too deeply"),
    (bundle(0, *[msg("/m", i) for i in range(1100)]), "too many messages in one packet"),
    (b"/" + b"a" * 299 + b"\x00\x00\x00\x00", "bad address"),
    (msg("/x", 1.0) + b"\x00\x00\x00\x00", "malformed message"),
    (b"/x\x00\x00," + b"f" * 20 + b"\x00\x00\x00" + struct.pack(">f", 1.0) * 20, "too many arguments"),
    (b"/x\x00\x00,[f]\x00\x00\x00\x00" + struct.pack(">f", 1.0), "unsupported type tag"),
])
def test_bad_packets_are_refused_with_their_cause(data, cause):
    with pytest.raises(OscPacketError) as info:
        parse_packet(data)
    assert info.value.cause == cause


def test_nesting_up_to_the_limit_is_fine():
    assert parse_packet(nested(8))[0][1] == "/x"


@pytest.mark.parametrize("pattern, yes, no", [
    ("/1/fader?", ["/1/fader1", "/1/fader9"], ["/1/fader10", "/1/fader"]),
    ("/layers/*/opacity", ["/layers/a/opacity", "/layers/tun_1/opacity"], ["/layers/a/b/opacity"]),
    ("/x/[a-c]", ["/x/a", "/x/b"], ["/x/d"]),
    ("/x/[!a-c]", ["/x/d"], ["/x/a"]),
    ("/{red,green}/level", ["/red/level", "/green/level"], ["/blue/level"]),
    ("/a.b", ["/a.b"], ["/aXb"]),
])
def test_osc_address_patterns(pattern, yes, no):
    rx = pattern_regex(pattern)
    assert all(rx.match(a) for a in yes)
    assert not any(rx.match(a) for a in no)


@pytest.mark.parametrize("pattern", ["/x/[ab", "/x/{a,b", "/x/a]"])
def test_unbalanced_patterns_are_errors(pattern):
    with pytest.raises(OscPacketError, match="bad address pattern"):
        pattern_regex(pattern)


# -- rate limits and the allowlist ------------------------------------------------------------


def test_token_bucket_refills_at_its_rate_up_to_its_burst():
    bucket = TokenBucket(rate=10.0, burst=5.0, now=0.0)
    assert [bucket.take(1, 0.0) for _ in range(6)] == [True] * 5 + [False]
    assert bucket.take(1, 0.1)            # one token after 0.1 s
    assert not bucket.take(1, 0.1)
    assert bucket.take(5, 10.0) and not bucket.take(1, 10.0)  # capped at the burst


def test_rate_limiter_keeps_one_bucket_per_sender():
    now = [0.0]
    limiter = RateLimiter(1.0, 2.0, lambda: now[0])
    assert limiter.allow("10.0.0.1") and limiter.allow("10.0.0.1") and not limiter.allow("10.0.0.1")
    assert limiter.allow("10.0.0.2")       # another sender has its own budget


def test_allowlist_defaults_to_loopback_and_private_networks():
    allow = Allowlist(OscSettings().allow)
    for host in ("127.0.0.1", "10.1.2.3", "172.16.5.4", "192.168.1.20", "169.254.3.3", "::1",
                 "::ffff:192.168.0.9", "fd00::1", "fe80::1%eth0"):
        assert allow.allows(host), host
    for host in ("8.8.8.8", "172.32.0.1", "2001:db8::1", "::ffff:8.8.8.8", "not-an-ip"):
        assert not allow.allows(host), host


def test_bad_settings_name_the_key_and_the_expected_form():
    with pytest.raises(OscError, match=r"osc.allow entry 'lan'.*CIDR"):
        OscSettings(allow=("lan",))
    with pytest.raises(OscError, match="osc.rate_limit"):
        OscSettings(rate=0)
    with pytest.raises(OscError, match="osc.port"):
        OscSettings(port=70000)


# -- the listener and the drain ---------------------------------------------------------------


class Wall:
    """A wall clock the test moves (bundle timetags are compared with it)."""

    def __init__(self, t: float = 1_800_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def fake_engine():
    return SimpleNamespace(clock=ManualClock(), signals=SignalBus(), scene=None, beat=BeatClock(),
                           dimmer=1.0, blackout=False, freeze=False)


@pytest.fixture
def sender():
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    yield sock
    sock.close()


def start(settings: OscSettings | None = None, **kwargs) -> OscInput:
    osc = OscInput(settings or OscSettings(host="127.0.0.1", port=0), **kwargs)
    osc.start()
    return osc


def wait_for(osc: OscInput, packets: int, timeout: float = 5.0) -> None:
    end = time.monotonic() + timeout
    while osc.counters.packets < packets and time.monotonic() < end:
        time.sleep(0.005)
    assert osc.counters.packets >= packets, osc.stats()


def test_any_address_becomes_a_source_signal(sender):
    osc, eng = start(), fake_engine()
    try:
        sender.sendto(msg("/1/fader1", 0.25), ("127.0.0.1", osc.port))
        sender.sendto(msg("/1/toggle1", True), ("127.0.0.1", osc.port))
        sender.sendto(msg("/xy", 3, 4), ("127.0.0.1", osc.port))
        sender.sendto(msg("/label", "hello"), ("127.0.0.1", osc.port))
        wait_for(osc, 4)
        assert osc.drain(eng) == 3
        assert eng.signals.get("osc./1/fader1") == 0.25
        assert eng.signals.get("osc./1/toggle1") == 1.0
        assert eng.signals.get("osc./xy") == 3.0
        assert osc.stats()["problems"] == {"source without a number": 1}
    finally:
        osc.close()


def test_a_pattern_sets_every_matching_source(sender):
    osc, eng = start(), fake_engine()
    try:
        for i in (1, 2, 3):
            sender.sendto(msg(f"/mix/fader{i}", 0.0), ("127.0.0.1", osc.port))
        wait_for(osc, 3)
        osc.drain(eng)
        sender.sendto(msg("/mix/fader[12]", 0.75), ("127.0.0.1", osc.port))
        wait_for(osc, 4)
        osc.drain(eng)
        assert [eng.signals.get(f"osc./mix/fader{i}") for i in (1, 2, 3)] == [0.75, 0.75, 0.0]
    finally:
        osc.close()


def test_timetagged_bundles_wait_for_the_frame_that_passes_their_time(sender):
    wall = Wall()
    osc, eng = start(wall=wall), fake_engine()
    try:
        sender.sendto(bundle(wall.t + 0.5, msg("/later", 1.0)), ("127.0.0.1", osc.port))
        sender.sendto(bundle(0, msg("/now", 1.0)), ("127.0.0.1", osc.port))
        sender.sendto(bundle(wall.t - 5.0, msg("/late", 1.0)), ("127.0.0.1", osc.port))
        wait_for(osc, 3)
        assert osc.drain(eng) == 2                    # immediate and already-late ones
        assert "osc./later" not in eng.signals
        wall.t += 0.49
        assert osc.drain(eng) == 0
        wall.t += 0.02
        assert osc.drain(eng) == 1
        assert eng.signals.get("osc./later") == 1.0
        assert osc.stats()["scheduled"] == 1
        sender.sendto(bundle(wall.t + 3600, msg("/much/later", 1.0)), ("127.0.0.1", osc.port))
        wait_for(osc, 4)
        osc.drain(eng)
        assert osc.stats()["problems"] == {"timetag too far ahead": 1}
    finally:
        osc.close()


def test_a_full_queue_drops_the_oldest_and_counts_it(sender):
    osc, eng = start(OscSettings(host="127.0.0.1", port=0, queue=16)), fake_engine()
    try:
        for i in range(40):
            sender.sendto(msg("/seq", i), ("127.0.0.1", osc.port))
        wait_for(osc, 40)
        assert osc.drain(eng) == 16
        assert eng.signals.get("osc./seq") == 39.0     # the newest survived
        assert osc.stats()["dropped_oldest"] == 24
    finally:
        osc.close()


def test_a_flooding_sender_is_limited_and_counted(sender):
    osc, eng = start(OscSettings(host="127.0.0.1", port=0, rate=50.0, burst=10.0)), fake_engine()
    try:
        for i in range(60):
            sender.sendto(msg("/flood", i), ("127.0.0.1", osc.port))
        sender.sendto(bundle(0, *[msg("/b", i) for i in range(30)]), ("127.0.0.1", osc.port))
        end = time.monotonic() + 5
        while sum(osc.problems.counts.values()) + osc.counters.packets < 61 and time.monotonic() < end:
            time.sleep(0.005)
        applied = osc.drain(eng)
        assert 10 <= applied <= 20                     # the burst, plus what 50/s refills meanwhile
        assert osc.stats()["problems"]["rate limited"] >= 40
    finally:
        osc.close()


def test_senders_outside_the_allowlist_are_refused(sender):
    osc, eng = start(OscSettings(host="127.0.0.1", port=0, allow=("10.0.0.0/8",))), fake_engine()
    try:
        sender.sendto(msg("/x", 1.0), ("127.0.0.1", osc.port))
        end = time.monotonic() + 5
        while not osc.problems.counts and time.monotonic() < end:
            time.sleep(0.005)
        assert osc.drain(eng) == 0
        assert osc.stats()["problems"] == {"sender not allowed": 1}
    finally:
        osc.close()


def test_each_cause_is_logged_once_however_often_it_happens(sender, caplog):
    osc = start()
    try:
        with caplog.at_level(logging.WARNING, logger="live.control.osc"):
            for _ in range(50):
                sender.sendto(b"garbage!", ("127.0.0.1", osc.port))
            sender.sendto(msg("/x", b"blob"), ("127.0.0.1", osc.port))
            wait_for(osc, 51)
        lines = [r.getMessage() for r in caplog.records]
        assert sum("not OSC" in line for line in lines) == 1
        assert sum("blob argument" in line for line in lines) == 1
        assert osc.stats()["problems"] == {"not OSC": 50, "blob argument": 1}
    finally:
        osc.close()


def test_companion_app_messages_reach_the_bio_signals(sender):
    osc, eng = start(), fake_engine()
    try:
        sender.sendto(msg("/echoel/bio/phone/hr", 64.0), ("127.0.0.1", osc.port))
        sender.sendto(msg("/echoel/bio/phone/rr", 930), ("127.0.0.1", osc.port))
        sender.sendto(msg("/echoel/bio/phone/hr", 900.0), ("127.0.0.1", osc.port))
        wait_for(osc, 3)
        osc.drain(eng)
        assert eng.signals.get("bio.hr.phone") == 64.0 and eng.signals.get("bio.pulse") == 1.0
        assert eng.signals.get("bio.rr.phone") == 930.0
        assert osc.stats()["problems"] == {"bio: impossible value": 1}
    finally:
        osc.close()


def test_unknown_echoel_addresses_are_counted_not_published(sender):
    osc, eng = start(), fake_engine()
    try:
        sender.sendto(msg("/echoel/layers/nope/speed", 1.0), ("127.0.0.1", osc.port))
        wait_for(osc, 1)
        assert osc.drain(eng) == 0
        assert osc.stats()["problems"] == {"unknown address": 1}
        assert not [n for n in eng.signals.names() if n.startswith("osc.")]
    finally:
        osc.close()


def test_a_port_in_use_is_a_clear_error():
    taken = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    taken.bind(("127.0.0.1", 0))
    try:
        with pytest.raises(OscError, match=r"cannot receive OSC on 127\.0\.0\.1:\d+.*osc\.port"):
            OscInput(OscSettings(host="127.0.0.1", port=taken.getsockname()[1])).start()
    finally:
        taken.close()
