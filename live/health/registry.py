"""Part-state registry: every component reports how it is doing.

States are ``ok``, ``degraded``, ``stale`` and ``failed``, each with a reason and the time it was
reported. The watchdog, the HUD and the HTTP health endpoint (later issues) read from here.

Thread safety: ``report`` may be called from any thread (audio, MIDI, OSC, workers); it takes a
lock only for a dictionary update. Readers get immutable snapshots.
"""

from __future__ import annotations

import enum
import threading
import time
from dataclasses import dataclass
from typing import Callable


class State(str, enum.Enum):
    OK = "ok"
    DEGRADED = "degraded"
    STALE = "stale"
    FAILED = "failed"


@dataclass(frozen=True)
class PartState:
    """One part's last report."""

    part: str
    state: State
    reason: str
    since: float  # time of the report, in the registry's clock (monotonic seconds by default)


class PartRegistry:
    """Thread-safe map of part name to its last reported state."""

    def __init__(self, time_source: Callable[[], float] = time.monotonic) -> None:
        self._time = time_source
        self._lock = threading.Lock()
        self._parts: dict[str, PartState] = {}
        self._listeners: list[Callable[[PartState], None]] = []

    def report(self, part: str, state: State | str, reason: str = "") -> PartState:
        """Record the state of `part`. Any thread. Returns the stored record.

        A report that repeats the current state and reason keeps the original `since`, so the
        time says how long a part has been in that state.
        """
        st = State(state)
        now = self._time()
        with self._lock:
            prev = self._parts.get(part)
            if prev is not None and prev.state == st and prev.reason == reason:
                return prev
            rec = PartState(part, st, reason, now)
            self._parts[part] = rec
            listeners = list(self._listeners)
        for listener in listeners:
            listener(rec)
        return rec

    def ok(self, part: str, reason: str = "") -> PartState:
        return self.report(part, State.OK, reason)

    def degraded(self, part: str, reason: str) -> PartState:
        return self.report(part, State.DEGRADED, reason)

    def stale(self, part: str, reason: str) -> PartState:
        return self.report(part, State.STALE, reason)

    def failed(self, part: str, reason: str) -> PartState:
        return self.report(part, State.FAILED, reason)

    def get(self, part: str) -> PartState | None:
        with self._lock:
            return self._parts.get(part)

    def snapshot(self) -> dict[str, PartState]:
        """A copy of every part's state, safe to read on any thread."""
        with self._lock:
            return dict(self._parts)

    def remove(self, part: str) -> None:
        with self._lock:
            self._parts.pop(part, None)

    def subscribe(self, listener: Callable[[PartState], None]) -> None:
        """Call `listener(record)` on every change (on the reporting thread: keep it short)."""
        with self._lock:
            self._listeners.append(listener)

    def worst(self) -> State:
        """The worst state of any part (ok when nothing reported)."""
        order = [State.OK, State.DEGRADED, State.STALE, State.FAILED]
        with self._lock:
            states = [p.state for p in self._parts.values()]
        return max(states, key=order.index, default=State.OK)
