"""OSC around a running engine: input, companion-app signals, output and OSCQuery, wired together.

`OscServices` is what a show starts: it opens the OSC port and the OSCQuery server, and once per
frame (`poll`, on the render thread, before the engine's tick) drains the OSC queue into targets
and the signals bus, publishes the bio signals, and passes changed target values to OSC out
(feedback) and to OSCQuery listeners.

Wiring into a show (`live/show.py`, `live/render/outputs/session.py`)::

    services = OscServices.from_config(engine, config, commands=show.post)
    services.start()
    try:
        show.run(..., poll=services.poll)     # or call services.poll() before each show.step()
    finally:
        services.close()

Threads: `start` and `close` on the main thread; `poll` on the render thread; `stats` anywhere.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from live.control.bio import BioHub
from live.control.osc import OscInput, OscSettings
from live.control.osc_namespace import ValueWatcher
from live.control.osc_out import OscOutput, OscOutSettings
from live.control.oscquery import OscQueryServer, OscQuerySettings


class OscServices:
    """OSC in, bio, OSC out and OSCQuery for one engine.

    Args:
        engine: the engine (render thread owner).
        osc: OSC input settings.
        out: OSC output settings (None: no output).
        query: OSCQuery settings (None: no OSCQuery server).
        bio: the companion-app hub (a default one if None).
        commands: `Show.post`-like callable for set-list commands; None without a show.
        wall: wall clock for bundle timetags (injected).
    """

    def __init__(self, engine: Any, osc: OscSettings | None = None, *,
                 out: OscOutSettings | None = None, query: OscQuerySettings | None = None,
                 bio: BioHub | None = None, commands: Callable[..., Any] | None = None,
                 wall: Callable[[], float] = time.time) -> None:
        self.engine = engine
        self.commands = commands
        self.input = OscInput(osc or OscSettings(), bio=bio, wall=wall)
        self.output = OscOutput(out) if out is not None and out.targets else None
        self._query_settings = query
        self.query: OscQueryServer | None = None
        self.watcher = ValueWatcher()
        self._watch_every = 1.0 / (out.rate if out is not None else 30.0)
        self._watch_due = 0.0

    @classmethod
    def from_config(cls, engine: Any, cfg: Any, *, commands: Callable[..., Any] | None = None,
                    wall: Callable[[], float] = time.time) -> OscServices:
        """Everything from a `live.config.Config` ([osc], [oscquery], [bio] keys)."""
        bio = BioHub(stale_after=float(cfg.get("bio.stale_after", 3.0)),
                     decay=float(cfg.get("bio.decay", 5.0)),
                     primary=str(cfg.get("bio.device", "")) or None)
        osc = OscSettings.from_config(cfg)
        return cls(engine, osc, out=OscOutSettings.from_config(cfg),
                   query=OscQuerySettings.from_config(cfg), bio=bio, commands=commands, wall=wall)

    @property
    def bio(self) -> BioHub:
        return self.input.bio

    def start(self) -> None:
        """Open the OSC port and the OSCQuery server (main thread). Raises OscError."""
        self.input.start()
        parts = getattr(self.engine, "parts", None)
        if parts is not None:
            parts.ok("osc", f"listening on {self.input.settings.host}:{self.input.port}/udp")
        if self._query_settings is not None:
            settings = self._query_settings
            if settings.osc_port != self.input.port:
                settings = OscQuerySettings(settings.host, settings.port, settings.name,
                                            self.input.port, settings.mdns)
            self.query = OscQueryServer(settings)
            try:
                self.query.start()
            except Exception:
                self.input.close()
                raise
            if parts is not None:
                parts.ok("oscquery", f"http://{settings.host}:{self.query.port}/")

    def poll(self) -> None:
        """Once per frame before the engine ticks (render thread): `Show.run(poll=...)`."""
        self.publish(self.engine)

    def publish(self, engine: Any) -> None:
        """Drain OSC into the engine, then send feedback and OSCQuery updates (render thread)."""
        now = engine.clock.now()
        self.input.drain(engine, self.commands, now)
        if self.output is None and self.query is None:
            return
        rebuilt, changes = False, {}
        if now >= self._watch_due:
            self._watch_due = now + self._watch_every
            rebuilt, changes = self.watcher.poll(engine)
        if self.output is not None:
            self.output.frame(engine, now, changes)
        if self.query is not None and (rebuilt or changes or self._devices_changed()):
            self.query.publish(self.watcher.namespace if rebuilt else None, changes,
                               self.bio.devices.keys())

    def _devices_changed(self) -> bool:
        count = len(self.bio.devices)
        changed = count != getattr(self, "_device_count", 0)
        self._device_count = count
        return changed

    def stats(self) -> dict[str, Any]:
        """OSC in counters, OSC out counters and OSCQuery requests (any thread)."""
        return {"in": self.input.stats(),
                "out": self.output.stats() if self.output is not None else None,
                "oscquery_requests": self.query.requests if self.query is not None else None}

    def close(self) -> None:
        """Stop everything (main thread)."""
        if self.query is not None:
            self.query.close()
            self.query = None
        self.input.close()
        if self.output is not None:
            self.output.close()
