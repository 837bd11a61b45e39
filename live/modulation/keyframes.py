"""Keyframe tracks (``[[tracks]]``): a target follows keys placed in musical time or in seconds.

::

    [[tracks]]
    id = "rush"
    target = "layers.tunnel.speed"
    ease = "linear"                      # default easing of the segments (optional)
    loop = [1, 5]                        # optional: bars 1-4 repeat (start bar, end bar)
    keys = [
      { at = "1.1", value = 0.2 },
      { at = "3.1", value = 1.0, ease = "step" },           # jumps on bar 3, beat 1
      { at = "4.3.480", value = 0.4, ease = "cubic_in_out" },
    ]

A key's ``at`` is a position ``"bar.beat.tick"`` on the scene's timeline (bar 1 is the first
downbeat after the scene became active; `live.modulation.timeline`), so the track follows the
BeatClock through tempo changes. A track written with ``time = 12.5`` (seconds since the scene
became active) instead ignores the tempo; its ``loop`` is then in seconds too. A key's ``ease``
shapes the segment that *ends* at that key (how the value gets there; `live.modulation.easing`);
the first key has no segment before it. Before the first key the track holds the first value,
after the last (without a loop) the last value. Keys must be in time order, each at its own
position; a loop has a length, and no key lies after its end (it would never play).

Values are in the target's own units (a layer parameter's range, opacity 0..1, ...): the
engine's target setter clamps them like a mapping's value. Threads: parsing at load time on any
thread; `Track` on the render thread.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from live.modulation.easing import EASING_NAMES, get_easing
from live.modulation.timeline import (
    BEAT_EPSILON,
    SceneTime,
    TimeSpecError,
    close_match,
    parse_position,
)
from live.values import describe_value, is_finite_number

#: Keys of a ``[[tracks]]`` table.
TRACK_KEYS = ("id", "target", "keys", "ease", "loop")
#: Keys of one key (an inline table in ``keys``).
KEY_KEYS = ("at", "time", "value", "ease")
#: Longest seconds track (a day: anything longer is a typo).
MAX_SECONDS = 86400.0
MAX_KEYS = 4096


@dataclass(frozen=True)
class Key:
    """One key: where (beats after bar 1, or seconds), the value, and how the value gets there.

    Attributes:
        at: beats after the start of bar 1 (musical tracks) or seconds (timed tracks).
        value: the target value at that point.
        ease: easing of the segment from the previous key to this one.
        label: the position as written, for messages.
    """

    at: float
    value: float
    ease: str = "linear"
    label: str = ""


@dataclass(frozen=True)
class TrackSpec:
    """A validated ``[[tracks]]`` table. Immutable; `build` makes its per-frame player.

    Attributes:
        id: the track's id.
        target: what it drives (a mapping target).
        keys: in time order.
        unit: "beat" (musical) or "s" (seconds since the scene became active).
        loop: (start, end) in the track's unit, or None.
    """

    id: str
    target: str
    keys: tuple[Key, ...]
    unit: str = "beat"
    loop: tuple[float, float] | None = None

    def build(self) -> Track:
        """The track's player (render thread)."""
        return Track(self.keys, self.unit, self.loop)


class Track:
    """Evaluates a track's value at a point of its timeline. Render thread; no state.

    Args:
        keys: at least one, in strictly increasing time order.
        unit: "beat" (positions on the scene timeline) or "s" (seconds since the scene started).
        loop: (start, end) with end > start, or None.

    Raises:
        TimeSpecError: no keys, keys out of order or at the same point, an empty loop, or a key
            after the loop's end; the path names the key (("keys", i)) or ("loop",).
    """

    def __init__(self, keys: Sequence[Key], unit: str = "beat",
                 loop: tuple[float, float] | None = None) -> None:
        check_keys(keys, unit, loop)
        self.keys = tuple(keys)
        self.unit = unit
        self.loop = loop
        self._times = [k.at for k in keys]
        self._curves = [get_easing(k.ease) for k in keys]

    def value_at(self, x: float) -> float:
        """The value at `x` (beats after bar 1, or seconds)."""
        if self.loop is not None and x >= self.loop[1]:
            start, end = self.loop
            x = start + (x - start) % (end - start)
        times, keys = self._times, self.keys
        i = bisect.bisect_right(times, x)
        if i == 0:
            return keys[0].value
        if i == len(times):
            return keys[-1].value
        a, b = keys[i - 1], keys[i]
        fraction = (x - a.at) / (b.at - a.at)
        return a.value + (b.value - a.value) * self._curves[i](fraction)

    def value(self, now: SceneTime) -> float:
        """The value at this frame of the scene."""
        if self.unit == "s":
            return self.value_at(now.seconds)
        # A key exactly on a beat must not wait for the next frame because of float noise in
        # the beat count (e.g. 7.999999999 at the frame that lies on beat 8).
        return self.value_at(now.position + BEAT_EPSILON)


def check_keys(keys: Sequence[Key], unit: str, loop: tuple[float, float] | None) -> None:
    """Raise TimeSpecError when keys or the loop cannot be played (see `Track`). Any thread."""
    word = "position" if unit == "beat" else "time"
    if not keys:
        raise TimeSpecError(("keys",), "a track needs at least one key, e.g. "
                                       "keys = [{ at = \"1.1\", value = 0.0 }]")
    for i in range(1, len(keys)):
        a, b = keys[i - 1], keys[i]
        if b.at == a.at:
            raise TimeSpecError(("keys", i), f"key {i} is at the same {word} as key {i - 1} "
                                             f"({b.label or b.at}); each key needs its own {word} "
                                             "(for a jump, give the later key ease = \"step\")")
        if b.at < a.at:
            raise TimeSpecError(("keys", i), f"keys are out of order: key {i} at {b.label or b.at} "
                                             f"comes before key {i - 1} at {a.label or a.at}; "
                                             "list keys in time order")
    if loop is not None:
        start, end = loop
        if end == start:
            raise TimeSpecError(("loop",), "a zero-length loop: the loop's end equals its start; "
                                           "give loop = [start, end] with end after start")
        if end < start:
            raise TimeSpecError(("loop",), "the loop ends before it starts; give "
                                           "loop = [start, end] with end after start")
        late = next((i for i, k in enumerate(keys) if k.at > end), None)
        if late is not None:
            raise TimeSpecError(("keys", late), f"key {late} at {keys[late].label or keys[late].at} "
                                                "lies after the loop's end and would never play")


def parse_track(table: dict[str, Any], beats_per_bar: int) -> TrackSpec:
    """Read the keys, easing and loop of a ``[[tracks]]`` table (id and target are checked by
    the scene reader, which passes them in the table). Any thread.

    Raises:
        TimeSpecError: its path names the key inside the table, e.g. ("keys", 2, "at").
    """
    default_ease = _ease(table, "ease", "linear", ())
    raw = table.get("keys")
    if not isinstance(raw, list):
        raise TimeSpecError(("keys",), "expected an array of keys like "
                                       "[{ at = \"1.1\", value = 0.0 }, { at = \"3.1\", value = 1.0 }]"
                                       + ("" if raw is None else f", got {describe_value(raw)}"))
    if len(raw) > MAX_KEYS:
        raise TimeSpecError(("keys",), f"{len(raw)} keys; a track has at most {MAX_KEYS}")
    keys: list[Key] = []
    unit: str | None = None
    for i, item in enumerate(raw):
        path = ("keys", i)
        if not isinstance(item, dict):
            raise TimeSpecError(path, f"expected a key like {{ at = \"2.1\", value = 1.0 }}, got "
                                      f"{describe_value(item)}")
        for k in item:
            if k not in KEY_KEYS:
                raise TimeSpecError(path + (k,), f"unknown key '{k}' in a track key"
                                                 f"{close_match(k, KEY_KEYS)}; allowed: "
                                                 f"{', '.join(KEY_KEYS)}")
        has_at, has_time = "at" in item, "time" in item
        if has_at == has_time:
            raise TimeSpecError(path, "a key needs either at = \"bar.beat.tick\" (musical time) "
                                      "or time = <seconds> (seconds since the scene started)"
                                + (", not both" if has_at else ""))
        this = "beat" if has_at else "s"
        if unit is not None and this != unit:
            raise TimeSpecError(path + ("at" if has_at else "time",),
                                "a track is either musical (every key has 'at') or in seconds "
                                "(every key has 'time'); this key differs from key 0")
        unit = this
        if has_at:
            try:
                pos = parse_position(item["at"], beats_per_bar)
            except TimeSpecError as exc:
                raise exc.within(*path, "at") from None
            at, label = pos.beats(beats_per_bar), str(pos)
        else:
            seconds = item["time"]
            if not is_finite_number(seconds) or not 0.0 <= seconds <= MAX_SECONDS:
                raise TimeSpecError(path + ("time",), f"expected seconds since the scene started, "
                                                      f"a number from 0 to {MAX_SECONDS:g}, got "
                                                      f"{describe_value(seconds)}")
            at, label = float(seconds), f"{float(seconds):g} s"
        if "value" not in item:
            raise TimeSpecError(path, "missing 'value' (the target's value at this key)")
        value = item["value"]
        if isinstance(value, bool):
            value = 1.0 if value else 0.0
        if not is_finite_number(value):
            raise TimeSpecError(path + ("value",), f"expected a number, got {describe_value(value)}")
        ease = _ease(item, "ease", default_ease, path)
        if i == 0 and "ease" in item:
            raise TimeSpecError(path + ("ease",), "the first key has no segment before it to "
                                                  "ease; put ease on the key a segment ends at")
        keys.append(Key(at, float(value), ease, label))
    unit = unit or "beat"
    loop = _loop(table.get("loop"), unit, beats_per_bar) if "loop" in table else None
    check_keys(keys, unit, loop)
    return TrackSpec(id=str(table.get("id", "")), target=str(table.get("target", "")),
                     keys=tuple(keys), unit=unit, loop=loop)



def _ease(table: dict[str, Any], key: str, default: str, path: tuple) -> str:
    if key not in table:
        return default
    value = table[key]
    if value not in EASING_NAMES:
        shown = repr(value) if isinstance(value, str) else describe_value(value)
        raise TimeSpecError(path + (key,), f"unknown easing {shown}"
                                           f"{close_match(value, EASING_NAMES)}; allowed: "
                                           f"{', '.join(EASING_NAMES)}")
    return value


def _loop(value: Any, unit: str, beats_per_bar: int) -> tuple[float, float]:
    if unit == "s":
        shape = "expected loop = [start, end] in seconds since the scene started, e.g. [0, 8]"
        if not (isinstance(value, list) and len(value) == 2 and all(is_finite_number(v) and v >= 0
                                                                     for v in value)):
            raise TimeSpecError(("loop",), f"{shape}; got {describe_value(value)}")
        return float(value[0]), float(value[1])
    shape = ("expected loop = [start, end]: bars (loop = [1, 5] repeats bars 1 to 4) or "
             "positions like [\"1.1\", \"2.3\"]")
    if not (isinstance(value, list) and len(value) == 2):
        raise TimeSpecError(("loop",), f"{shape}; got {describe_value(value)}")
    out = []
    for j, end in enumerate(value):
        try:
            out.append(parse_position(end, beats_per_bar).beats(beats_per_bar))
        except TimeSpecError as exc:
            raise TimeSpecError(("loop",), f"{'end' if j else 'start'}: {exc.message}") from None
    return out[0], out[1]
