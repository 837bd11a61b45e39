"""Set lists: the scenes of a show in order, how long each plays, what cues it, how it comes in.

A set list file (``scenes/setlists/*.toml``) in its short form::

    schema = 1
    [setlist]
    name = "friday"
    fade = 2.0                                  # crossfade seconds (optional)
    scenes = ["demo", "tunnel-rush", "../my/own-scene.toml"]

and in its long form, one ``[[setlist.entries]]`` table per entry::

    schema = 1
    [setlist]
    name = "friday"
    transition = { kind = "crossfade", length = "1bar", quantize = "bar" }   # every entry's default

    [[setlist.entries]]
    scene = "neon-grid"
    bars = 16                     # plays 16 bars from its bar 1, then the next entry comes in
    cue = ["key:q", "midi.note.1.36", "osc./cue/grid"]   # these also jump straight here

    [[setlist.entries]]
    scene = "tunnel-rush"
    advance = "manual"            # waits for the operator (the default without bars)
    transition = { kind = "wipe", direction = "left", softness = 0.2, length = "2beat",
                   quantize = "bar" }

Scene entries are bundled scene names or paths relative to the set list file. An entry's
``transition`` (`live.modulation.timeline.TransitionSpec`) is how the show switches *to* it; an
entry without one uses the scene's own ``[transition]``, then the set list's ``transition``,
then a plain crossfade of ``fade`` seconds at once. Cues: the operator's next/previous/1-9 keys
(and the mappings to scene.next/prev/goto), an entry's own ``cue`` triggers (a key as
``key:<name>``, or any signal source: it fires when the signal rises to 0.5 or more), and
``bars`` (automatic). A quantized transition waits for the next beat, bar or phrase of the
running scene's timeline; the scene it goes to is compiled when the cue comes (or earlier: the
show preloads the next entry), so the switch itself compiles nothing.

`SetList` is the immutable model (any thread). `SetListCues` is the part of the live show that
holds a quantized switch until its boundary, decides automatic advances, watches cue signals and
keys, and draws the transition shaders; it belongs to the render thread (`live.show.Show` owns
it), except `key_entry`, which any thread may call.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from live.modulation.easing import get_easing
from live.modulation.timeline import (
    BEAT_EPSILON,
    TimeSpecError,
    TransitionSpec,
    format_position,
    next_boundary,
    parse_transition,
)
from live.scene import (
    SceneError,
    SceneSpec,
    bundled_scene_dirs,
    did_you_mean,
    find_scene,
    key_lines,
    load_scene,
    read_toml_file,
    source_name_problem,
)

log = logging.getLogger(__name__)

SETLIST_KEYS = ("name", "fade", "scenes", "entries", "transition")
ENTRY_KEYS = ("scene", "bars", "advance", "cue", "transition")
ADVANCE_MODES = ("auto", "manual")
MAX_BARS = 100_000
#: A cue signal fires when it rises to this value or more (a button press).
CUE_THRESHOLD = 0.5


class ShowError(ValueError):
    """Bad show input (set list, key map, options); the message names the file or key."""


@dataclass(frozen=True)
class EntryOptions:
    """How one set-list entry plays. Immutable.

    Attributes:
        bars: how many bars it plays (from its bar 1), or None (no length).
        advance: "auto" (the next entry comes in after `bars`) or "manual".
        transition: how the show switches to it, or None (the scene's or set list's default).
        cues: triggers that jump to it: ``key:<name>`` or signal sources (``midi.note.1.36``).
    """

    bars: int | None = None
    advance: str = "manual"
    transition: TransitionSpec | None = None
    cues: tuple[str, ...] = ()

    @property
    def auto(self) -> bool:
        """Whether the entry hands over to the next one by itself after `bars`."""
        return self.advance == "auto" and self.bars is not None


@dataclass(frozen=True)
class SetList:
    """An ordered list of scene files to play, with per-entry options. Any thread (immutable;
    loading reads files).

    Attributes:
        name: shown in the HUD and errors.
        entries: the scene files, in order.
        fade: crossfade seconds when nothing else says how to switch (None: the show's).
        options: per-entry `EntryOptions`, one per entry, or empty (all defaults).
        transition: the default transition of every entry (None: a crossfade of `fade`).
    """

    name: str
    entries: tuple[Path, ...]
    fade: float | None = None
    options: tuple[EntryOptions, ...] = ()
    transition: TransitionSpec | None = None

    def __len__(self) -> int:
        return len(self.entries)

    def label(self, index: int) -> str:
        """Short name of an entry (its file name without the number prefix)."""
        stem = self.entries[index].stem
        head, _, rest = stem.partition("-")
        return rest if head.isdigit() and rest else stem

    def load(self, index: int) -> SceneSpec:
        """Parse entry `index` (reads the file now, so an edited scene is picked up)."""
        return load_scene(self.entries[index])

    def entry(self, index: int) -> EntryOptions:
        """The options of entry `index` (defaults when the set list gives none)."""
        if self.options and 0 <= index < len(self.options):
            return self.options[index]
        return EntryOptions()

    def transition_for(self, index: int, spec: SceneSpec | None = None) -> TransitionSpec | None:
        """How to switch to entry `index`: the entry's transition, else the scene's own
        ``[transition]``, else the set list's; None means a plain crossfade of the show's fade."""
        own = self.entry(index).transition
        if own is not None:
            return own
        scene = getattr(spec, "transition", None) if spec is not None else None
        return scene if scene is not None else self.transition

    def cue_keys(self) -> dict[str, int]:
        """Key name -> entry index of every ``key:<name>`` cue."""
        out: dict[str, int] = {}
        for i in range(len(self)):
            for cue in self.entry(i).cues:
                if cue.startswith("key:"):
                    out[cue[4:].lower()] = i
        return out

    def cue_sources(self) -> dict[str, int]:
        """Signal source -> entry index of every signal cue."""
        return {cue: i for i in range(len(self)) for cue in self.entry(i).cues
                if not cue.startswith("key:")}

    @staticmethod
    def load_file(path: Path | str) -> SetList:
        """Read a set list file. Raises SceneError with the file, key and line when it is wrong."""
        file = str(path)
        text, data = read_toml_file(path, _setlist_error, what="set list file")
        lines = key_lines(text)

        def error(key: tuple, message: str) -> SceneError:
            line = None
            for k in range(len(key), 0, -1):
                if key[:k] in lines:
                    line = lines[key[:k]]
                    break
            label = ""
            for part in key:
                label += f"[{part}]" if isinstance(part, int) else (f".{part}" if label else part)
            return SceneError(file, label, message, line)

        for key in data:
            if key not in ("schema", "setlist"):
                raise error((key,), f"unknown key{did_you_mean(key, ['schema', 'setlist'])}; "
                                    "allowed: schema, setlist")
        if data.get("schema") != 1:
            raise error(("schema",), "must be 1 (the set list format version)")
        table = data.get("setlist")
        if not isinstance(table, dict):
            raise error(("setlist",), "missing [setlist] table with name and scenes")
        for key in table:
            if key not in SETLIST_KEYS:
                raise error(("setlist", key), f"unknown key{did_you_mean(key, SETLIST_KEYS)}; "
                                              f"allowed: {', '.join(SETLIST_KEYS)}")
        name = table.get("name", Path(file).stem)
        if not isinstance(name, str) or not name:
            raise error(("setlist", "name"), "must be a non-empty string")
        fade = table.get("fade")
        if fade is not None and (isinstance(fade, bool) or not isinstance(fade, (int, float))
                                 or not 0.0 <= fade <= 60.0):
            raise error(("setlist", "fade"), "must be a number of seconds from 0 to 60")
        default = None
        if "transition" in table:
            try:
                default = parse_transition(table["transition"])
            except TimeSpecError as exc:
                raise error(("setlist", "transition", *exc.path), exc.message) from None
        base = Path(file).parent

        def resolve(entry: str, key: tuple, number: int) -> Path:
            local = base / entry
            try:
                return local if local.is_file() else find_scene(entry)
            except SceneError as exc:
                raise error(key, f"entry {number} '{entry}': {exc.message}") from None

        if ("scenes" in table) == ("entries" in table):
            raise error(("setlist", "scenes"), "give the scenes either as scenes = [...] (names "
                        "or paths) or as [[setlist.entries]] tables with scene = \"...\""
                        + (", not both" if "scenes" in table else ""))
        entries: list[Path] = []
        options: list[EntryOptions] = []
        if "scenes" in table:
            scenes = table["scenes"]
            if not isinstance(scenes, list) or not scenes or not all(isinstance(s, str) for s in scenes):
                raise error(("setlist", "scenes"), "must be a non-empty array of scene names or paths")
            entries = [resolve(s, ("setlist", "scenes"), i + 1) for i, s in enumerate(scenes)]
        else:
            tables = table["entries"]
            if not isinstance(tables, list) or not tables or not all(isinstance(t, dict) for t in tables):
                raise error(("setlist", "entries"), "expected one or more [[setlist.entries]] "
                                                    "tables, each with scene = \"...\"")
            for i, entry in enumerate(tables):
                path = ("setlist", "entries", i)
                try:
                    options.append(parse_entry(entry))
                except TimeSpecError as exc:
                    raise error(path + exc.path, exc.message) from None
                entries.append(resolve(entry["scene"], path + ("scene",), i + 1))
        return SetList(name, tuple(entries), None if fade is None else float(fade),
                       tuple(options), default)

    @staticmethod
    def from_args(args: Iterable[str]) -> SetList:
        """Build the set list for `echoel run SCENE...`: scene names or files, or set list files.

        With no arguments: every bundled scene numbered 010 or above (000-009 are test scenes).
        Set list files keep their entries' options; the first file's default transition wins.
        """
        args = list(args)
        if not args:
            folder = bundled_scene_dirs()[0]
            files = sorted(p for p in folder.glob("*.toml")
                           if p.stem[:3].isdigit() and int(p.stem[:3]) >= 10)
            if not files:
                raise ShowError(f"no bundled show scenes (numbered 010 and up) in {folder}")
            return SetList("bundled scenes", tuple(files))
        entries: list[Path] = []
        options: list[EntryOptions] = []
        fade = None
        transition = None
        for arg in args:
            path = Path(arg)
            if path.suffix == ".toml" and path.is_file() and is_setlist_file(path):
                sub = SetList.load_file(path)
                entries.extend(sub.entries)
                options.extend(sub.entry(i) for i in range(len(sub)))
                fade = sub.fade if fade is None else fade
                transition = sub.transition if transition is None else transition
            else:
                entries.append(find_scene(arg))
                options.append(EntryOptions())
        name = Path(args[0]).stem if len(args) == 1 else "command line"
        keep = any(o != EntryOptions() for o in options)
        return SetList(name, tuple(entries), fade, tuple(options) if keep else (), transition)


def parse_entry(table: Mapping[str, Any]) -> EntryOptions:
    """Check one ``[[setlist.entries]]`` table (its scene is resolved by the caller). Any thread.

    Raises:
        TimeSpecError: its path names the key inside the entry.
    """
    for key in table:
        if key not in ENTRY_KEYS:
            raise TimeSpecError((key,), f"unknown key '{key}'{did_you_mean(key, ENTRY_KEYS)}; "
                                        f"allowed: {', '.join(ENTRY_KEYS)}")
    scene = table.get("scene")
    if not isinstance(scene, str) or not scene.strip():
        raise TimeSpecError(("scene",), "missing scene = \"<name or path>\"")
    bars = table.get("bars")
    if bars is not None and (isinstance(bars, bool) or not isinstance(bars, int)
                             or not 1 <= bars <= MAX_BARS):
        raise TimeSpecError(("bars",), f"expected how many bars the entry plays, an integer from 1 "
                                       f"to {MAX_BARS}, got {bars!r}")
    advance = table.get("advance", "auto" if bars is not None else "manual")
    if advance not in ADVANCE_MODES:
        raise TimeSpecError(("advance",), f"unknown advance {advance!r}"
                                          f"{did_you_mean(str(advance), ADVANCE_MODES)}; allowed: "
                                          f"{', '.join(ADVANCE_MODES)}")
    if advance == "auto" and bars is None:
        raise TimeSpecError(("advance",), "advance = \"auto\" needs bars = <how many bars the "
                                          "entry plays>")
    transition = None
    if "transition" in table:
        try:
            transition = parse_transition(table["transition"])
        except TimeSpecError as exc:
            raise exc.within("transition") from None
    cues = table.get("cue", [])
    if isinstance(cues, str):
        cues = [cues]
    if not isinstance(cues, list) or not all(isinstance(c, str) for c in cues):
        raise TimeSpecError(("cue",), "expected a trigger or an array of triggers: \"key:<key "
                                      "name>\" or a signal source like \"midi.note.1.36\" or "
                                      "\"osc./cue/1\"")
    for j, cue in enumerate(cues):
        if cue.startswith("key:"):
            if not cue[4:].strip():
                raise TimeSpecError(("cue", j), "\"key:\" needs a key name, e.g. \"key:q\"")
            continue
        problem = source_name_problem(cue)
        if problem:
            raise TimeSpecError(("cue", j), f"{problem}; or a key as \"key:<name>\"")
    return EntryOptions(bars=bars, advance=advance, transition=transition,
                        cues=tuple(c if not c.startswith("key:") else c.lower() for c in cues))


def is_setlist_file(path: Path) -> bool:
    """Whether a .toml file is a set list (it has a [setlist] table) rather than a scene."""
    try:
        head = path.read_text(encoding="utf-8", errors="replace")[:4096]
    except OSError:
        return False
    return "[setlist]" in head


def _setlist_error(file: str, message: str, line: int | None, key: str | None = None) -> SceneError:
    return SceneError(file, key, message, line)


# --------------------------------------------------------------------------------------------
# Playing a set list: held (quantized) switches, automatic advance, cue triggers, transitions


@dataclass
class HeldSwitch:
    """A switch waiting for its boundary. Render thread.

    Attributes:
        target: the set-list entry it goes to.
        active: the compiled scene (an engine ActiveScene), owned until the switch or a cancel.
        transition: how it switches (None: a plain crossfade).
        boundary: the beat count it starts at.
    """

    target: int
    active: Any
    transition: TransitionSpec | None
    boundary: float


class _EasedTransition:
    """A transition renderer whose progress goes through an easing first (render thread)."""

    def __init__(self, inner: Any, ease: str) -> None:
        self.inner = inner
        self._curve = get_easing(ease)

    def render(self, target: Any, size: tuple[int, int], start: Any, end: Any, progress: float,
               uniforms: Any, dimmer: float = 1.0) -> None:
        self.inner.render(target, size, start, end, self._curve(progress), uniforms, dimmer)

    def release(self) -> None:
        self.inner.release()


@dataclass
class SetListCues:
    """Timing of a live set list: quantized switches, automatic advance, cue triggers, and
    the transition shaders (``engine.transition``) of the switches it starts.

    The show asks it, per switch, whether to hold the switch for a boundary (`hold`), calls
    `due` at the top of every frame, and lets `begin` set the engine up for the switch it is
    about to make. Render thread (`key_entry`: any thread).

    Args:
        setlist: the set list.
        engine: the show's engine (`live.engine.Engine`).
    """

    setlist: SetList
    engine: Any
    held: HeldSwitch | None = None
    _renderers: dict[tuple, Any] = field(default_factory=dict)
    _failed: set[tuple] = field(default_factory=set)
    _ours: Any = None  # the renderer this object put on the engine
    _auto_done: tuple | None = None
    _cue_levels: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._keys = self.setlist.cue_keys()
        self._sources = self.setlist.cue_sources()

    # -- cues -------------------------------------------------------------------------------------
    def check_keymap(self, keymap: Mapping[str, Any]) -> None:
        """Raise ShowError when an entry's cue key is also a key of the show's key map."""
        for key, index in self._keys.items():
            if key in keymap:
                raise ShowError(f"set list '{self.setlist.name}': entry {index + 1} "
                                f"({self.setlist.label(index)}) cues on key '{key}', which the "
                                f"key map already uses for {keymap[key][0]}; pick another key")

    def key_entry(self, key: str) -> int | None:
        """The entry a key cues (None: not a cue key). Any thread (reads an immutable dict)."""
        return self._keys.get(key.lower())

    def triggered(self, bus: Any) -> list[int]:
        """Entries whose cue signal rose to `CUE_THRESHOLD` or more since the last call."""
        fired = []
        for source, index in self._sources.items():
            value = bus.get(source, 0.0)
            if value >= CUE_THRESHOLD and self._cue_levels.get(source, 0.0) < CUE_THRESHOLD:
                fired.append(index)
            self._cue_levels[source] = value
        return fired

    def auto_due(self, index: int) -> float | None:
        """The beat count at which entry `index` (playing now) hands over to the next entry, once
        it has come and only once per activation; None otherwise."""
        options = self.setlist.entry(index)
        scene = self.engine.scene
        if not options.auto or scene is None or index + 1 >= len(self.setlist):
            return None
        if getattr(self.engine, "panicked", False):
            return None  # the safe scene stays until the operator moves on
        if self.held is not None or self._auto_done == (index, scene.started):
            return None
        end = self.engine.timeline_origin() + options.bars * self.engine.beat.beats_per_bar
        if self.engine.beat.beat_at(self.engine.clock.now()) < end - BEAT_EPSILON:
            return None
        self._auto_done = (index, scene.started)
        return end

    # -- holding a switch for its boundary ---------------------------------------------------
    def hold(self, target: int, active: Any, now: float, at_beat: float | None = None) -> bool:
        """Hold the switch to `target` (its scene compiled as `active`) for the boundary its
        transition quantizes to, counted from `at_beat` (default: now). Returns False, holding
        nothing, when the switch should start at once."""
        transition = self.setlist.transition_for(target, active.spec)
        unit = transition.quantize if transition is not None else "none"
        if at_beat is None and unit == "none":
            return False
        beat = self.engine.beat
        ref = beat.beat_at(now) if at_beat is None else at_beat
        phrase = transition.phrase if transition is not None else 1
        boundary = next_boundary(ref, unit, self.engine.timeline_origin(), beat.beats_per_bar,
                                 phrase)
        if self.held is not None and self.held.active is not active:
            self.held.active.release()
        self.held = HeldSwitch(target, active, transition, boundary)
        return True

    def take_held(self, target: int) -> Any:
        """The compiled scene held for `target`, taken back (None if none); any other held
        switch is cancelled."""
        held = self.held
        if held is None:
            return None
        self.held = None
        if held.target == target:
            return held.active
        held.active.release()
        return None

    def due(self, now: float) -> HeldSwitch | None:
        """The held switch whose boundary has come (it is no longer held), else None."""
        held = self.held
        if held is None or self.engine.beat.beat_at(now) < held.boundary - BEAT_EPSILON:
            return None
        self.held = None
        return held

    def cancel(self) -> None:
        """Drop a held switch (panic)."""
        if self.held is not None:
            self.held.active.release()
            self.held = None

    # -- starting a switch -------------------------------------------------------------------
    def begin(self, target: int, spec: SceneSpec, default_fade: float,
              boundary: float | None = None) -> float:
        """Set the engine up for the switch to `target` and return its fade in seconds.

        A wipe, a shader transition or an eased crossfade goes on ``engine.transition``; a
        transition shader that cannot be built falls back to the plain crossfade (reported).
        A held switch passes its `boundary` (a beat count): the frame that starts it comes a
        moment after the boundary, so the fade is shortened by that much and still ends on the
        beat its length says.
        """
        transition = self.setlist.transition_for(target, spec)
        self._set_renderer(None)
        if transition is None:
            return default_fade
        beat = self.engine.beat
        # The tempo once the switch is made: a scene-set tempo changes to the new scene's.
        bpm = spec.bpm if beat.source == "scene" else beat.bpm
        seconds = transition.seconds(bpm, spec.beats_per_bar)
        if boundary is not None and seconds > 0.0:
            late = self.engine.clock.now() - beat.time_of_beat(boundary)
            seconds = max(seconds - max(late, 0.0), 1e-3)
        if seconds > 0.0 and transition.shader_name is not None:
            self._set_renderer(self.renderer(transition))
        return seconds

    def renderer(self, transition: TransitionSpec) -> Any:
        """The (cached) renderer of a transition's shader, or None when it has none or it fails
        to build (logged and reported once as the part "transition")."""
        name = transition.shader_name
        if name is None:
            return None
        key = (name, tuple(sorted(transition.shader_params.items())), transition.ease)
        if key in self._renderers:
            return self._renderers[key]
        if key in self._failed:
            return None
        try:
            from live.render.program import (
                TransitionRenderer,  # GL code: only when needed
            )

            shader = self.engine.shaders.get(name)
            renderer: Any = TransitionRenderer(self.engine.ctx, shader, transition.shader_params)
        except Exception as exc:  # noqa: BLE001 - any failure: the crossfade goes on instead
            self._failed.add(key)
            log.error("transition %s cannot be used (crossfading instead): %s", name, exc)
            self.engine.parts.degraded("transition", f"{name}: {exc}")
            return None
        if transition.ease is not None:
            renderer = _EasedTransition(renderer, transition.ease)
        self._renderers[key] = renderer
        return renderer

    def preload(self, target: int, spec: SceneSpec | None) -> None:
        """Build the transition shader of the switch to `target` ahead of time."""
        if spec is None or not 0 <= target < len(self.setlist):
            return
        transition = self.setlist.transition_for(target, spec)
        if transition is not None:
            self.renderer(transition)

    def after_frame(self) -> None:
        """Take the transition off the engine once its crossfade is over."""
        if self._ours is not None and not self.engine.fading:
            self._set_renderer(None)

    def _set_renderer(self, renderer: Any) -> None:
        if self._ours is not None and getattr(self.engine, "transition", None) is self._ours:
            self.engine.transition = None
        self._ours = renderer
        if renderer is not None:
            self.engine.transition = renderer

    def release(self) -> None:
        """Free the held scene and the transition shaders (render thread)."""
        self.cancel()
        self._set_renderer(None)
        for renderer in self._renderers.values():
            renderer.release()
        self._renderers.clear()

    # -- what the HUD shows ------------------------------------------------------------------
    def position_text(self, index: int) -> str:
        """"bar 5.3/16" (the running scene's bar and beat, and the entry's length)."""
        scene = self.engine.scene
        if scene is None:
            return ""
        beat = self.engine.beat
        bpb = beat.beats_per_bar
        position = beat.beat - self.engine.timeline_origin()
        text = f"bar {format_position(position, bpb)}"
        bars = self.setlist.entry(index).bars
        if bars is not None:
            text += f"/{bars}"
        transition = self.setlist.transition_for(index + 1, None) if index + 1 < len(self.setlist) else None
        phrase = transition.phrase if transition is not None and transition.quantize == "phrase" else None
        if phrase and position >= 0:
            text += f" phrase {int(position // (phrase * bpb)) + 1}"
        return text

    def next_text(self, index: int, label: str | None, ready: bool,
                  spec: SceneSpec | None = None) -> str | None:
        """The next cue for the HUD: what comes, when and how (None at the end of the set).
        `spec` is the next entry's scene when it is loaded (its own [transition] counts)."""
        held = self.held
        bpb = self.engine.beat.beats_per_bar
        origin = self.engine.timeline_origin()
        if held is not None:
            where = format_position(held.boundary - origin, bpb)
            how = held.transition.describe() if held.transition is not None else "crossfade"
            return f"{self.setlist.label(held.target)} at bar {where} ({how.split(' on ')[0]})"
        if label is None:
            return None
        text = label + ("" if ready else " (loading)")
        options = self.setlist.entry(index)
        if options.auto and index + 1 < len(self.setlist):
            text += f" after bar {options.bars} (auto)"
        transition = self.setlist.transition_for(index + 1, spec)
        if transition is not None:
            text += f", {transition.describe()}"
        return text

