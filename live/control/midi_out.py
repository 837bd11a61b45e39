"""MIDI out: LED feedback on controllers, and MIDI clock out from the BeatClock.

LED feedback (`LedFeedback`): each mapping file's ``[[feedback]]`` entries say which LED shows
what (`live.modulation.mapping_files.FEEDBACK_STATES`): master blackout / freeze / panic, a
layer's enabled switch, which set-list entry plays (scene buttons), the beat and the bar (beat
blink). Each frame the wanted value of every LED is computed from a `FeedbackState`; only LEDs
whose value changed are sent, so a steady show sends nothing. A controller plugged in (again)
gets every LED sent at once; LEDs are switched off on close.

MIDI clock out (`ClockOut`): 24 pulses per quarter note following the BeatClock (tempo and
phase; pulse k is sent at the time the BeatClock reaches beat k/24), Start (0xFA) on `start`,
Stop (0xFC) on `stop`. It runs on its own thread that sleeps until the next pulse; the render
thread hands it the BeatClock's anchor once per frame (`follow`), an immutable tuple, so no lock
is shared with the frame.

Ports: `MidiOutPorts` opens output ports whose names match patterns (a controller's ``ports``, or
the clock-out pattern), rescanning like the input does so unplugged devices come back.

Threads: `LedFeedback.update` render thread; `ClockOut` its own thread plus `follow` on the
render thread; `MidiOutPorts.send` any thread (rtmidi's send is thread-safe per port for short
messages; the port map is swapped atomically by the scanner thread).
"""

from __future__ import annotations

import fnmatch
import logging
import math
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from live.clock import BeatClock, Clock
from live.control.midi import (
    CLOCK,
    ENGINE_PORT_NAME,
    RESCAN_S,
    START,
    STOP,
    MidiError,
    _rtmidi,
    _safe_close,
    _safe_delete,
    api_choices,
)
from live.modulation.mapping_files import Feedback

log = logging.getLogger(__name__)

PPQN = 24


@dataclass(frozen=True)
class FeedbackState:
    """What the LEDs can show, sampled once per frame (render thread)."""

    blackout: bool = False
    freeze: bool = False
    panic: bool = False
    entry: int | None = None          # 1-based set-list position playing
    enabled_layers: frozenset[str] = frozenset()
    beat_phase: float = 0.0
    bar_beat: int = 1


def feedback_value(fb: Feedback, state: FeedbackState) -> int:
    """The value LED `fb` should show in `state`. Any thread."""
    s = fb.state
    if s == "master.blackout":
        on = state.blackout
    elif s == "master.freeze":
        on = state.freeze
    elif s == "master.panic":
        on = state.panic
    elif s == "layers.enabled":
        on = fb.layer in state.enabled_layers
    elif s == "scene.goto":
        on = state.entry == fb.entry
    elif s == "beat":
        on = state.beat_phase < 0.25
    elif s == "bar":
        on = state.bar_beat == 1 and state.beat_phase < 0.25
    else:  # pragma: no cover - states are validated when the file loads
        on = False
    return fb.on if on else fb.off


class MidiOutPorts:
    """Output ports matching `patterns`, opened and reopened by a rescanning thread.

    Args:
        patterns: fnmatch patterns (case-insensitive) of port names.
        api: "alsa", "jack" or "auto".
        on_open: called with the port name when a port (re)opens (scanner thread).
    """

    def __init__(self, patterns: Iterable[str], *, api: str = "auto", rescan_s: float = RESCAN_S,
                 on_open: Callable[[str], None] | None = None) -> None:
        self.patterns = tuple(p.lower() for p in patterns)
        self.api = api
        self.rescan_s = float(rescan_s)
        self.on_open = on_open
        self._ports: dict[str, object] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._api_id: int | None = None
        self._lister = None  # the scanner's port-listing client, kept open between scans
        self.errors = 0

    @property
    def names(self) -> list[str]:
        """Names of the open ports."""
        return sorted(self._ports)

    def start(self) -> None:
        """Open matching ports now and keep rescanning in the background."""
        self.scan()
        self._thread = threading.Thread(target=self._loop, name="midi-out-scan", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop rescanning and close the ports."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
        ports, self._ports = self._ports, {}
        for port in ports.values():
            _safe_close(port)
        lister, self._lister = self._lister, None
        if lister is not None:
            _safe_delete(lister)

    def _loop(self) -> None:
        while not self._stop.wait(self.rescan_s):
            self.scan()

    def scan(self) -> None:
        """Open new matching ports, drop vanished ones (scanner thread, or start)."""
        try:
            rtmidi = _rtmidi()
            if self._api_id is None:
                apis = api_choices()
                order = [self.api] if self.api != "auto" else ["alsa", "jack"]
                for name in order:
                    if name in apis:
                        try:
                            probe = rtmidi.MidiOut(apis[name], name=ENGINE_PORT_NAME)
                            probe.get_ports()
                            probe.delete()
                            self._api_id = apis[name]
                            break
                        except Exception as exc:  # noqa: BLE001 - try the next MIDI system
                            log.debug("MIDI out: %s unavailable: %s", name, exc)
                            continue
                if self._api_id is None:
                    raise MidiError("no MIDI system for output")
            # One lister client kept open between scans: opening a MIDI client holds the GIL
            # for tens of milliseconds (JACK above all), which stalled the render thread.
            if self._lister is None:
                self._lister = rtmidi.MidiOut(self._api_id, name=ENGINE_PORT_NAME)
            try:
                names = self._lister.get_ports()
            except Exception:
                lister, self._lister = self._lister, None
                _safe_delete(lister)
                raise
            ports = dict(self._ports)
            present, opened = set(), []
            for index, name in enumerate(names):
                if ENGINE_PORT_NAME in name or not any(
                        fnmatch.fnmatchcase(name.lower(), p) for p in self.patterns):
                    continue
                present.add(name)
                if name in ports:
                    continue
                port = rtmidi.MidiOut(self._api_id, name=ENGINE_PORT_NAME)
                try:
                    port.open_port(index, "out")
                except Exception as exc:  # noqa: BLE001 - skip a port that cannot open
                    _safe_close(port)
                    log.warning("MIDI out: cannot open %s: %s", name, exc)
                    continue
                ports[name] = port
                opened.append(name)
                log.info("MIDI out opened: %s", name)
            gone = [n for n in ports if n not in present]
            for name in gone:
                _safe_close(ports.pop(name))
            self._ports = ports  # swapped whole: senders never see a half-updated map
            for name in opened:
                if self.on_open is not None:
                    self.on_open(name)
        except Exception as exc:  # noqa: BLE001 - the scanner must survive anything
            self.errors += 1
            if self.errors == 1:
                log.warning("MIDI out: port scan failed: %s (logged once)", exc)

    def send(self, data: list[int], port: str | None = None) -> None:
        """Send one message to every open port (or to `port`). Any thread; never raises."""
        for name, out in list(self._ports.items()):
            if port is not None and name != port:
                continue
            try:
                out.send_message(data)
            except Exception:  # noqa: BLE001 - a device unplugged between scans
                self.errors += 1


class LedFeedback:
    """Keeps a controller's LEDs showing the engine's state. Render thread (`update`).

    Args:
        feedback: the LED entries of a mapping file.
        ports: where to send (the controller's output ports).
    """

    def __init__(self, feedback: Iterable[Feedback], ports: MidiOutPorts) -> None:
        self.feedback = tuple(feedback)
        self.ports = ports
        self._sent: dict[int, int] = {}   # feedback index -> value last sent
        self._resend = threading.Event()  # set by the scanner when a port (re)opens
        ports.on_open = lambda name: self._resend.set()

    def update(self, state: FeedbackState) -> int:
        """Send the LEDs whose value changed (all of them after a port opened). Returns count."""
        full = self._resend.is_set()
        if full:
            self._resend.clear()
        n = 0
        for i, fb in enumerate(self.feedback):
            value = feedback_value(fb, state)
            if full or self._sent.get(i) != value:
                self._sent[i] = value
                self.ports.send(fb.message(value))
                n += 1
        return n

    def all_off(self) -> None:
        """Switch every LED off (closing)."""
        for fb in self.feedback:
            self.ports.send(fb.message(fb.off))
        self._sent.clear()


class ClockOut:
    """Sends MIDI clock (24 ppqn), Start and Stop following the BeatClock.

    Args:
        send: sends one message (e.g. `MidiOutPorts.send`).
        clock: the engine clock (read on the clock thread; must be thread-safe).
        sleep: waits (injectable for tests).
    """

    def __init__(self, send: Callable[[list[int]], None], clock: Clock) -> None:
        self._send = send
        self.clock = clock
        self._anchor: tuple[float, float, float] | None = None  # (t0, beat0, bpm)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.pulses = 0

    def follow(self, beat: BeatClock) -> None:
        """Hand the BeatClock's current anchor to the clock thread (render thread, per frame)."""
        t = beat.time
        anchor = (t, beat.beat_at(t), beat.bpm)
        old = self._anchor
        self._anchor = anchor
        if old is None or old[2] != anchor[2]:
            self._wake.set()  # a tempo change: recompute the next pulse time now

    def start(self) -> None:
        """Send Start and begin pulsing from the next pulse of the BeatClock."""
        self._send([START])
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="midi-clock-out", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop pulsing and send Stop."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
        self._send([STOP])

    def _run(self) -> None:
        next_pulse: int | None = None
        while not self._stop.is_set():
            anchor = self._anchor
            if anchor is None:
                self._wake.wait(0.01)
                self._wake.clear()
                continue
            t0, beat0, bpm = anchor
            now = self.clock.now()
            pulse_now = (beat0 + (now - t0) * bpm / 60.0) * PPQN
            if next_pulse is None or not pulse_now - PPQN < next_pulse <= pulse_now + 2:
                # Start, or the BeatClock's phase moved by more than a beat (align, panic):
                # continue from the next whole pulse instead of bursting or pausing.
                next_pulse = math.floor(pulse_now) + 1
            due = t0 + (next_pulse / PPQN - beat0) * 60.0 / bpm
            if now < due:
                if self._wake.wait(min(due - now, 0.05)):
                    self._wake.clear()  # the tempo changed: recompute the due time
                continue
            self._send([CLOCK])
            self.pulses += 1
            next_pulse += 1
