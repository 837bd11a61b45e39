"""Ableton Link through `aalink`: join a session, follow its tempo and bar phase, set its tempo.

`LinkSource` is a tempo source named "link" (see `live.control.tempo`). While the session has at
least one other peer it reports the session tempo and its beat count, with the quantum set to
the scene's beats per bar so "beat 0 of the bar" agrees with every peer (Link aligns phase per
quantum); alone, it reports nothing and mirrors the engine's tempo into its own timeline, so a
peer joining later finds the tempo the show is playing.

A peer proposing an absurd tempo (outside 20..400 bpm, the BeatClock's range) is ignored: the
source steps aside until the session tempo is sane again, and the cause is logged once.

Link announces itself by multicast on every network interface: tests run it inside a private
network namespace (tests/e2e/test_link_netns.py); nothing else here touches the network.

Threads: aalink runs its own threads; every method here is called on the render thread
(`reading`, `mirror`, `propose_tempo`, `set_quantum`) or the main thread (`start`, `stop`).
Reading Link's session state is lock-free in Link (its app-thread API), so it is safe per frame.
"""

from __future__ import annotations

import logging
import math
import time
import warnings
from collections.abc import Callable

from live.clock import MAX_BPM, MIN_BPM, BeatClock, Clock
from live.control.tempo import TempoReading
from live.health.registry import PartRegistry

log = logging.getLogger(__name__)

#: Seconds between creating the Link object and enabling it (see `LinkSource.start`).
ENABLE_DELAY_S = 0.6


class LinkUnavailableError(RuntimeError):
    """aalink is not installed or Link cannot start; the message says why."""


def _default_factory(bpm: float):
    try:
        import asyncio

        import aalink
    except ImportError as exc:
        raise LinkUnavailableError("Ableton Link needs the 'aalink' package (pip install aalink)") from exc
    # aalink wants an event loop for its awaitables and callbacks; this source polls instead,
    # so a loop that never runs is enough (its deprecated 'loop' argument warns).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return aalink.Link(float(bpm), asyncio.new_event_loop())


class LinkSource:
    """The engine's Link peer, a tempo source.

    Args:
        clock: the engine clock (the reading's time is read from it right after Link's beat).
        bpm: the tempo proposed when starting a new session.
        quantum: beats per bar for phase alignment (updated by `set_quantum`).
        parts: where the "link" part state is reported.
        factory: builds the aalink-like object (tests inject fakes); default aalink.Link.
        sleep: how `start` waits (tests inject a no-op).
    """

    name = "link"

    def __init__(self, clock: Clock, bpm: float = 120.0, quantum: int = 4, *,
                 parts: PartRegistry | None = None,
                 factory: Callable[[float], object] = _default_factory,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.clock = clock
        self.parts = parts
        self._factory = factory
        self._sleep = sleep
        self._bpm = float(bpm)
        self._quantum = int(quantum)
        self._link = None
        self._logged: set[str] = set()
        self._peers = 0
        self.epoch = 0

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> None:
        """Join (or start) a Link session; blocks for `ENABLE_DELAY_S` (main thread, once).

        Raises LinkUnavailableError when aalink is missing.
        """
        link = self._factory(self._bpm)
        link.quantum = self._quantum
        # Enabling Link right after creating it sometimes makes the newcomer's tempo win over
        # the running session (aalink issue #7, "Creating the link object *sometimes* changes
        # the tempo"; 0.5 s fixed it there, 0.2 s did not). Joining a show must not change the
        # band's tempo, so wait before enabling; start() runs once, off the render loop.
        self._sleep(ENABLE_DELAY_S)
        link.enabled = True
        self._link = link
        self._report("ok", "enabled, no peers yet")

    def stop(self) -> None:
        """Leave the session."""
        if self._link is not None:
            try:
                self._link.enabled = False
            finally:
                self._link = None
        self._report("ok", "disabled")

    @property
    def peers(self) -> int:
        """Other peers in the session (as of the last reading)."""
        return self._peers

    # -- render thread ------------------------------------------------------------------------------
    def set_quantum(self, beats_per_bar: int) -> None:
        """Align phase per bar of this many beats (the scene's beats per bar)."""
        self._quantum = int(beats_per_bar)
        if self._link is not None and self._link.quantum != self._quantum:
            self._link.quantum = self._quantum

    def reading(self, t: float) -> TempoReading | None:
        """The session's tempo and bar-aligned beat, or None when alone or the tempo is absurd."""
        link = self._link
        if link is None:
            return None
        peers = int(link.num_peers)
        if peers != self._peers:
            if peers and not self._peers:
                self.epoch += 1  # joined a session: its phase defines where "one" is
            log.info("Link: %d peer(s)", peers)
            self._peers = peers
            self._report("ok", f"{peers} peer(s)" if peers else "no peers")
        if not peers:
            return None
        bpm = float(link.tempo)
        beat = float(link.beat)
        now = self.clock.now()
        if not (math.isfinite(bpm) and MIN_BPM <= bpm <= MAX_BPM):
            if "tempo" not in self._logged:
                self._logged.add("tempo")
                log.warning("Link: a peer set the session tempo to %r bpm, outside %g..%g; "
                            "ignored until it is sane again (logged once)", bpm, MIN_BPM, MAX_BPM)
            self._report("degraded", f"session tempo {bpm:g} bpm ignored")
            return None
        return TempoReading(bpm=bpm, beat=beat, time=now, confidence=1.0, bars=True,
                            epoch=self.epoch)

    def propose_tempo(self, bpm: float) -> None:
        """Set the session tempo (every peer follows), e.g. after a tap. Clamped to 20..400."""
        if self._link is not None and math.isfinite(bpm):
            self._link.tempo = min(max(float(bpm), MIN_BPM), MAX_BPM)

    def mirror(self, beat: BeatClock) -> None:
        """Alone in the session: keep Link's tempo equal to the engine's, so joiners adopt it."""
        if self._link is not None and not self._peers and abs(self._link.tempo - beat.bpm) > 1e-3:
            self._link.tempo = beat.bpm

    def _report(self, state: str, reason: str) -> None:
        if self.parts is not None:
            self.parts.report("link", state, reason)
