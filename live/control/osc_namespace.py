"""The controllable targets of the running scene, as OSC addresses, with types, ranges and values.

One description serves OSC in (which addresses exist, how to validate a value), OSC out
(parameter feedback) and OSCQuery (the namespace a client browses). The OSC address of a target is
``/echoel/`` plus the target with dots as slashes (ARCHITECTURE.md "Names"):
``layers.tunnel.speed`` <-> ``/echoel/layers/tunnel/speed``.

Threads: `scene_targets`, `read_value` and `ValueWatcher.poll` read the engine and run on the
render thread. `TargetInfo` and `Namespace` are immutable and may be handed to any thread.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from collections.abc import Iterable
from typing import Any

#: Every engine target address starts with this.
ECHOEL_PREFIX = "/echoel/"

#: Value types of targets (the OSC type tag an OSCQuery client sends).
FLOAT, INT, BOOL, TRIGGER = "float", "int", "bool", "trigger"
TYPE_TAGS = {FLOAT: "f", INT: "i", BOOL: "T", TRIGGER: "N"}

#: OSCQuery ACCESS values.
ACCESS_READ, ACCESS_WRITE, ACCESS_READ_WRITE = 1, 2, 3


def target_address(target: str) -> str:
    """``layers.tunnel.speed`` -> ``/echoel/layers/tunnel/speed``. Any thread."""
    return ECHOEL_PREFIX + target.replace(".", "/")


def address_target(address: str) -> str | None:
    """``/echoel/layers/tunnel/speed`` -> ``layers.tunnel.speed``; None outside /echoel/. Any thread."""
    if not address.startswith(ECHOEL_PREFIX) or len(address) == len(ECHOEL_PREFIX):
        return None
    return address[len(ECHOEL_PREFIX):].replace("/", ".")


@dataclass(frozen=True)
class TargetInfo:
    """One controllable target. Immutable; any thread.

    Attributes:
        target: the target name (``layers.tunnel.speed``, ``master.dimmer``).
        type: FLOAT, INT, BOOL or TRIGGER.
        lo, hi: the value range (None: unbounded).
        values: for INT menus, the allowed values; labels their names.
        description: one line for people (OSCQuery DESCRIPTION).
        route: "layer" (Engine.set_target), "engine" (a master or tempo control) or "show" (a
            set-list command that needs a running show).
    """

    target: str
    type: str
    lo: float | None = None
    hi: float | None = None
    values: tuple[int, ...] | None = None
    labels: tuple[str, ...] | None = None
    description: str = ""
    route: str = "layer"

    @property
    def address(self) -> str:
        return target_address(self.target)

    @property
    def access(self) -> int:
        """OSCQuery ACCESS: triggers can only be written."""
        return ACCESS_WRITE if self.type == TRIGGER else ACCESS_READ_WRITE

    def check(self, value: float) -> tuple[float, bool]:
        """(the value to apply, whether `value` was outside the range and clamped). Any thread.

        Booleans and triggers read >= 0.5 as on; integers round, and a menu (`values`) takes
        its nearest entry.
        """
        if self.type in (BOOL, TRIGGER):
            return (1.0 if value >= 0.5 else 0.0), False
        lo = float(min(self.values)) if self.values else self.lo
        hi = float(max(self.values)) if self.values else self.hi
        clamped = (lo is not None and value < lo) or (hi is not None and value > hi)
        v = value
        if lo is not None:
            v = max(v, lo)
        if hi is not None:
            v = min(v, hi)
        if self.type == INT:
            v = float(min(self.values, key=lambda x: abs(x - v))) if self.values else float(round(v))
        return float(v), bool(clamped)


#: Targets that are not layer parameters and what they accept.
GLOBAL_TARGET_INFO: tuple[TargetInfo, ...] = (
    TargetInfo("master.dimmer", FLOAT, 0.0, 1.0, description="master brightness, 0..1", route="engine"),
    TargetInfo("master.blackout", BOOL, description="blackout on (1) or off (0)", route="engine"),
    TargetInfo("master.freeze", BOOL, description="freeze the output on (1) or off (0)", route="engine"),
    TargetInfo("tempo.bpm", FLOAT, 20.0, 400.0, description="set the tempo, beats per minute",
               route="engine"),
    TargetInfo("tempo.tap", TRIGGER, description="tap tempo", route="engine"),
    TargetInfo("tempo.nudge", FLOAT, -1.0, 1.0, description="shift the beat phase by this many beats",
               route="engine"),
    TargetInfo("scene.next", TRIGGER, description="next scene of the set list", route="show"),
    TargetInfo("scene.prev", TRIGGER, description="previous scene of the set list", route="show"),
    TargetInfo("scene.goto", INT, 1.0, 999.0, description="go to set-list entry N (1-based)",
               route="show"),
    TargetInfo("master.panic", TRIGGER, description="cut to the built-in safe scene", route="show"),
)


@dataclass(frozen=True)
class Namespace:
    """The targets of one scene, by address. Immutable; built on the render thread, read anywhere.

    Attributes:
        scene: the scene's name ("" when no scene runs).
        targets: every target, layer targets first in scene order.
    """

    scene: str
    targets: tuple[TargetInfo, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_address", {t.address: t for t in self.targets})

    def get(self, address: str) -> TargetInfo | None:
        """The target at an OSC address, or None."""
        return self._by_address.get(address)  # type: ignore[attr-defined]

    def addresses(self) -> list[str]:
        return list(self._by_address)  # type: ignore[attr-defined]


def _isf_info(target: str, inp: Any, where: str) -> TargetInfo | None:
    """A TargetInfo for an ISF input that one float can drive, else None."""
    label = inp.label or inp.name
    if inp.type == "float":
        lo = float(inp.min) if inp.min is not None else None
        hi = float(inp.max) if inp.max is not None else None
        return TargetInfo(target, FLOAT, lo, hi, description=f"{where}: {label}")
    if inp.type == "long":
        values = tuple(int(v) for v in inp.values) if inp.values else None
        lo = float(inp.min) if inp.min is not None else None
        hi = float(inp.max) if inp.max is not None else None
        return TargetInfo(target, INT, lo, hi, values=values,
                          labels=tuple(inp.labels) if inp.labels else None,
                          description=f"{where}: {label}")
    if inp.type == "bool":
        return TargetInfo(target, BOOL, description=f"{where}: {label}")
    if inp.type == "event":
        return TargetInfo(target, TRIGGER, description=f"{where}: {label} (event)")
    return None


def scene_targets(engine: Any) -> Namespace:
    """The targets of the engine's running scene plus the global ones. Render thread."""
    scene = getattr(engine, "scene", None)
    infos: list[TargetInfo] = []
    if scene is not None:
        for layer in scene.layers:
            infos.extend(_layer_targets(layer))
    infos.extend(GLOBAL_TARGET_INFO)
    return Namespace(scene.spec.name if scene is not None else "", tuple(infos))


def _layer_targets(layer: Any) -> Iterable[TargetInfo]:
    base = f"layers.{layer.id}"
    where = f"layer {layer.id}"
    yield TargetInfo(f"{base}.opacity", FLOAT, 0.0, 1.0, description=f"{where}: opacity")
    yield TargetInfo(f"{base}.enabled", BOOL, description=f"{where}: shown (1) or hidden (0)")
    main = getattr(layer, "main", None)
    if main is not None:  # a shader layer: its ISF inputs
        for name in layer.param_names():
            info = _isf_info(f"{base}.{name}", main.shader.input(name), where)
            if info is not None:
                yield info
    else:
        for name in layer.param_names():
            lo, hi = _media_range(name)
            yield TargetInfo(f"{base}.{name}", FLOAT, lo, hi, description=f"{where}: {name}")
    for stage in getattr(layer, "fx", []):
        fx_base = f"{base}.fx.{stage.fx_id}"
        fx_where = f"{where}, effect {stage.fx_id}"
        yield TargetInfo(f"{fx_base}.enabled", BOOL, description=f"{fx_where}: on (1) or bypassed (0)")
        for name in stage.param_names():
            info = _isf_info(f"{fx_base}.{name}", stage.shader.input(name), fx_where)
            if info is not None:
                yield info


def _media_range(name: str) -> tuple[float | None, float | None]:
    if name == "rate":
        from live.scene import VIDEO_RATE_RANGE
        return float(VIDEO_RATE_RANGE[0]), float(VIDEO_RATE_RANGE[1])
    return None, None


def read_value(engine: Any, target: str) -> float | None:
    """The current value of a target as a float (booleans 0/1), or None for triggers and unknown
    targets. Render thread."""
    parts = target.split(".")
    if parts[0] == "layers":
        scene = getattr(engine, "scene", None)
        layer = None if scene is None else next((ly for ly in scene.layers if ly.id == parts[1]), None)
        if layer is None:
            return None
        try:
            if len(parts) == 3 and parts[2] in ("opacity", "enabled"):
                return float(getattr(layer, parts[2]))
            if len(parts) == 5 and parts[2] == "fx":
                stage = layer.fx_stage(parts[3])
                if parts[4] == "enabled":
                    return float(stage.enabled)
                return _as_float(stage.params.get(parts[4]))
            if len(parts) == 3:
                values = layer.param_values() if hasattr(layer, "param_values") else {}
                return _as_float(values.get(parts[2]))
        except Exception:  # noqa: BLE001 - a layer without the value simply has none to show
            return None
        return None
    if target == "master.dimmer":
        return float(engine.dimmer)
    if target in ("master.blackout", "master.freeze"):
        return float(bool(getattr(engine, target.split(".")[1])))
    if target == "tempo.bpm":
        return float(engine.beat.bpm)
    return None


def _as_float(value: Any) -> float | None:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, (int, float)) and math.isfinite(float(value)):
        return float(value)
    return None


class ValueWatcher:
    """Finds which target values changed since the last poll (for feedback and OSCQuery LISTEN).

    Render thread. The namespace is rebuilt when the running scene changes.
    """

    def __init__(self) -> None:
        self.namespace = Namespace("", ())
        self._scene_obj: Any = object()
        self._last: dict[str, float] = {}

    def poll(self, engine: Any) -> tuple[bool, dict[str, float]]:
        """(whether the namespace changed, {target: value} of the values that changed)."""
        scene = getattr(engine, "scene", None)
        rebuilt = scene is not self._scene_obj
        if rebuilt:
            self._scene_obj = scene
            self.namespace = scene_targets(engine)
            self._last = {}
        changed: dict[str, float] = {}
        for info in self.namespace.targets:
            if info.type == TRIGGER:
                continue
            value = read_value(engine, info.target)
            if value is None:
                continue
            if self._last.get(info.target) != value:
                self._last[info.target] = value
                changed[info.target] = value
        return rebuilt, changed

    def values(self) -> dict[str, float]:
        """The last value seen of every readable target."""
        return dict(self._last)
