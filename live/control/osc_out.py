"""OSC out: musical events, feature streams and parameter feedback to configured receivers.

What is sent (each to every receiver in ``osc.out_targets``):

- events (``osc.out_events``): ``/echoel/beat i <beat in bar, 1-based>`` at each beat,
  ``/echoel/bar i <bar number>`` at each downbeat, ``/echoel/onset f <strength 0..1>`` at each
  onset, ``/echoel/tempo f <bpm>`` when the tempo changes (and once a second, so a receiver that
  starts late learns it);
- features (``osc.out_features``, ``osc.out_rate`` times a second): ``/echoel/signals/<signal
  with dots as slashes> f <value>``, e.g. ``/echoel/signals/audio/bass``;
- parameter feedback (``osc.out_feedback``): a target's own address with its new value whenever it
  changes (``/echoel/layers/tunnel/speed f 0.7``), so a TouchOSC layout follows the show. Booleans
  go as ``f`` 0/1 because TouchOSC buttons and toggles read floats.

Sending happens on the render thread through one non-blocking UDP socket: a datagram that does not
fit in the socket buffer is dropped and counted, never waited for. Receiver names are resolved once,
when the output is created.

Threads: `OscOutput.frame` and `close` on the render thread; `stats` on any thread.
"""

from __future__ import annotations

import collections
import logging
import math
import socket
from dataclasses import dataclass, field
from typing import Any

from pythonosc.osc_message_builder import OscMessageBuilder

from live.control.osc import OscError

log = logging.getLogger(__name__)

#: Seconds between repeats of the tempo for receivers that join late.
TEMPO_REPEAT_S = 1.0


@dataclass(frozen=True)
class OscOutSettings:
    """Receivers and what they get. Immutable; any thread.

    Attributes:
        targets: "host:port" receivers.
        features: signal names streamed at `rate`.
        rate: feature (and feedback) messages per second, 1..240.
        events: send beat, bar, onset and tempo.
        feedback: send parameter values when they change.
    """

    targets: tuple[str, ...] = ()
    features: tuple[str, ...] = ()
    rate: float = 30.0
    events: bool = True
    feedback: bool = True

    def __post_init__(self) -> None:
        if not (isinstance(self.rate, (int, float)) and math.isfinite(self.rate) and 1 <= self.rate <= 240):
            raise OscError(f"osc.out_rate {self.rate!r}: expected a number from 1 to 240 per second")
        for t in self.targets:
            parse_host_port(t)

    @classmethod
    def from_config(cls, cfg: Any) -> OscOutSettings:
        """Settings from a `live.config.Config` (osc.out_* keys)."""
        return cls(targets=tuple(cfg.get("osc.out_targets", ())),
                   features=tuple(cfg.get("osc.out_features", ())),
                   rate=float(cfg.get("osc.out_rate", 30)), events=bool(cfg.get("osc.out_events", True)),
                   feedback=bool(cfg.get("osc.out_feedback", True)))


def parse_host_port(text: str) -> tuple[str, int]:
    """"192.168.1.20:9000" -> ("192.168.1.20", 9000); "[::1]:9000" for IPv6. Raises OscError."""
    host, sep, port = str(text).rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise OscError(f"OSC out target {text!r}: expected \"host:port\", e.g. \"127.0.0.1:9000\"")
    return host, int(port)


def signal_address(name: str) -> str:
    """``audio.bass`` -> ``/echoel/signals/audio/bass`` (OSC out's feature address)."""
    return "/echoel/signals/" + name.replace(".", "/")


def encode(address: str, *args: Any) -> bytes:
    """One OSC message as bytes (int -> i, float -> f, bool -> T/F, str -> s)."""
    builder = OscMessageBuilder(address=address)
    for a in args:
        builder.add_arg(a)
    return builder.build().dgram


@dataclass
class _Stats:
    sent: int = 0
    dropped: int = 0
    errors: collections.Counter = field(default_factory=collections.Counter)


class OscOutput:
    """Sends OSC to the configured receivers. Render thread.

    Args:
        settings: receivers and content.
    Raises:
        OscError: a receiver's host name cannot be resolved.
    """

    def __init__(self, settings: OscOutSettings) -> None:
        self.settings = settings
        self._stats = _Stats()
        self._receivers: list[tuple[socket.socket, tuple]] = []
        sockets: dict[int, socket.socket] = {}
        for text in settings.targets:
            host, port = parse_host_port(text)
            try:
                family, _, _, _, addr = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0]
            except socket.gaierror as exc:
                raise OscError(f"OSC out target {text!r}: cannot resolve {host!r}: {exc}") from None
            sock = sockets.get(family)
            if sock is None:
                sock = sockets[family] = socket.socket(family, socket.SOCK_DGRAM)
                sock.setblocking(False)
            self._receivers.append((sock, addr))
        self._sockets = list(sockets.values())
        self._last_bar: int | None = None
        self._last_bpm: float | None = None
        self._tempo_due = 0.0
        self._features_due = 0.0
        self._pending_feedback: dict[str, float] = {}

    @property
    def active(self) -> bool:
        """Whether there is anyone to send to."""
        return bool(self._receivers)

    def frame(self, engine: Any, now: float, changes: dict[str, float] | None = None) -> None:
        """Send this frame's events, and features and feedback when their period is due.

        Args:
            engine: the engine after its last tick (beat clock, audio frame, signals bus).
            now: the frame's clock time.
            changes: target values that changed since the last call ({target: value}).
        """
        if not self._receivers:
            return
        if changes and self.settings.feedback:
            self._pending_feedback.update(changes)
        if self.settings.events:
            self._events(engine, now)
        if now >= self._features_due:
            self._features_due = now + 1.0 / self.settings.rate
            for name in self.settings.features:
                value = float(engine.signals.get(name, 0.0))
                if math.isfinite(value):
                    self._send(encode(signal_address(name), value))
            if self._pending_feedback:
                from live.control.osc_namespace import target_address
                for target, value in self._pending_feedback.items():
                    self._send(encode(target_address(target), float(value)))
                self._pending_feedback.clear()

    def _events(self, engine: Any, now: float) -> None:
        beat = engine.beat
        if beat.beat_fired:
            self._send(encode("/echoel/beat", int(beat.bar_beat)))
            if beat.bar_beat == 1 and beat.bar != self._last_bar:
                self._last_bar = beat.bar
                self._send(encode("/echoel/bar", int(beat.bar)))
        onset = float(getattr(engine.audio, "onset", 0.0))
        if onset > 0.0 and math.isfinite(onset):
            self._send(encode("/echoel/onset", min(onset, 1.0)))
        bpm = float(beat.bpm)
        if self._last_bpm is None or abs(bpm - self._last_bpm) >= 0.01 or now >= self._tempo_due:
            self._last_bpm = bpm
            self._tempo_due = now + TEMPO_REPEAT_S
            self._send(encode("/echoel/tempo", bpm))

    def send(self, address: str, *args: Any) -> None:
        """Send one message to every receiver (render thread)."""
        self._send(encode(address, *args))

    def _send(self, data: bytes) -> None:
        for sock, addr in self._receivers:
            try:
                sock.sendto(data, addr)
                self._stats.sent += 1
            except BlockingIOError:
                self._stats.dropped += 1  # the socket buffer is full: never wait in a frame
            except OSError as exc:
                cause = f"{addr[0]}:{addr[1]}: {exc.strerror or exc}"
                if cause not in self._stats.errors:
                    log.warning("OSC out: cannot send to %s (logged once)", cause)
                self._stats.errors[cause] += 1

    def stats(self) -> dict[str, Any]:
        """Messages sent, dropped (buffer full) and send errors by cause. Any thread."""
        return {"sent": self._stats.sent, "dropped": self._stats.dropped,
                "errors": dict(self._stats.errors)}

    def close(self) -> None:
        """Close the sockets."""
        for sock in self._sockets:
            sock.close()
        self._sockets.clear()
        self._receivers.clear()

