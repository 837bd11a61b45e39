"""Mapping files (mappings/*.toml): a controller profile, its bindings and its LED feedback.

A mapping file is loaded next to the scenes of a show; its bindings join every scene's own
``[[mappings]]`` (so a controller works the same in every scene)::

    schema = 1
    [controller]
    name = "Akai APC40 mkII"
    ports = ["*APC40 mkII*"]      # input/output port names it matches (fnmatch, any case)
    alias = "apc40"               # signals become midi.apc40.cc.1.14 as well as midi.cc.1.14

    [[bindings]]                  # keys as a scene's [[mappings]] (transforms included)
    source = "midi.apc40.cc.1.14"
    target = "master.dimmer"

    [[bindings]]
    source = "midi.apc40.cc.1.48"
    target = "layers.tunnel.speed"
    scene = "tunnel-rush"         # optional: only with this scene

    [[feedback]]                  # LEDs on the controller's output port (live.control.midi_out)
    state = "master.blackout"     # what to show (see FEEDBACK_STATES)
    send = "note.1.81"            # note.<ch>.<n> or cc.<ch>.<n>
    on = 1                        # velocity/value when on; off = 0 by default

A file without ``[controller]`` (such as mappings/learned.toml) has bindings only. A binding
whose target is a layer parameter applies to the scenes that have that layer and is skipped
elsewhere, unless it names a ``scene``: then it applies to that scene only and an unknown layer
or parameter there is an error. Global targets (master.*, scene.*, tempo.*) apply everywhere.

Errors (`MappingFileError`, a `SceneError`) name the file, the line, the key, what was wrong and
what is allowed, with "did you mean" hints, like scene errors.

Threads: loading runs at start-up or between frames on any thread (reads one file); the models
are immutable.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from live.modulation.transforms import TRANSFORM_KEYS, TransformError, parse_transform
from live.scene import (
    GLOBAL_TARGETS,
    LayerSpec,
    MappingSpec,
    SceneError,
    SceneSpec,
    describe_value,
    did_you_mean,
    is_finite_number,
    key_lines,
    read_toml_file,
    source_name_problem,
    target_name_problem,
)

MAX_MAPPING_BYTES = 1 << 20
TOP_KEYS = ("schema", "controller", "bindings", "feedback")
CONTROLLER_KEYS = ("name", "ports", "alias", "description")
BINDING_KEYS = ("source", "target", "range", "scene", *TRANSFORM_KEYS)
FEEDBACK_KEYS = ("state", "send", "on", "off", "entry", "layer")
#: What an LED can show: a master switch, a layer's enabled switch (with ``layer = "<id>"``),
#: the set-list entry playing (``scene.goto`` with ``entry = <1-based position>``), or the beat
#: (lit for the first quarter of every beat) and the bar (lit on the first beat of each bar).
FEEDBACK_STATES = ("master.blackout", "master.freeze", "master.panic", "layers.enabled",
                   "scene.goto", "beat", "bar")
_SEND_RE = re.compile(r"^(note|cc)\.([0-9]{1,2})\.([0-9]{1,3})$")
_ALIAS_RE = re.compile(r"^[A-Za-z0-9_-]+$")

Path_ = tuple[str | int, ...]


class MappingFileError(SceneError):
    """A mapping file that cannot be used; same fields as `SceneError` (file, key, line)."""


@dataclass(frozen=True)
class Controller:
    """The device a mapping file is for."""

    name: str
    ports: tuple[str, ...]
    alias: str | None = None
    description: str = ""

    def matches(self, port_name: str) -> bool:
        """Whether a MIDI port name belongs to this controller (fnmatch, case-insensitive)."""
        return any(fnmatch.fnmatchcase(port_name.lower(), p.lower()) for p in self.ports)


@dataclass(frozen=True)
class Binding:
    """One binding of a mapping file, with where it came from (for errors at scene load)."""

    mapping: MappingSpec
    scene: str | None
    file: str
    index: int
    line: int | None = None

    def error(self, message: str, key: str = "target") -> MappingFileError:
        """An error about this binding, pointing at its line."""
        return MappingFileError(self.file, f"bindings[{self.index}].{key}", message, line=self.line)

    def applies_to(self, scene: SceneSpec) -> bool:
        """Whether this binding joins `scene` (see the module docstring)."""
        if self.scene is not None:
            return self.scene == scene.name
        target = self.mapping.target
        if not target.startswith("layers."):
            return True
        layer_id = target.split(".")[1]
        return any(layer.id == layer_id for layer in scene.layers)


@dataclass(frozen=True)
class Feedback:
    """One LED: show `state` by sending `send` with value `on` or `off`."""

    state: str
    kind: str        # "note" or "cc"
    channel: int     # 1-16
    number: int      # note or controller number
    on: int = 127
    off: int = 0
    entry: int | None = None   # scene.goto: the 1-based set-list position
    layer: str | None = None   # layers.enabled: the layer id

    def message(self, value: int) -> list[int]:
        """The MIDI bytes that set this LED to `value`."""
        status = (0x90 if self.kind == "note" else 0xB0) | (self.channel - 1)
        return [status, self.number, value]


@dataclass(frozen=True)
class MappingFile:
    """A loaded mapping file."""

    path: Path | None
    controller: Controller | None
    bindings: tuple[Binding, ...] = ()
    feedback: tuple[Feedback, ...] = ()
    key_lines: dict = field(default_factory=dict, compare=False, repr=False)

    def bindings_for(self, scene: SceneSpec) -> list[Binding]:
        """The bindings that join `scene`, checked against its layers.

        Raises:
            MappingFileError: a binding restricted to this scene names a layer it lacks.
        """
        out = []
        for b in self.bindings:
            if not b.applies_to(scene):
                continue
            if b.scene is not None:
                problem = target_name_problem(b.mapping.target, scene.layers)
                if problem:
                    raise b.error(problem)
            out.append(b)
        return out


def _error_factory(file: str, message: str, line: int | None, key: str | None = None):
    err = MappingFileError(file, None, message, line=line)
    err.key = key
    return err


class _Reader:
    def __init__(self, file: str, text: str, data: dict) -> None:
        self.file, self.data = file, data
        self.lines = key_lines(text)

    def error(self, path: Path_, message: str) -> MappingFileError:
        line = None
        for k in range(len(path), 0, -1):
            if path[:k] in self.lines:
                line = self.lines[path[:k]]
                break
        key = ""
        for part in path:
            key += f"[{part}]" if isinstance(part, int) else (f".{part}" if key else part)
        return MappingFileError(self.file, key or None, message, line=line)

    def keys(self, table: dict, path: Path_, allowed: Sequence[str]) -> None:
        for key in table:
            if key not in allowed:
                raise self.error(path + (key,), f"unknown key '{key}'{did_you_mean(key, allowed)}; "
                                 f"allowed: {', '.join(allowed)}")

    def tables(self, key: str) -> list[dict]:
        value = self.data.get(key, [])
        if isinstance(value, dict) or not isinstance(value, list) or not all(
                isinstance(v, dict) for v in value):
            raise self.error((key,), f"expected an array of tables: write [[{key}]] with double "
                             "brackets")
        return value

    def string(self, table: dict, key: str, path: Path_, required: bool = False) -> str | None:
        if key not in table:
            if required:
                raise self.error(path + (key,), f"missing required key '{key}' (a string)")
            return None
        value = table[key]
        if not isinstance(value, str) or not value.strip():
            raise self.error(path + (key,), f"expected a non-empty string, got {describe_value(value)}")
        return value

    def byte(self, table: dict, key: str, path: Path_, default: int | None) -> int | None:
        if key not in table:
            return default
        value = table[key]
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 127:
            raise self.error(path + (key,), f"expected a MIDI data byte, an integer from 0 to 127, "
                             f"got {describe_value(value)}")
        return value

    def read(self, path: Path | None) -> MappingFile:
        data = self.data
        self.keys(data, (), TOP_KEYS)
        if data.get("schema") != 1:
            raise self.error(("schema",), "expected 'schema = 1' (the mapping file format version)")
        controller = self.controller(data["controller"]) if "controller" in data else None
        alias = controller.alias if controller else None
        bindings = tuple(self.binding(t, i, alias) for i, t in enumerate(self.tables("bindings")))
        feedback = tuple(self.feedback(t, i) for i, t in enumerate(self.tables("feedback")))
        if feedback and controller is None:
            raise self.error(("feedback",), "LED feedback needs a [controller] table naming the "
                             "ports to send it to")
        return MappingFile(path, controller, bindings, feedback, self.lines)

    def controller(self, table: Any) -> Controller:
        path: Path_ = ("controller",)
        if not isinstance(table, dict):
            raise self.error(path, "expected a table [controller] with name and ports")
        self.keys(table, path, CONTROLLER_KEYS)
        name = self.string(table, "name", path, required=True)
        ports = table.get("ports")
        if not (isinstance(ports, list) and ports and all(isinstance(p, str) and p for p in ports)):
            raise self.error(path + ("ports",), "expected a non-empty array of port name patterns, "
                             "e.g. [\"*APC40 mkII*\"] (fnmatch: * and ? are wildcards)")
        alias = self.string(table, "alias", path)
        if alias is not None and (not _ALIAS_RE.fullmatch(alias)
                                  or alias in ("cc", "note", "bend", "program")):
            raise self.error(path + ("alias",), f"alias '{alias}' must be letters, digits, '_' or "
                             "'-' and not cc, note, bend or program (it becomes part of signal names)")
        description = self.string(table, "description", path) or ""
        return Controller(name, tuple(ports), alias, description)  # type: ignore[arg-type]

    def binding(self, table: dict, i: int, alias: str | None) -> Binding:
        path: Path_ = ("bindings", i)
        self.keys(table, path, BINDING_KEYS)
        source = self.string(table, "source", path, required=True)
        problem = source_name_problem(source)  # type: ignore[arg-type]
        if problem:
            raise self.error(path + ("source",), problem)
        assert source is not None
        parts = source.split(".")
        if alias and parts[0] == "midi" and parts[1] not in ("cc", "note", "bend", "program") \
                and parts[1] != alias:
            raise self.error(path + ("source",), f"source '{source}' names port '{parts[1]}', but "
                             f"this controller's alias is '{alias}' (did you mean "
                             f"'midi.{alias}.{'.'.join(parts[2:])}'?)")
        target = self.string(table, "target", path, required=True)
        assert target is not None
        if target in GLOBAL_TARGETS:
            pass
        elif target.startswith("layers."):
            # Shape only: which layers exist depends on the scene it joins (`bindings_for`).
            fake = target.split(".")[1]
            problem = target_name_problem(target, [LayerSpec(fake, "shader", None, fx=_fake_fx(target))])
            if problem:
                raise self.error(path + ("target",), problem)
        else:
            raise self.error(path + ("target",), target_name_problem(target, []) or "unknown target")
        lo_hi = table.get("range", [0.0, 1.0])
        if not (isinstance(lo_hi, list) and len(lo_hi) == 2 and all(is_finite_number(v) for v in lo_hi)):
            raise self.error(path + ("range",), "expected [lo, hi], two finite numbers (lo > hi inverts)")
        try:
            transform = parse_transform(table, source)
        except TransformError as exc:
            raise self.error(path + (exc.key,), exc.message) from None
        scene = self.string(table, "scene", path)
        return Binding(MappingSpec(source, target, (float(lo_hi[0]), float(lo_hi[1])), transform),
                       scene, self.file, i, self.lines.get(path))

    def feedback(self, table: dict, i: int) -> Feedback:
        path: Path_ = ("feedback", i)
        self.keys(table, path, FEEDBACK_KEYS)
        state = self.string(table, "state", path, required=True)
        if state not in FEEDBACK_STATES:
            raise self.error(path + ("state",), f"unknown state '{state}'"
                             f"{did_you_mean(state, FEEDBACK_STATES)}; allowed: {', '.join(FEEDBACK_STATES)}")
        send = self.string(table, "send", path, required=True)
        m = _SEND_RE.fullmatch(send or "")
        if not m or not 1 <= int(m.group(2)) <= 16 or not 0 <= int(m.group(3)) <= 127:
            raise self.error(path + ("send",), f"expected note.<ch>.<n> or cc.<ch>.<n> with a "
                             f"channel 1-16 and a number 0-127, got '{send}'")
        entry = None
        if state == "scene.goto":
            entry = table.get("entry")
            if isinstance(entry, bool) or not isinstance(entry, int) or entry < 1:
                raise self.error(path + ("entry",), "scene.goto feedback needs entry = <set-list "
                                 "position, 1 or more>")
        elif "entry" in table:
            raise self.error(path + ("entry",), "'entry' is only for state = \"scene.goto\"")
        layer = None
        if state == "layers.enabled":
            layer = self.string(table, "layer", path, required=True)
        elif "layer" in table:
            raise self.error(path + ("layer",), "'layer' is only for state = \"layers.enabled\"")
        return Feedback(state=state, kind=m.group(1), channel=int(m.group(2)),  # type: ignore[arg-type]
                        number=int(m.group(3)), on=self.byte(table, "on", path, 127),  # type: ignore[arg-type]
                        off=self.byte(table, "off", path, 0),  # type: ignore[arg-type]
                        entry=entry, layer=layer)


def _fake_fx(target: str):
    """An fx list that lets a layers.<id>.fx.<fx>.<param> target pass the shape check."""
    from live.scene import FxSpec

    parts = target.split(".")
    return (FxSpec(parts[3], "x"),) if len(parts) == 5 and parts[2] == "fx" else ()


def parse_mapping_file(text: str, path: Path | str | None = None) -> MappingFile:
    """Parse and validate mapping-file text. Any thread. Raises MappingFileError."""
    from live.scene import parse_toml

    file = str(path) if path is not None else "<string>"
    data = parse_toml(text, file, _error_factory, "mapping file")
    return _Reader(file, text.lstrip("\ufeff"), data).read(Path(path) if path is not None else None)


def load_mapping_file(path: Path | str) -> MappingFile:
    """Read, parse and validate a mapping file. Any thread. Raises MappingFileError."""
    text, data = read_toml_file(path, _error_factory, MAX_MAPPING_BYTES, "mapping file")
    return _Reader(str(path), text.lstrip("\ufeff"), data).read(Path(path))


def bundled_mapping_dir() -> Path:
    """The repository's mappings/ folder (shipped controller profiles)."""
    return Path(__file__).resolve().parents[2] / "mappings"


def find_mapping_file(name_or_path: str, dirs: Iterable[Path] | None = None) -> Path:
    """A mapping file by path or by name ("apc40-mk2" finds mappings/apc40-mk2.toml).

    Raises MappingFileError with the close names when nothing matches. Any thread.
    """
    candidate = Path(name_or_path).expanduser()
    if candidate.is_file():
        return candidate
    search = list(dirs) if dirs is not None else [bundled_mapping_dir()]
    names = []
    for d in search:
        for p in sorted(Path(d).glob("*.toml")):
            if p.stem == name_or_path or p.name == name_or_path:
                return p
            names.append(p.stem)
    raise MappingFileError(name_or_path, None, f"no mapping file named '{name_or_path}'"
                           f"{did_you_mean(name_or_path, names)}; available: "
                           f"{', '.join(sorted(set(names))) or 'none'}")
