"""OSC in: a UDP listener that only checks and queues, and a render-thread drain that applies.

The listener thread (python-osc's `BlockingOSCUDPServer`, one thread for all packets) refuses
senders outside the allowlist (default: loopback and private networks), takes tokens from the
sender's bucket (default 20,000 messages/s with a burst of 5,000), parses the datagram with
limits (size, bundle depth, messages per packet, arguments per message, type tags) and appends
each message to a bounded queue that drops its oldest entry when full. It never applies anything,
never sleeps until a timetag (`Dispatcher(strict_timing=False)` semantics) and survives any input:
every refusal is counted by cause and logged once per cause.

On the render thread, `OscInput.drain` takes the queued messages at the top of a frame. A message
whose bundle timetag lies in the future waits in a heap and is applied at the first frame whose
time (the injected wall clock) has passed it. Then each address is dispatched:

- ``/echoel/bio/<device_id>/...``: the companion app (`live.control.bio.BioHub`);
- ``/echoel/<target with dots as slashes>``: a target of the running scene or a global one
  (`live.control.osc_namespace`): type-checked, clamped to its range, applied;
- any other address: a signal ``osc.<address>`` on the bus with the first argument as value
  (numbers; true/false read 1/0), usable as a mapping source (``osc./1/fader1``).

Addresses with OSC 1.0 pattern characters (``* ? [] {}``) are matched against the targets of the
running scene and the addresses already seen, and applied to each match.

Threads: the listener thread runs `_on_packet`; everything else named "render thread" below.
`OscInput.stats` may be read from any thread.
"""

from __future__ import annotations

import collections
import heapq
import ipaddress
import logging
import math
import re
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from pythonosc import osc_message, osc_server
from pythonosc.dispatcher import Dispatcher
from pythonosc.parsing import osc_types

from live.control.bio import BIO_PREFIX, BioError, BioHub
from live.control.osc_namespace import (
    BOOL,
    ECHOEL_PREFIX,
    INT,
    TRIGGER,
    Namespace,
    TargetInfo,
    scene_targets,
)

log = logging.getLogger(__name__)

#: Senders allowed by default: loopback and private (RFC 1918, link-local, unique-local) networks.
DEFAULT_ALLOW: tuple[str, ...] = (
    "127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16",
    "::1/128", "fc00::/7", "fe80::/10",
)
DEFAULT_RATE = 20000.0
DEFAULT_BURST = 5000.0
DEFAULT_QUEUE = 16384
#: Limits on one datagram.
MAX_PACKET_BYTES = 65536
MAX_BUNDLE_DEPTH = 8
MAX_MESSAGES_PER_PACKET = 1024
MAX_ARGS = 16
MAX_ADDRESS_CHARS = 255
#: Type tags the engine reads: numbers, strings, true/false, nil, blobs (refused later: no use).
ACCEPTED_TAGS = frozenset("ifdhsTFNb")
#: Timetagged messages waiting for their frame, and how far ahead a timetag may be.
MAX_SCHEDULED = 4096
MAX_AHEAD_S = 60.0
#: Distinct non-/echoel/ addresses published as `osc.<address>` sources (a flood of made-up
#: addresses cannot grow the signals bus without bound).
MAX_SOURCE_ADDRESSES = 1024
#: Senders with a token bucket at once; the least recently seen is forgotten first.
MAX_BUCKETS = 4096
_PATTERN_CHARS = frozenset("*?[]{}")


class OscError(ValueError):
    """OSC settings that cannot be used, or a port that cannot be opened (user errors)."""


class OscPacketError(ValueError):
    """A datagram the listener refuses. `cause` groups refusals for counting and logging."""

    def __init__(self, cause: str, detail: str = "") -> None:
        super().__init__(f"{cause}: {detail}" if detail else cause)
        self.cause = cause
        self.detail = detail


@dataclass(frozen=True)
class OscSettings:
    """Where and how OSC is received. Immutable; any thread.

    Attributes:
        host: address to bind ("0.0.0.0": every IPv4 interface, guarded by `allow`).
        port: UDP port (0 picks a free one).
        allow: networks (CIDR) whose senders are accepted.
        rate, burst: token bucket per sender, messages per second and bucket size.
        queue: messages waiting for the render thread before the oldest is dropped.
    """

    host: str = "0.0.0.0"
    port: int = 9000
    allow: tuple[str, ...] = DEFAULT_ALLOW
    rate: float = DEFAULT_RATE
    burst: float = DEFAULT_BURST
    queue: int = DEFAULT_QUEUE

    def __post_init__(self) -> None:
        if not (isinstance(self.port, int) and 0 <= self.port <= 65535):
            raise OscError(f"osc.port {self.port!r}: expected an integer from 0 to 65535")
        for value, name in ((self.rate, "osc.rate_limit"), (self.burst, "osc.burst")):
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise OscError(f"{name} {value!r}: expected a positive number of messages")
        if not (isinstance(self.queue, int) and self.queue >= 16):
            raise OscError(f"osc queue {self.queue!r}: expected an integer of at least 16")
        parse_networks(self.allow)

    @classmethod
    def from_config(cls, cfg: Any) -> OscSettings:
        """Settings from a `live.config.Config` (keys osc.host, osc.port, osc.allow,
        osc.rate_limit, osc.burst)."""
        allow = cfg.get("osc.allow", list(DEFAULT_ALLOW))
        return cls(host=str(cfg.get("osc.host", "0.0.0.0")), port=int(cfg.get("osc.port", 9000)),
                   allow=tuple(allow), rate=float(cfg.get("osc.rate_limit", DEFAULT_RATE)),
                   burst=float(cfg.get("osc.burst", DEFAULT_BURST)))


def parse_networks(items: Iterable[str]) -> tuple[ipaddress._BaseNetwork, ...]:
    """CIDR strings -> networks. Raises OscError naming the bad entry and the expected form."""
    out = []
    for item in items:
        try:
            out.append(ipaddress.ip_network(str(item).strip(), strict=False))
        except ValueError:
            raise OscError(f"osc.allow entry {item!r} is not a network: expected an address or "
                           "CIDR block such as '192.168.1.0/24', '10.0.0.7' or '::1/128' "
                           "('0.0.0.0/0' allows every IPv4 sender)") from None
    return tuple(out)


class Allowlist:
    """Which sender addresses are accepted. Any thread (immutable after construction)."""

    def __init__(self, networks: Iterable[str]) -> None:
        self.networks = parse_networks(networks)
        self._cache: dict[str, bool] = {}

    def allows(self, host: str) -> bool:
        """Whether a sender at `host` (as the socket reports it) is accepted."""
        hit = self._cache.get(host)
        if hit is not None:
            return hit
        try:
            ip = ipaddress.ip_address(host.split("%", 1)[0])
        except ValueError:
            return False
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        ok = any(ip.version == net.version and ip in net for net in self.networks)
        if len(self._cache) < 4096:  # a bounded memo: sender addresses are few in practice
            self._cache[host] = ok
        return ok


class TokenBucket:
    """`rate` tokens per second up to `burst`. One thread (the listener)."""

    def __init__(self, rate: float, burst: float, now: float) -> None:
        self.rate = float(rate)
        self.burst = float(burst)
        self.tokens = float(burst)
        self.stamp = now

    def take(self, n: float, now: float) -> bool:
        """Take `n` tokens if there are that many; returns whether it could."""
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= n:
            self.tokens -= n
            return True
        return False


class RateLimiter:
    """One token bucket per sender host, the least recently used forgotten first. Listener thread."""

    def __init__(self, rate: float, burst: float, monotonic: Callable[[], float]) -> None:
        self.rate, self.burst = rate, burst
        self._time = monotonic
        self._buckets: collections.OrderedDict[str, TokenBucket] = collections.OrderedDict()

    def allow(self, host: str, n: int = 1) -> bool:
        now = self._time()
        bucket = self._buckets.get(host)
        if bucket is None:
            bucket = self._buckets[host] = TokenBucket(self.rate, self.burst, now)
            if len(self._buckets) > MAX_BUCKETS:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(host)
        return bucket.take(n, now)


# --------------------------------------------------------------------------------------------
# Parsing (listener thread)


#: Timetag value meaning "now" (python-osc's IMMEDIATELY).
IMMEDIATE = 0.0


def parse_packet(data: bytes) -> list[tuple[float, str, tuple]]:
    """Split a datagram into (timetag, address, arguments) messages, with limits.

    Timetags are Unix seconds (`IMMEDIATE` = 0 for "now" and for messages outside bundles); an
    inner bundle never runs before its enclosing one. Bundles are walked without recursion.

    Raises:
        OscPacketError: empty or oversized packet, bundles nested deeper than
            `MAX_BUNDLE_DEPTH`, more than `MAX_MESSAGES_PER_PACKET` messages, malformed framing,
            bad addresses or type tags.
    """
    if not data:
        raise OscPacketError("empty packet")
    if len(data) > MAX_PACKET_BYTES:
        raise OscPacketError("packet too large", f"{len(data)} bytes")
    out: list[tuple[float, str, tuple]] = []
    stack: list[tuple[bytes, int, float]] = [(bytes(data), 0, IMMEDIATE)]
    while stack:
        dgram, depth, outer = stack.pop()
        if dgram.startswith(b"#bundle\x00"):
            if depth >= MAX_BUNDLE_DEPTH:
                raise OscPacketError("bundle nested too deeply", f"more than {MAX_BUNDLE_DEPTH} levels")
            if len(dgram) < 16:
                raise OscPacketError("malformed bundle", "shorter than its header")
            try:
                timetag, index = osc_types.get_date(dgram, 8)
            except Exception as exc:  # noqa: BLE001 - any decoding failure is a malformed bundle
                raise OscPacketError("malformed bundle", f"timetag: {exc}") from None
            timetag = max(float(timetag), outer)
            elements = []
            while index < len(dgram):
                if index + 4 > len(dgram):
                    raise OscPacketError("malformed bundle", "truncated element size")
                size = int.from_bytes(dgram[index:index + 4], "big", signed=True)
                index += 4
                if size <= 0 or size % 4 or index + size > len(dgram):
                    raise OscPacketError("malformed bundle", f"element size {size} does not fit")
                elements.append(dgram[index:index + size])
                index += size
            stack.extend((e, depth + 1, timetag) for e in reversed(elements))
        elif dgram.startswith(b"/"):
            address, args = parse_message(dgram)
            out.append((outer, address, args))
            if len(out) > MAX_MESSAGES_PER_PACKET:
                raise OscPacketError("too many messages in one packet", f"more than {MAX_MESSAGES_PER_PACKET}")
        else:
            raise OscPacketError("not OSC", "neither a message ('/...') nor a bundle ('#bundle')")
    return out


def parse_message(dgram: bytes) -> tuple[str, tuple]:
    """(address, arguments) of one OSC message; arguments are int, float, str, bool or None.

    Raises OscPacketError for bad addresses, unknown type tags, arrays, blobs, too many
    arguments, non-finite numbers and malformed data.
    """
    try:
        address, index = osc_types.get_string(dgram, 0)
        tags = ","
        if index < len(dgram):
            tags, _ = osc_types.get_string(dgram, index)
    except Exception as exc:  # noqa: BLE001 - undecodable strings, short data...
        raise OscPacketError("malformed message", str(exc)) from None
    if (len(address) > MAX_ADDRESS_CHARS or not address.startswith("/")
            or any(c <= " " or c > "~" or c in "#," for c in address)):
        raise OscPacketError("bad address", repr(address[:80]))
    if not tags.startswith(","):
        raise OscPacketError("malformed message", f"type tag string {tags[:20]!r} does not start with ','")
    unknown = set(tags[1:]) - ACCEPTED_TAGS
    if unknown:
        raise OscPacketError("unsupported type tag", f"{''.join(sorted(unknown))!r} in {address} "
                             f"(accepted: {''.join(sorted(ACCEPTED_TAGS))})")
    if len(tags) - 1 > MAX_ARGS:
        raise OscPacketError("too many arguments", f"{len(tags) - 1} in {address} (at most {MAX_ARGS})")
    if not _arguments_fit(dgram, tags):
        raise OscPacketError("malformed message", f"{address}: the arguments do not match the "
                             f"type tags {tags!r} (truncated or padded wrongly)")
    try:
        args = tuple(osc_message.OscMessage(dgram).params)
    except Exception as exc:  # noqa: BLE001 - python-osc raises several kinds on bad data
        raise OscPacketError("malformed message", f"{address}: {exc}") from None
    for a in args:
        if isinstance(a, bytes):
            raise OscPacketError("blob argument", f"{address}: blobs carry nothing the engine can use")
        if isinstance(a, float) and not math.isfinite(a):
            raise OscPacketError("non-finite value", f"{address}: {a!r}")
    return address, args


_ARG_BYTES = {"i": 4, "f": 4, "d": 8, "h": 8, "T": 0, "F": 0, "N": 0}


def _arguments_fit(dgram: bytes, tags: str) -> bool:
    """Whether the argument data after the type tags has exactly the length the tags announce.

    python-osc reads missing numbers as 0 instead of failing, so a truncated packet would
    otherwise set a parameter to 0.
    """
    index = len(dgram.split(b"\x00", 1)[0]) + 1
    index += -index % 4
    if len(tags) > 1 or index < len(dgram):
        end = dgram.find(b"\x00", index)
        if end < 0:
            return False
        index = end + 1 + (-(end + 1) % 4)
    for tag in tags[1:]:
        if tag == "s":
            end = dgram.find(b"\x00", index)
            if end < 0:
                return False
            index = end + 1 + (-(end + 1) % 4)
        elif tag == "b":
            if index + 4 > len(dgram):
                return False
            size = int.from_bytes(dgram[index:index + 4], "big", signed=True)
            if size < 0:
                return False
            index += 4 + size + (-size % 4)
        else:
            index += _ARG_BYTES[tag]
    return index == len(dgram)


# --------------------------------------------------------------------------------------------
# Counting and logging once


class ProblemCounter:
    """Counts problems by cause and logs the first of each cause (any thread).

    Logging every bad packet of a flood would itself be a denial of service; the count keeps
    the scale visible (`counts`, in `OscInput.stats`).
    """

    def __init__(self, logger: logging.Logger = log) -> None:
        self.counts: collections.Counter[str] = collections.Counter()
        self._lock = threading.Lock()
        self._log = logger

    def add(self, cause: str, detail: str = "", n: int = 1) -> None:
        with self._lock:
            first = cause not in self.counts
            self.counts[cause] += n
        if first:
            self._log.warning("OSC: %s%s (logged once; counted in the OSC stats)", cause,
                              f": {detail}" if detail else "")

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self.counts)


# --------------------------------------------------------------------------------------------
# Address patterns


def is_pattern(address: str) -> bool:
    """Whether an address uses OSC 1.0 pattern characters (* ? [ ] { })."""
    return any(c in _PATTERN_CHARS for c in address)


def pattern_regex(pattern: str) -> re.Pattern[str]:
    """The regular expression of an OSC 1.0 address pattern: ``?`` one character, ``*`` any run,
    ``[a-c]`` / ``[!a-c]`` a character set, ``{foo,bar}`` alternatives; none crosses a ``/``.

    Raises OscPacketError for an unbalanced bracket or brace.
    """
    out = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "?":
            out.append("[^/]")
        elif c == "*":
            out.append("[^/]*")
        elif c == "[":
            end = pattern.find("]", i + 1)
            if end < 0:
                raise OscPacketError("bad address pattern", f"'[' without ']' in {pattern}")
            body = pattern[i + 1:end]
            negate = body.startswith("!")
            if negate:
                body = body[1:]
            chars = "".join("\\" + ch if ch in "\\^]" else ch for ch in body)
            out.append(f"[{'^' if negate else ''}{chars}]" if chars else ("[^/]" if negate else "(?!)"))
            i = end
        elif c == "{":
            end = pattern.find("}", i + 1)
            if end < 0:
                raise OscPacketError("bad address pattern", f"'{{' without '}}' in {pattern}")
            options = pattern[i + 1:end].split(",")
            out.append("(?:" + "|".join(re.escape(o) for o in options) + ")")
            i = end
        elif c in "]}":
            raise OscPacketError("bad address pattern", f"unbalanced '{c}' in {pattern}")
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out) + r"\Z")


# --------------------------------------------------------------------------------------------
# The listener


class _QueueingDispatcher(Dispatcher):
    """python-osc's dispatcher, made to parse and queue instead of calling handlers.

    `strict_timing=False`: whatever the base class would do with a timetag, it must never sleep
    in the listener thread; the engine schedules timetagged messages itself.
    """

    def __init__(self, owner: OscInput) -> None:
        super().__init__(strict_timing=False)
        self._owner = owner

    def call_handlers_for_packet(self, data: bytes, client_address: tuple) -> list:
        self._owner._on_packet(data, client_address)
        return []  # never reply to a sender


class _Listener(osc_server.BlockingOSCUDPServer):
    """One thread for every packet (not ThreadingOSCUDPServer, which starts a thread per packet
    and loses packets). Big receive buffer for bursts; datagrams up to 64 KiB are read whole."""

    max_packet_size = MAX_PACKET_BYTES
    allow_reuse_address = False

    def __init__(self, address: tuple[str, int], owner: OscInput) -> None:
        self._owner = owner
        super().__init__(address, _QueueingDispatcher(owner))

    def server_bind(self) -> None:
        try:
            self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        except OSError:
            pass  # the kernel caps it; the default buffer still works
        super().server_bind()

    def verify_request(self, request: Any, client_address: Any) -> bool:
        return self._owner._admit(client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A bug must not print a traceback per packet or stop the thread: count it, log once.
        import sys
        exc = sys.exc_info()[1]
        self._owner.problems.add("internal error", f"{type(exc).__name__}: {exc}")


@dataclass
class _Counters:
    """Plain counters, each written by one thread (listener or render)."""

    packets: int = 0
    messages: int = 0
    queued: int = 0
    dropped_oldest: int = 0
    applied: int = 0
    scheduled: int = 0


class OscInput:
    """OSC messages in: listener thread + render-thread `drain`.

    Args:
        settings: bind address, allowlist, rate limits, queue size.
        bio: the companion-app hub that ``/echoel/bio/...`` messages go to (a new one if None).
        wall: wall clock in Unix seconds, for bundle timetags (injected; tests pass a fake).
        monotonic: clock for the rate limiter (listener thread).
    """

    def __init__(self, settings: OscSettings | None = None, *, bio: BioHub | None = None,
                 wall: Callable[[], float] = time.time,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings or OscSettings()
        self.bio = bio if bio is not None else BioHub()
        self._wall = wall
        self.allowlist = Allowlist(self.settings.allow)
        self.limiter = RateLimiter(self.settings.rate, self.settings.burst, monotonic)
        self.problems = ProblemCounter()
        self.counters = _Counters()
        self._queue: collections.deque[tuple[float, str, tuple, str]] = collections.deque(
            maxlen=self.settings.queue)
        self._heap: list[tuple[float, int, tuple[float, str, tuple, str]]] = []
        self._seq = 0
        self._server: _Listener | None = None
        self._thread: threading.Thread | None = None
        self._namespace = Namespace("", ())
        self._namespace_scene: Any = object()
        self._sources: set[str] = set()
        self._patterns: dict[str, re.Pattern[str] | None] = {}
        self.last_message_time: float | None = None  # wall time of the last message applied

    # -- lifecycle (main thread) ----------------------------------------------------------------
    def start(self) -> None:
        """Bind the UDP port and start the listener thread. Raises OscError if the port cannot
        be opened (in use, no permission, bad host)."""
        host, port = self.settings.host, self.settings.port
        try:
            self._server = _Listener((host, port), self)
        except OSError as exc:
            raise OscError(f"cannot receive OSC on {host}:{port}: {exc.strerror or exc} (set "
                           "osc.port / osc.host in the configuration, or ECHOEL_OSC_PORT)") from None
        self._thread = threading.Thread(target=self._serve, name="osc-in", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        server = self._server
        while server is not None:
            try:
                server.serve_forever(poll_interval=0.2)
                return
            except Exception as exc:  # noqa: BLE001 - the listener must never die
                self.problems.add("listener restarted", f"{type(exc).__name__}: {exc}")

    @property
    def port(self) -> int:
        """The bound UDP port (useful with port 0)."""
        if self._server is None:
            return self.settings.port
        return int(self._server.server_address[1])

    @property
    def alive(self) -> bool:
        """Whether the listener thread is running."""
        return self._thread is not None and self._thread.is_alive()

    def close(self) -> None:
        """Stop the listener and close the socket (main thread)."""
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
            self._thread = None

    # -- listener thread ------------------------------------------------------------------------
    def _admit(self, client_address: Any) -> bool:
        host = str(client_address[0]) if isinstance(client_address, tuple) else str(client_address)
        if not self.allowlist.allows(host):
            self.problems.add("sender not allowed", f"{host} is outside osc.allow")
            return False
        if not self.limiter.allow(host):
            self.problems.add("rate limited", f"{host} sends faster than {self.settings.rate:g} "
                              f"messages/s (burst {self.settings.burst:g})")
            return False
        return True

    def _on_packet(self, data: bytes, client_address: Any) -> None:
        self.counters.packets += 1
        host = str(client_address[0]) if isinstance(client_address, tuple) else str(client_address)
        try:
            messages = parse_packet(data)
        except OscPacketError as exc:
            self.problems.add(exc.cause, exc.detail)
            return
        except Exception as exc:  # noqa: BLE001 - never let a packet kill the listener
            self.problems.add("malformed packet", f"{type(exc).__name__}: {exc}")
            return
        # The first message's token was taken by _admit; the rest of a bundle pays here.
        if len(messages) > 1 and not self.limiter.allow(host, len(messages) - 1):
            self.problems.add("rate limited", f"{host}: a bundle of {len(messages)} messages "
                              "exceeds the sender's budget", len(messages))
            return
        queue = self._queue
        for timetag, address, args in messages:
            if len(queue) == queue.maxlen:
                self.counters.dropped_oldest += 1
            queue.append((timetag, address, args, host))
        self.counters.messages += len(messages)
        self.counters.queued += len(messages)

    # -- render thread --------------------------------------------------------------------------
    def drain(self, engine: Any, commands: Callable[..., Any] | None = None,
              now: float | None = None) -> int:
        """Apply every queued message that is due, then publish the bio signals. Render thread,
        once per frame before the mappings run.

        Args:
            engine: the engine (targets, signals bus, clock, beat clock).
            commands: `Show.post`-like callable for set-list commands (scene.next, scene.prev,
                scene.goto, master.panic); None: those addresses are counted as needing a show.
            now: the frame's clock time (default: `engine.clock.now()`), for the bio signals.

        Returns:
            The number of messages applied this frame.
        """
        wall = self._wall()
        t = engine.clock.now() if now is None else now
        self._refresh_namespace(engine)
        applied = 0
        heap = self._heap
        while heap and heap[0][0] <= wall:
            applied += self._apply(heapq.heappop(heap)[2], engine, commands, t)
        queue = self._queue
        while queue:
            try:
                item = queue.popleft()
            except IndexError:
                break
            timetag = item[0]
            if timetag > wall:
                if timetag - wall > MAX_AHEAD_S:
                    self.problems.add("timetag too far ahead", f"{item[1]} is due in "
                                      f"{timetag - wall:.0f} s (at most {MAX_AHEAD_S:g} s)")
                elif len(heap) >= MAX_SCHEDULED:
                    self.problems.add("too many scheduled messages", f"more than {MAX_SCHEDULED}")
                else:
                    self._seq += 1
                    heapq.heappush(heap, (timetag, self._seq, item))
                    self.counters.scheduled += 1
                continue
            applied += self._apply(item, engine, commands, t)
        self.bio.publish(engine.signals, t)
        if applied:
            self.last_message_time = wall
        return applied

    def _refresh_namespace(self, engine: Any) -> None:
        scene = getattr(engine, "scene", None)
        if scene is not self._namespace_scene:
            self._namespace_scene = scene
            self._namespace = scene_targets(engine)

    @property
    def namespace(self) -> Namespace:
        """The targets of the scene seen at the last drain."""
        return self._namespace

    def _apply(self, item: tuple[float, str, tuple, str], engine: Any,
               commands: Callable[..., Any] | None, now: float) -> int:
        _, address, args, _ = item
        if is_pattern(address):
            matches = self._expand(address)
            if not matches:
                self.problems.add("pattern matched nothing", address)
                return 0
            return sum(self._apply_one(m, args, engine, commands, now) for m in matches)
        return self._apply_one(address, args, engine, commands, now)

    def _expand(self, pattern: str) -> list[str]:
        regex = self._patterns.get(pattern, False)
        if regex is False:
            try:
                regex = pattern_regex(pattern)
            except OscPacketError as exc:
                self.problems.add(exc.cause, exc.detail)
                regex = None
            if len(self._patterns) >= 256:
                self._patterns.clear()
            self._patterns[pattern] = regex
        if regex is None:
            return []
        candidates = [*self._namespace.addresses(), *sorted(self._sources)]
        return [a for a in candidates if regex.match(a)]

    def _apply_one(self, address: str, args: tuple, engine: Any,
                   commands: Callable[..., Any] | None, now: float) -> int:
        if address.startswith(BIO_PREFIX):
            try:
                self.bio.handle(address, args, now)
            except BioError as exc:
                self.problems.add(exc.cause, exc.detail)
                return 0
            self.counters.applied += 1
            return 1
        if address.startswith(ECHOEL_PREFIX):
            info = self._namespace.get(address)
            if info is None:
                self.problems.add("unknown address", f"{address}: not a target of the running "
                                  "scene (see the OSCQuery namespace or `echoel signals`)")
                return 0
            return self._apply_target(info, args, engine, commands)
        value = _first_number(args)
        if value is None:
            self.problems.add("source without a number", f"{address} carries {_kinds(args)}; a "
                              "source takes a number, true or false as its first argument")
            return 0
        if address not in self._sources:
            if len(self._sources) >= MAX_SOURCE_ADDRESSES:
                self.problems.add("too many source addresses", f"{address} ignored: "
                                  f"{MAX_SOURCE_ADDRESSES} addresses already in use")
                return 0
            self._sources.add(address)
        engine.signals.set("osc." + address, value)
        self.counters.applied += 1
        return 1

    def _apply_target(self, info: TargetInfo, args: tuple, engine: Any,
                      commands: Callable[..., Any] | None) -> int:
        if not args:
            if info.type not in (TRIGGER, BOOL):
                self.problems.add("missing value", f"{info.address} takes a {info.type} value")
                return 0
            value = 1.0  # a bare message presses a trigger / switches a flag on
        else:
            value = _first_number(args)
            if value is None or len(args) > 1:
                self.problems.add("wrong type", f"{info.address} takes one {info.type} value, got "
                                  f"{_kinds(args)}")
                return 0
        v, clamped = info.check(value)
        if clamped:
            self.problems.add("value out of range", f"{info.address} = {value:g}, clamped to {v:g} "
                              f"(range {info.lo:g}..{info.hi:g})" if info.lo is not None and info.hi
                              is not None else f"{info.address} = {value:g}, clamped to {v:g}")
        if info.type == TRIGGER and v < 0.5:
            self.counters.applied += 1
            return 1  # the release of a button: nothing to do
        if info.route == "layer":
            if not engine.set_target(info.target, v):
                self.problems.add("unknown address", f"{info.address}: the scene changed")
                return 0
        elif info.route == "engine":
            _apply_global(engine, info.target, v)
        else:
            if commands is None:
                self.problems.add("needs a running show", f"{info.address}: set-list commands work "
                                  "in `echoel run`")
                return 0
            commands(info.target, v if info.type == INT else None)
        self.counters.applied += 1
        return 1

    # -- any thread -----------------------------------------------------------------------------
    def stats(self) -> dict[str, Any]:
        """Counters for the HUD, /metrics and tests: packets, messages, queued,
        dropped_oldest, applied, scheduled, waiting (queue length), problems by cause."""
        c = self.counters
        return {"packets": c.packets, "messages": c.messages, "queued": c.queued,
                "dropped_oldest": c.dropped_oldest, "applied": c.applied, "scheduled": c.scheduled,
                "waiting": len(self._queue), "problems": self.problems.snapshot(),
                "bio_rejected": self.bio.rejected()}


def _apply_global(engine: Any, target: str, v: float) -> None:
    """An explicit OSC message always acts (unlike a mapping, which acts on change)."""
    if target == "master.dimmer":
        engine.dimmer = v
    elif target == "master.blackout":
        engine.blackout = v >= 0.5
    elif target == "master.freeze":
        engine.freeze = v >= 0.5
    elif target == "tempo.bpm":
        engine.beat.set_tempo(v, engine.clock.now(), "osc")
    elif target == "tempo.tap":
        engine.beat.tap(engine.clock.now())
    elif target == "tempo.nudge" and v != 0.0:
        engine.beat.nudge(v)


def _first_number(args: tuple) -> float | None:
    if not args:
        return None
    a = args[0]
    if isinstance(a, bool):
        return 1.0 if a else 0.0
    if isinstance(a, (int, float)):
        v = float(a)
        return v if math.isfinite(v) else None
    return None


def _kinds(args: tuple) -> str:
    if not args:
        return "no argument"
    names = {bool: "boolean", str: "string", int: "int", float: "float", type(None): "nil"}
    return ", ".join(names.get(type(a), type(a).__name__) for a in args)
