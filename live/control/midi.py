"""MIDI input: ports through python-rtmidi, a byte-level parser, and signals on the bus.

Data flow (ARCHITECTURE.md "Data flow")::

    MIDI system thread (JACK process / ALSA seq) ─► rtmidi's queue per port (C++, no Python)
        ─► render thread: MidiInput.drain() polls every port, stamps each message
        ─► MidiParser (per port: running status, realtime bytes, SysEx, truncation)
        ─► MidiDecoder ─► SignalBus: midi.cc.<ch>.<cc>, midi.note.<ch>.<note>, midi.bend.<ch>,
                                      midi.program.<ch> (and the midi.<alias>.… twins)
                       ─► clock listeners (MIDI clock, start/stop/continue, song position)
                       ─► learn listeners (live.control.learn)

rtmidi's own queue plays the part of the bounded event queue: a Python callback would run in
JACK's real-time thread and wait there for the interpreter lock, and on a loaded machine JACK
then skips the client's cycles and messages are lost (measured: 8 of 288 clock pulses, and
100 ms of added latency). Messages keep rtmidi's timestamps (see `_Stamper`).

Values on the bus: CC 0..1 (value / 127, or 14-bit (MSB * 128 + LSB) / 16383 where a binding
declares ``bits = 14``); note velocity / 127 on note on and 0 on note off; pitch bend 0..1 with
0.5 exactly at the centre; program number / 127. A CC that a binding declares as a relative
encoder carries the signed number of steps received this frame instead (0 on frames without
any), which the mapping's encoder step accumulates.

Ports: `MidiInput` opens every input port whose name matches one of its patterns (fnmatch,
case-insensitive), each with an optional alias (so ``midi.apc40.cc.1.48`` exists next to
``midi.cc.1.48``), plus a virtual input port named after the engine ("Echoel Live") that other
programs can connect to. A background thread rescans the port list every `rescan_s` seconds, so
devices plugged in or out during a show are picked up without a restart.

Bad input never kills the input: SysEx (floods included) is counted and dropped unparsed;
truncated messages, stray data bytes and out-of-range values are counted; each cause is
logged once (`MidiStats`). Injected bytes (`MidiInput.inject`, for tests and bridges) go
through a bounded deque that drops the oldest and counts it.

Threads: the scanner thread opens ports and swaps the port dictionary; `drain` and everything
it calls run on the render thread; `inject` any thread. `MidiParser` and `MidiDecoder` are
plain objects used by one thread at a time.
"""

from __future__ import annotations

import collections
import fnmatch
import logging
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from live.clock import Clock
from live.health.registry import PartRegistry
from live.modulation.signals import SignalBus
from live.modulation.transforms import ENCODER_MODES, decode_relative

log = logging.getLogger(__name__)

#: The name of the virtual input port (and of the engine's MIDI client).
ENGINE_PORT_NAME = "Echoel Live"
#: Messages each input port keeps for the render thread (rtmidi's queue), and injected events.
QUEUE_SIZE = 8192
#: Seconds between port rescans (hot-plug).
RESCAN_S = 2.0
#: Press/release edges of one note or CC held back for the following frames (quick taps).
MAX_PENDING_EDGES = 16
#: Longest SysEx the parser skips before it declares the message broken.
MAX_SYSEX_BYTES = 65536

# Status bytes
NOTE_OFF, NOTE_ON, POLY_PRESSURE, CONTROL_CHANGE = 0x80, 0x90, 0xA0, 0xB0
PROGRAM_CHANGE, CHANNEL_PRESSURE, PITCH_BEND = 0xC0, 0xD0, 0xE0
SYSEX, MTC_QUARTER, SONG_POSITION, SONG_SELECT, TUNE_REQUEST, EOX = 0xF0, 0xF1, 0xF2, 0xF3, 0xF6, 0xF7
CLOCK, START, CONTINUE, STOP, ACTIVE_SENSING, RESET = 0xF8, 0xFA, 0xFB, 0xFC, 0xFE, 0xFF
#: Data bytes that follow each system common status.
_COMMON_LENGTH = {MTC_QUARTER: 1, SONG_POSITION: 2, SONG_SELECT: 1, TUNE_REQUEST: 0}
#: Realtime messages that matter to the engine (the MIDI clock); others are ignored.
CLOCK_MESSAGES = (CLOCK, START, CONTINUE, STOP)

_ALIAS_RE = re.compile(r"^[A-Za-z0-9_-]+$")


class MidiError(RuntimeError):
    """MIDI cannot be used as configured (no MIDI system, a bad alias); the message says why."""


@dataclass(frozen=True)
class MidiMessage:
    """One complete message. `channel` is 1-16 for channel messages, 0 for system messages.

    `data1`/`data2` are the data bytes (0 when absent); for song position `data1` holds the
    14-bit position in MIDI beats (sixteenth notes).
    """

    status: int
    channel: int
    data1: int = 0
    data2: int = 0

    @property
    def kind(self) -> int:
        """The status without the channel (0x90 for a note on any channel)."""
        return self.status & 0xF0 if self.status < 0xF0 else self.status


@dataclass
class MidiStats:
    """Counters of everything unusual, and the causes already logged (each cause once).

    Written by the render thread (and `inject`'s callers for `dropped`/`sysex`): plain integer
    increments, read anywhere.
    """

    messages: int = 0
    dropped: int = 0          # injection queue overflow: the oldest events were discarded
    sysex: int = 0            # SysEx messages counted and dropped unparsed
    truncated: int = 0        # a status byte arrived before the data bytes were complete
    stray_data: int = 0       # data bytes without a status (no running status to use)
    stray_eox: int = 0        # 0xF7 outside a SysEx
    out_of_range: int = 0     # a CC 14-bit LSB without its MSB, undecodable encoder values
    logged: set[str] = field(default_factory=set)

    def note(self, cause: str, detail: str = "") -> None:
        """Count `cause` (an attribute name) and log it the first time it happens."""
        setattr(self, cause, getattr(self, cause) + 1)
        if cause not in self.logged:
            self.logged.add(cause)
            log.warning("MIDI input: %s%s (counted; logged once)", cause.replace("_", " "),
                        f": {detail}" if detail else "")

    def as_dict(self) -> dict[str, int]:
        """The counters (for the HUD, /metrics and tests)."""
        return {k: v for k, v in self.__dict__.items() if k != "logged"}


class MidiParser:
    """Turns a MIDI byte stream into `MidiMessage`s, as a receiver on a cable would.

    Handles running status, realtime bytes (0xF8-0xFF) anywhere, including inside other
    messages, SysEx (skipped, counted once per message, bounded), truncated messages and stray
    data bytes (counted in `stats`). Keeps its state between `feed` calls, because a stream may
    split anywhere. One parser per port; one thread at a time (the render thread).
    """

    def __init__(self, stats: MidiStats | None = None) -> None:
        self.stats = stats if stats is not None else MidiStats()
        self._running: int | None = None   # running status (channel voice messages only)
        self._status: int | None = None    # status of the message being assembled
        self._data: list[int] = []
        self._needed = 0
        self._in_sysex = False
        self._sysex_len = 0

    def feed(self, data: Iterable[int]) -> list[MidiMessage]:
        """Parse more bytes; return the messages they completed."""
        out: list[MidiMessage] = []
        for byte in data:
            byte = int(byte) & 0xFF
            if byte >= 0xF8:  # realtime: never interrupts anything, no effect on running status
                if byte in CLOCK_MESSAGES:
                    out.append(MidiMessage(byte, 0))
                continue
            if self._in_sysex:
                if byte == EOX:
                    self._in_sysex = False
                    continue
                if byte < 0x80:
                    self._sysex_len += 1
                    if self._sysex_len == MAX_SYSEX_BYTES:
                        self.stats.note("truncated", f"SysEx longer than {MAX_SYSEX_BYTES} bytes")
                    continue
                self._in_sysex = False  # a status byte ends a SysEx missing its 0xF7
                self.stats.note("truncated", "SysEx without its closing 0xF7")
            if byte >= 0x80:
                if self._status is not None and len(self._data) < self._needed:
                    self.stats.note("truncated", f"status 0x{self._status:02X} with "
                                    f"{len(self._data)} of {self._needed} data bytes")
                self._status, self._data = None, []
                if byte == SYSEX:
                    self._in_sysex, self._sysex_len = True, 0
                    self._running = None
                    self.stats.sysex += 1
                elif byte == EOX:
                    self.stats.note("stray_eox")
                elif byte >= 0xF0:
                    self._running = None  # system common cancels running status
                    needed = _COMMON_LENGTH.get(byte)
                    if needed is None:  # 0xF4, 0xF5: undefined
                        continue
                    self._begin(byte, needed, out)
                else:
                    self._running = byte
                    self._begin(byte, 1 if byte & 0xF0 in (PROGRAM_CHANGE, CHANNEL_PRESSURE) else 2, out)
                continue
            # A data byte.
            if self._status is None:
                if self._running is None:
                    self.stats.note("stray_data", f"0x{byte:02X} without a status byte")
                    continue
                status = self._running
                self._status, self._data = status, []
                self._needed = 1 if status & 0xF0 in (PROGRAM_CHANGE, CHANNEL_PRESSURE) else 2
            self._data.append(byte)
            if len(self._data) == self._needed:
                out.append(self._finish())
        return out

    def _begin(self, status: int, needed: int, out: list[MidiMessage]) -> None:
        self._status, self._data, self._needed = status, [], needed
        if needed == 0:
            out.append(self._finish())

    def _finish(self) -> MidiMessage:
        status, data = self._status, self._data
        self._status, self._data = None, []
        assert status is not None
        self.stats.messages += 1
        if status >= 0xF0:
            if status == SONG_POSITION:
                return MidiMessage(status, 0, data[0] | (data[1] << 7))
            return MidiMessage(status, 0, data[0] if data else 0)
        d1 = data[0]
        d2 = data[1] if len(data) > 1 else 0
        return MidiMessage(status, (status & 0x0F) + 1, d1, d2)


def bend_value(lsb: int, msb: int) -> float:
    """Pitch bend 0..16383 as 0..1 with the centre (8192) at exactly 0.5. Any thread."""
    v = (msb << 7) | lsb
    return v / 16384.0 if v <= 8192 else 0.5 + (v - 8192) / 16382.0


ClockListener = Callable[[MidiMessage, float, str | None], None]
LearnListener = Callable[[str, MidiMessage, str | None], None]


class MidiDecoder:
    """Publishes parsed messages as signals. Render thread.

    Args:
        bus: where signals go.
        stats: shared counters.
    """

    def __init__(self, bus: SignalBus | None = None, stats: MidiStats | None = None) -> None:
        self.bus = bus
        self.stats = stats if stats is not None else MidiStats()
        self._declared: dict[str, str] = {}
        self._msb: dict[tuple[str | None, int, int], int] = {}  # (alias, ch, cc) -> last MSB
        self._lsb: dict[tuple[str | None, int, int], int] = {}
        self._steps: dict[str, float] = {}    # relative CC names -> steps this frame
        self._stepped: set[str] = set()       # relative CC names to reset next frame
        # Press/release edges that arrived in a frame which already showed a press on the same
        # signal, shown one per frame from the next frame on (see `_set_button_value`).
        self._pending: dict[str, list[float]] = {}
        self._edged: set[str] = set()         # note/CC signals that showed an edge this frame
        self.clock_listeners: list[ClockListener] = []
        self.learn_listeners: list[LearnListener] = []

    def set_declarations(self, declared: Mapping[str, str]) -> None:
        """Which CC sources are 14-bit (``"cc14"``) or relative encoders (an encoder mode).

        Names are source names as in mappings (``midi.cc.1.7`` or ``midi.<alias>.cc.1.7``).
        """
        self._declared = dict(declared)

    def begin_frame(self, bus: SignalBus) -> None:
        """Start a frame: relative encoder signals from the last frame go back to 0 steps, and
        the next held-back press or release edge of each note/CC is shown."""
        self.bus = bus
        for name in self._stepped:
            bus.set(name, 0.0)
        self._stepped.clear()
        self._steps.clear()
        self._edged.clear()
        if self._pending:
            for name, values in list(self._pending.items()):
                bus.set(name, values.pop(0))
                self._edged.add(name)
                if not values:
                    del self._pending[name]

    def _set_button_value(self, name: str, value: float) -> None:
        """Set a note or 7-bit CC signal without losing a tap that starts and ends in one frame.

        Mappings read the bus once per frame, so a press and its release delivered together
        (a quick tap; JACK hands over a whole period's messages at once) would show only the
        release, and toggles or triggers would never see the press. So each signal shows at
        most one edge (0 to above 0, or back) per frame: a second edge in the same frame, and
        whatever follows it, is held back and shown one edge per frame from the next frame on.
        Only edges are queued (levels while pressed coalesce), so a flood costs a few entries.
        """
        pending = self._pending.get(name)
        if pending is not None:
            if (value > 0.0) == (pending[-1] > 0.0):
                pending[-1] = value  # a new level, not a new edge
            elif len(pending) < MAX_PENDING_EDGES:
                pending.append(value)
            else:
                self.stats.note("out_of_range", f"{name}: more than {MAX_PENDING_EDGES} taps "
                                                "inside a few frames; the oldest are merged")
                pending[-1] = value
            return
        bus = self.bus
        if (value > 0.0) != (bus.get(name) > 0.0):  # an edge
            if name in self._edged:
                self._pending[name] = [value]
                return
            self._edged.add(name)
        bus.set(name, value)

    def end_frame(self) -> None:
        """Publish the steps accumulated this frame by relative encoders."""
        bus = self.bus
        for name, steps in self._steps.items():
            bus.set(name, steps)
            self._stepped.add(name)

    def handle(self, msg: MidiMessage, t: float, alias: str | None = None) -> None:
        """Publish one message received at time `t` from the port called `alias` (or None)."""
        kind = msg.kind
        if kind >= 0xF0:
            if kind in CLOCK_MESSAGES or kind == SONG_POSITION:
                for listener in self.clock_listeners:
                    listener(msg, t, alias)
            return
        ch = msg.channel
        if kind == CONTROL_CHANGE:
            self._control_change(ch, msg.data1, msg.data2, alias, msg)
        elif kind == NOTE_ON or kind == NOTE_OFF:
            value = msg.data2 / 127.0 if kind == NOTE_ON else 0.0
            self._publish(f"note.{ch}.{msg.data1}", value, alias, msg, button=True)
        elif kind == PITCH_BEND:
            self._publish(f"bend.{ch}", bend_value(msg.data1, msg.data2), alias, msg)
        elif kind == PROGRAM_CHANGE:
            self._publish(f"program.{ch}", msg.data1 / 127.0, alias, msg)

    def _publish(self, suffix: str, value: float, alias: str | None, msg: MidiMessage,
                 button: bool = False) -> None:
        set_value = self._set_button_value if button else self.bus.set
        name = f"midi.{suffix}"
        set_value(name, value)
        if alias:
            set_value(f"midi.{alias}.{suffix}", value)
        for listener in self.learn_listeners:
            listener(name, msg, alias)

    def _control_change(self, ch: int, cc: int, value: int, alias: str | None,
                        msg: MidiMessage) -> None:
        bus = self.bus
        suffix = f"cc.{ch}.{cc}"
        names = [f"midi.{suffix}"] + ([f"midi.{alias}.{suffix}"] if alias else [])
        declared = self._declared
        for name in names:
            how = declared.get(name)
            if how in ENCODER_MODES:
                steps = decode_relative(value, how)
                self._steps[name] = self._steps.get(name, 0.0) + steps
            elif how == "cc14":
                key = (alias, ch, cc)
                self._msb[key] = value
                self._lsb[key] = 0  # MIDI 1.0: a new MSB resets the LSB
                bus.set(name, (value << 7) / 16383.0)
            else:
                self._set_button_value(name, value / 127.0)
        if 32 <= cc < 64:  # the LSB half of a declared 14-bit controller?
            msb_cc = cc - 32
            msb_suffix = f"cc.{ch}.{msb_cc}"
            msb_names = [f"midi.{msb_suffix}"] + ([f"midi.{alias}.{msb_suffix}"] if alias else [])
            key = (alias, ch, msb_cc)
            for name in msb_names:
                if declared.get(name) == "cc14":
                    msb = self._msb.get(key)
                    if msb is None:
                        self.stats.note("out_of_range", f"14-bit LSB on CC {cc} before any MSB "
                                        f"on CC {msb_cc} (channel {ch})")
                        continue
                    self._lsb[key] = value
                    bus.set(name, ((msb << 7) | value) / 16383.0)
        for listener in self.learn_listeners:
            listener(names[0], msg, alias)


# --------------------------------------------------------------------------------------------
# Ports


def _rtmidi():
    try:
        import rtmidi
    except ImportError as exc:  # pragma: no cover - a dependency of the package
        raise MidiError("python-rtmidi is not installed (pip install python-rtmidi)") from exc
    return rtmidi


def api_choices() -> dict[str, int]:
    """MIDI systems this python-rtmidi was built with, by name ("alsa", "jack", ...)."""
    rtmidi = _rtmidi()
    return {rtmidi.get_api_name(a): a for a in rtmidi.get_compiled_api()}


@dataclass(frozen=True)
class PortRule:
    """Open input ports whose name matches `pattern` (fnmatch, case-insensitive) as `alias`."""

    pattern: str
    alias: str | None = None

    def matches(self, name: str) -> bool:
        return fnmatch.fnmatchcase(name.lower(), self.pattern.lower())


def check_alias(alias: str) -> str:
    """Validate a port alias (letters, digits, '_' and '-'; not cc/note/bend/program)."""
    if not _ALIAS_RE.fullmatch(alias) or alias in ("cc", "note", "bend", "program"):
        raise MidiError(f"port alias '{alias}' must be letters, digits, '_' or '-', and not "
                        "cc, note, bend or program (it becomes part of signal names)")
    return alias


class _Stamper:
    """Turns rtmidi's per-port delta times into times on the engine clock (render thread).

    rtmidi stamps every message in its own input thread (JACK's process thread) and reports the
    time since the previous message. Summed, these deltas give each message's time up to a
    constant; that constant is the smallest (poll time - summed deltas) seen so far, because a
    message can never be polled before it arrived. So the stamps keep rtmidi's precision and do
    not depend on when the render thread polls; they never lie in the future.
    """

    #: How fast the offset may creep upwards (s per s): to follow a slow drift between the MIDI
    #: system's clock and the engine clock, and to recover from deltas shorter than the time
    #: that passed (a loaded JACK server whose clock stalled), which would otherwise leave every
    #: later stamp early by the missing time (a delta too long is absorbed at once by the min). 1 ms per s: a 12 ms error is gone in 12 s, while messages that
    #: arrive just before a poll keep pulling the offset back to the true one.
    CREEP = 1e-3

    def __init__(self) -> None:
        self.cum = 0.0
        self.offset: float | None = None

    def stamp(self, delta: float, now: float) -> float:
        self.cum += max(0.0, float(delta))
        candidate = now - self.cum
        if self.offset is None or candidate < self.offset:
            self.offset = candidate
        else:
            self.offset = min(candidate, self.offset + self.CREEP * max(0.0, float(delta)))
        return self.offset + self.cum


class _Port:
    """One open rtmidi input (a device port or the virtual port) and its bookkeeping."""

    def __init__(self, key: int, name: str, alias: str | None, midi_in) -> None:
        self.key, self.name, self.alias, self.midi_in = key, name, alias, midi_in
        self.parser: MidiParser | None = None
        self.stamper = _Stamper()


class MidiInput:
    """The engine's MIDI input: ports, the virtual port, hot-plug, polling into the bus.

    rtmidi queues each port's messages in its own input thread (JACK's process thread, or the
    ALSA sequencer thread) without touching Python; `drain` polls those queues once per frame on
    the render thread. No Python callback runs in the MIDI system's real-time thread, so a busy
    interpreter can never make the MIDI system miss its deadline and drop messages.

    Args:
        clock: the engine clock (read on the render thread when polling).
        rules: which ports to open and their aliases, first match wins; default: every port.
        virtual_name: name of the virtual input port ("" for none).
        api: "alsa", "jack" or "auto" (the first that works, ALSA first).
        rescan_s: seconds between rescans of the port list.
        parts: where the "midi" part state is reported.
        queue_size: messages each port keeps for the render thread (rtmidi's queue); beyond it
            rtmidi drops the newest, so it is sized for a few frames of a heavy stream.
    """

    def __init__(self, clock: Clock, rules: Iterable[PortRule] = (PortRule("*"),), *,
                 virtual_name: str = ENGINE_PORT_NAME, api: str = "auto",
                 rescan_s: float = RESCAN_S, parts: PartRegistry | None = None,
                 queue_size: int = QUEUE_SIZE) -> None:
        self.clock = clock
        self.rules = tuple(rules)
        for rule in self.rules:
            if rule.alias is not None:
                check_alias(rule.alias)
        self.virtual_name = virtual_name
        self.api = api
        self.rescan_s = float(rescan_s)
        self.parts = parts
        self.queue_size = int(queue_size)
        self.stats = MidiStats()
        self.decoder = MidiDecoder(stats=self.stats)
        # Injected bytes (tests, bridges): a bounded deque, oldest dropped and counted.
        self._queue: collections.deque = collections.deque(maxlen=self.queue_size)
        self._injected: dict[int, _Port] = {}
        # Device ports by name and the virtual port; the scanner thread replaces these
        # dictionaries whole, so the render thread always iterates over a consistent one.
        self._ports: dict[str, _Port] = {}
        self._virtual: _Port | None = None
        self._retired: list[tuple[int, _Port]] = []  # (drain count when retired, port)
        self._drains = 0
        self._missing: set[str] = set()  # ports that vanished and have not returned
        self._next_key = 1
        self._api_id: int | None = None
        self._lister = None  # the scanner's port-listing client, kept open (see _list_ports)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()  # scanner vs stop(); never taken by drain

    # -- injection (any thread) -----------------------------------------------------------------
    def inject(self, data: Iterable[int], alias: str | None = None, t: float | None = None) -> None:
        """Queue raw bytes as if a port called `alias` had sent them at time `t` (default: now).

        Any thread; goes through the same parser and decoder as port input. A SysEx is counted
        and dropped here, as for ports.
        """
        data = [*data]
        if data and data[0] == SYSEX:
            self.stats.sysex += 1
            return
        queue = self._queue
        if len(queue) >= queue.maxlen:
            self.stats.dropped += 1
        queue.append((alias, self.clock.now() if t is None else t, data))

    # -- render thread --------------------------------------------------------------------------
    def drain(self, bus: SignalBus, limit: int | None = None) -> int:
        """Poll every port and the injection queue; parse and publish. Returns the number of
        messages handled (at most `limit` per port). Render thread."""
        decoder = self.decoder
        decoder.begin_frame(bus)
        n = 0
        now = self.clock.now()
        ports = list(self._ports.values())
        if self._virtual is not None:
            ports.append(self._virtual)
        for port in ports:
            midi_in = port.midi_in
            handled = 0
            while limit is None or handled < limit:
                try:
                    event = midi_in.get_message()
                except Exception as exc:  # noqa: BLE001 - a port closing under us
                    self.stats.note("out_of_range", f"reading {port.name}: {exc}")
                    break
                if event is None:
                    break
                handled += 1
                message, delta = event
                t = port.stamper.stamp(delta, now)
                if message and message[0] == SYSEX:
                    self.stats.sysex += 1  # counted, never parsed: floods cost nothing more
                    continue
                self._handle(port, message, t)
            n += handled
        queue = self._queue
        while queue and (limit is None or n < limit):
            try:
                alias, t, data = queue.popleft()
            except IndexError:
                break
            n += 1
            port = self._injected.get(hash(alias))
            if port is None:
                port = self._injected[hash(alias)] = _Port(-1, f"injected:{alias}", alias, None)
            self._handle(port, data, t)
        decoder.end_frame()
        self._drains += 1
        return n

    def _handle(self, port: _Port, data, t: float) -> None:
        if port.parser is None:
            port.parser = MidiParser(self.stats)
        try:
            for msg in port.parser.feed(data):
                self.decoder.handle(msg, t, port.alias)
        except Exception as exc:  # noqa: BLE001 - a bad message never stops the input
            self.stats.note("out_of_range", f"{type(exc).__name__}: {exc}")

    @property
    def pending(self) -> int:
        """Injected events waiting for the next drain."""
        return len(self._queue)

    # -- ports ------------------------------------------------------------------------------------
    def start(self) -> None:
        """Open the virtual port and matching ports, then rescan in the background.

        Never raises for a missing MIDI system: the "midi" part reports it and the scanner
        keeps trying (a JACK server may start later).
        """
        self._scan_once()
        self._thread = threading.Thread(target=self._scan_loop, name="midi-scan", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop rescanning and close every port. Main/render thread (not during a drain)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
        with self._lock:
            ports, self._ports = self._ports, {}
            virtual, self._virtual = self._virtual, None
            for port in [*ports.values(), *(p for _, p in self._retired)] + ([virtual] if virtual else []):
                _safe_close(port.midi_in)
            self._retired.clear()
            lister, self._lister = self._lister, None
            if lister is not None:
                _safe_delete(lister)

    @property
    def port_names(self) -> list[str]:
        """Names of the device ports open now (not the virtual port)."""
        return sorted(self._ports)

    def _scan_loop(self) -> None:
        while not self._stop.wait(self.rescan_s):
            self._scan_once()

    def _choose_api(self) -> int:
        if self._api_id is not None:
            return self._api_id
        rtmidi = _rtmidi()
        apis = api_choices()
        order = [self.api] if self.api != "auto" else ["alsa", "jack"]
        problems = []
        for name in order:
            if name not in apis:
                problems.append(f"{name}: not built into python-rtmidi")
                continue
            try:
                probe = rtmidi.MidiIn(apis[name], name=ENGINE_PORT_NAME)
                probe.get_ports()
                probe.delete()
            except Exception as exc:  # noqa: BLE001 - rtmidi raises several kinds
                problems.append(f"{name}: {exc}")
                continue
            self._api_id = apis[name]
            return self._api_id
        raise MidiError("no MIDI system available (" + "; ".join(problems) + ")")

    def _scan_once(self) -> None:
        """Scanner thread (and start): open new matching ports, close vanished ones."""
        with self._lock:
            if self._stop.is_set():
                return
            try:
                self._scan_locked()
            except MidiError as exc:
                self._report("failed", str(exc))
            except Exception as exc:  # noqa: BLE001 - the scanner must survive anything
                self._report("degraded", f"port scan failed: {type(exc).__name__}: {exc}")

    def _new_midi_in(self, api: int):
        rtmidi = _rtmidi()
        midi_in = rtmidi.MidiIn(api, name=ENGINE_PORT_NAME, queue_size_limit=self.queue_size)
        # SysEx is let through so it can be counted (and dropped unparsed in drain).
        midi_in.ignore_types(sysex=False, timing=False, active_sense=True)
        return midi_in

    def _scan_locked(self) -> None:
        api = self._choose_api()
        if self._virtual is None and self.virtual_name:
            midi_in = self._new_midi_in(api)
            midi_in.open_virtual_port(self.virtual_name)
            self._virtual = _Port(self._take_key(), f"virtual:{self.virtual_name}", None, midi_in)
        names = self._list_ports(api)
        ports = dict(self._ports)
        present = set()
        for index, name in enumerate(names):
            if self.virtual_name and self.virtual_name in name:
                continue  # our own ports (the virtual input, MIDI out) are not inputs to open
            rule = next((r for r in self.rules if r.matches(name)), None)
            if rule is None:
                continue
            present.add(name)
            if name not in ports:
                port = self._open_port(api, index, name, rule.alias)
                if port is not None:
                    ports[name] = port
        gone = [n for n in ports if n not in present]
        for name in gone:
            log.warning("MIDI port gone (unplugged?): %s; its signals keep their last values", name)
            self._retired.append((self._drains, ports.pop(name)))
            self._missing.add(name)
        self._ports = ports  # swapped whole: drain sees the old or the new dictionary
        self._close_retired()
        self._missing -= present
        opened = ", ".join(f"{n} ({p.alias})" if p.alias else n for n, p in sorted(ports.items()))
        text = (f"{len(ports)} port(s){': ' + opened if opened else ''}"
                f"{'; virtual ' + repr(self.virtual_name) if self._virtual else ''}")
        if self._missing:
            self._report("degraded", f"gone: {', '.join(sorted(self._missing))}; {text}")
        else:
            self._report("ok", text)

    def _list_ports(self, api: int) -> list[str]:
        """Scanner thread: the system's MIDI input port names, through one lister client kept
        open between scans.

        Why kept: opening a MIDI client (a JACK client, above all) takes tens of milliseconds
        inside rtmidi with the GIL held, so a fresh lister per scan stalled the render thread
        by a frame or two at every rescan. A lister that fails (its server died) is dropped
        and a new one is made at the next scan.
        """
        if self._lister is None:
            self._lister = _rtmidi().MidiIn(api, name=ENGINE_PORT_NAME)
        try:
            return self._lister.get_ports()
        except Exception:
            lister, self._lister = self._lister, None
            _safe_delete(lister)
            raise

    def _close_retired(self) -> None:
        """Close ports taken out of the dictionary once drain can no longer be using them: two
        drains later, or at the next scan when no drain is running at all."""
        keep = []
        for when, port in self._retired:
            if self._drains >= when + 2 or self._drains == when:
                _safe_close(port.midi_in)
            else:
                keep.append((when, port))
        self._retired = keep

    def _take_key(self) -> int:
        key = self._next_key
        self._next_key += 1
        return key

    def _open_port(self, api: int, index: int, name: str, alias: str | None) -> _Port | None:
        try:
            midi_in = self._new_midi_in(api)
        except Exception as exc:  # noqa: BLE001
            log.warning("MIDI port %s cannot be opened: %s", name, exc)
            return None
        try:
            midi_in.open_port(index, f"in {alias or index}")
        except Exception as exc:  # noqa: BLE001 - a port that cannot open is skipped, reported
            _safe_close(midi_in)
            log.warning("MIDI port %s cannot be opened: %s", name, exc)
            return None
        log.info("MIDI port opened: %s%s", name, f" as '{alias}'" if alias else "")
        return _Port(self._take_key(), name, alias, midi_in)

    def _report(self, state: str, reason: str) -> None:
        if self.parts is not None:
            self.parts.report("midi", state, reason)


def _safe_delete(client) -> None:
    """Free an rtmidi object that has no open port (a port lister)."""
    try:
        client.delete()
    except Exception as exc:  # noqa: BLE001 - its MIDI system may already be gone
        log.debug("freeing a MIDI client: %s", exc)


def _safe_close(port) -> None:
    """Close an rtmidi port object, whatever state its device is in."""
    try:
        port.close_port()
        port.delete()
    except Exception as exc:  # noqa: BLE001 - the device may already be gone
        log.debug("closing a MIDI port: %s", exc)
