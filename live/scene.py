"""Scene files (schema 1): models, loading and validation with errors that point at the mistake.

A scene is a TOML file (see ARCHITECTURE.md "Scene files" and README)::

    schema = 1
    [scene]
    name = "tunnel-rush"
    [[layers]]
    id = "tunnel"
    kind = "shader"
    source = "warps/tunnel"
    [[mappings]]
    source = "audio.bass"
    target = "layers.tunnel.speed"

Loading is strict: unknown keys, wrong types, out-of-range or non-finite numbers, unknown blend
modes, layer kinds, sources and targets are all errors (a `SceneError`) that name the file, the
line where it is known, the key, what was wrong and what is allowed, with a "did you mean" hint.
Parameter *names* are not checked here (they come from shader headers); the engine checks them
when it builds layers and turns its errors into scene errors with `param_error`.

Decisions recorded here so the engine and the editor schema (scenes/schema.json) agree:

- A scene has at least one layer. Layers render in file order: the first is at the bottom.
- ``input`` (effect and feedback layers only) names a layer listed *earlier* in the file, i.e.
  one already rendered this frame; it cannot name the layer itself. Without ``input`` an effect
  reads the composite of the layers below it, so an effect cannot be the bottom layer unless it
  names an input.
- Parameter values are numbers, booleans, strings or arrays of 1 to 16 numbers (arrays become
  tuples of floats). Parameter names are GLSL identifiers; ``opacity``, ``blend``, ``enabled``
  and ``fx`` are reserved because they are layer targets of their own.
- A mapping range ``[lo, hi]`` with lo > hi inverts the mapping.
- A video or image layer's ``source`` is a file path, relative to the scene file's folder or
  absolute (`LayerSpec.source_path` holds it joined); its ``params`` are fixed names
  (`MEDIA_PARAMS`: rate, loop, start, fit) checked here, since media have no shader header.

Adding a table in a later schema (``[[tracks]]``, ``[[lfos]]``, ``[transition]``...): add its
name to `TOP_LEVEL_KEYS`, write a ``_read_<name>`` method on `_SceneReader`, call it from
``_SceneReader.scene`` and give `SceneSpec` a new field with a default.

Threads: everything here runs at load time on whichever thread loads the scene (the CLI, the
render thread between frames, or a loader thread); nothing here touches GL or keeps state.
"""

from __future__ import annotations

import contextlib
import difflib
import math
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from live.modulation.envelope import ENVELOPE_KEYS, EnvelopeSpec, parse_envelope
from live.modulation.keyframes import TRACK_KEYS, TrackSpec, parse_track
from live.modulation.lfo import LFO_KEYS, LfoSpec, implicit_lfo, parse_lfo
from live.modulation.sequence import SEQUENCE_KEYS, SequenceSpec, parse_sequence
from live.modulation.timeline import TimeSpecError, TransitionSpec, parse_transition
from live.modulation.transforms import (
    TRANSFORM_KEYS,
    TransformError,
    TransformSpec,
    parse_transform,
)
from live.values import describe_value, is_finite_number

BLEND_MODES = (
    "normal", "add", "screen", "multiply", "overlay", "difference", "lighten", "darken",
    "subtract", "soft_light",
)
LAYER_KINDS = ("shader", "effect", "feedback", "video", "image", "clip", "camera", "generated",
               "shadertoy")
#: Kinds the engine can render today; the others load, and the engine refuses them with a
#: "not available yet" error (`unavailable_kind_error`).
IMPLEMENTED_LAYER_KINDS = ("shader", "effect", "feedback", "video", "image", "shadertoy")
#: Kinds whose ``source`` names a Shadertoy (a folder or .json export in a shader folder); its
#: parameters (mouse_x, mouse_y, mouse_down) are checked by the layer when it is built.
SHADERTOY_KINDS = ("shadertoy",)
#: Kinds whose ``source`` names a shader (and is therefore required).
SHADER_SOURCE_KINDS = ("shader", "effect", "feedback")
#: Kinds whose ``source`` is a media file: a path relative to the scene file's folder, or absolute.
MEDIA_SOURCE_KINDS = ("video", "image")
#: How a picture fills its layer: cover (fills, crops the overflow), contain (whole picture,
#: transparent bars), stretch (fills, ignores the aspect ratio).
FIT_MODES = ("cover", "contain", "stretch")
#: Playback rates a video layer accepts (1 = normal speed).
VIDEO_RATE_RANGE = (0.25, 4.0)
#: The parameters each media kind accepts (checked at load; media layers have no shader header).
MEDIA_PARAMS = {
    "video": ("rate", "loop", "start", "fit"),
    "image": ("fit",),
}
#: Kinds that read another layer's output (``input``).
INPUT_KINDS = ("effect", "feedback")

#: Scene schema versions this version of Echoel Live reads.
SUPPORTED_SCHEMAS = (1,)
TOP_LEVEL_KEYS = ("schema", "scene", "layers", "mappings", "tracks", "lfos", "envelopes",
                  "sequences", "transition")
SCENE_KEYS = ("name", "description", "bpm", "beats_per_bar")
LAYER_KEYS = (
    "id", "kind", "source", "blend", "opacity", "enabled", "params", "fx", "scale", "input",
)
FX_KEYS = ("id", "shader", "params", "enabled")
#: A mapping's keys: source, target, output range, then the transform options
#: (live/modulation/transforms.py documents each and the order they apply in).
MAPPING_KEYS = ("source", "target", "range", *TRANSFORM_KEYS)

BPM_RANGE = (20.0, 400.0)
BEATS_PER_BAR_RANGE = (1, 16)
SCALE_RANGE = (0.1, 2.0)
MAX_SCENE_BYTES = 1 << 20  # a scene is a page of text; anything bigger is a mistake or an attack
MAX_PARAM_ARRAY = 16
#: Layer targets that are not shader parameters (so parameters cannot use these names).
RESERVED_PARAM_NAMES = ("opacity", "blend", "enabled", "fx")

#: Targets that are not layer parameters (ARCHITECTURE.md "Names").
GLOBAL_TARGETS = (
    "scene.next", "scene.prev", "scene.goto", "tempo.tap", "tempo.nudge", "tempo.bpm",
    "master.dimmer", "master.blackout", "master.freeze", "master.panic",
    "generator.prompt", "generator.style", "generator.morph",
)

_LEVELS = ("rms", "peak", "bass", "mid", "treb")
#: Source names that must match exactly (the prefixed families are checked by pattern).
EXACT_SOURCES = (
    *(f"audio.{n}" for n in _LEVELS),
    *(f"audio.{n}_att" for n in _LEVELS),
    *(f"audio.band.{i}" for i in range(16)),
    "audio.onset", "audio.onset.kick", "audio.onset.snare", "audio.onset.hats", "audio.beat",
    "beat.phase", "bar.phase", "bar.beat", "tempo.bpm", "tempo.confidence",
)
#: The prefixed source families, as shown to users in error messages.
SOURCE_FAMILIES = (
    "midi.cc.<ch>.<cc>", "midi.note.<ch>.<note>", "midi.bend.<ch>", "midi.program.<ch>",
    "midi.<port>.cc.<ch>.<cc>",
    "osc.<address>", "bio.<signal>[.<device>]", "lfo.<id>", "env.<id>", "seq.<id>",
    "camera.pose.<landmark>.<x|y|z>", "camera.hand.<left|right>.<feature>",
    "camera.face.<feature>", "camera.motion",
)
# 16 band names would drown an error message: show them as a range.
_SOURCES_FOR_PEOPLE = tuple(
    "audio.band.0 .. audio.band.15" if s == "audio.band.0" else s
    for s in EXACT_SOURCES if not s.startswith("audio.band.") or s == "audio.band.0")
BIO_SIGNALS = (
    "hr", "rr", "rmssd", "sdnn", "coherence", "breath.rate", "breath.phase", "pulse", "stale",
)
#: MediaPipe's 33 pose landmarks, the names camera.pose.<landmark> uses.
POSE_LANDMARKS = (
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye",
    "right_eye_outer", "left_ear", "right_ear", "mouth_left", "mouth_right", "left_shoulder",
    "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_pinky",
    "right_pinky", "left_index", "right_index", "left_thumb", "right_thumb", "left_hip",
    "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle", "left_heel",
    "right_heel", "left_foot_index", "right_foot_index",
)

ID_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")
IDENTIFIER_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
#: A shader name relative to a shader directory, e.g. "warps/tunnel" (no "..", no leading "/").
SHADER_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*(?:/[A-Za-z0-9_][A-Za-z0-9_.-]*)*$")
_NAME_SEGMENT_RE = re.compile(r"^[A-Za-z0-9_-]+$")
_BARE_KEY_RE = re.compile(r"[A-Za-z0-9_-]+")
_LOCATION_RE = re.compile(r"\s*\((?:at line (\d+), column (\d+)|at end of document)\)\s*$")

Path_ = tuple[str | int, ...]


# --------------------------------------------------------------------------------------------
# Errors


class SceneError(ValueError):
    """A scene file (or scene name) that cannot be used, with where and why.

    Attributes:
        file: the file as given (or "<string>", or the scene name that was not found).
        key: dotted path of the offending key, e.g. "layers[1].blend", or None for the file.
        line: 1-based line number when known.
        message: what is wrong and what is allowed, without the location.
        label: the key as shown to people, e.g. "layers[1] (id 'tunnel').blend".
    """

    def __init__(self, file: str, key: str | None, message: str, line: int | None = None,
                 label: str | None = None) -> None:
        self.file = file
        self.key = key
        self.line = line
        self.message = message
        self.label = label if label is not None else key
        where = f"{file}:{line}" if line else file
        text = f"{where}: {self.label}: {message}" if self.label else f"{where}: {message}"
        super().__init__(text)

    def __reduce__(self):  # keeps the attributes when the error crosses a process boundary
        return (type(self), (self.file, self.key, self.message, self.line, self.label))


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """Return " (did you mean 'x'?)" for the closest choice, or "" if none is close. Any thread."""
    choices = list(choices)
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    if not close:  # case slips ("Screen") score lower than they deserve
        lowered = {c.lower(): c for c in choices}
        close = [lowered[m] for m in difflib.get_close_matches(word.lower(), list(lowered), 1, 0.6)]
    return f" (did you mean '{close[0]}'?)" if close else ""


# --------------------------------------------------------------------------------------------
# TOML reading shared by scenes, the config file and mapping files


ErrorFactory = Callable[..., Exception]
"""Builds the exception to raise: ``make_error(file, message, line, key=None)``."""


def read_toml_file(path: Path | str, make_error: ErrorFactory,
                   max_bytes: int = MAX_SCENE_BYTES, what: str = "file") -> tuple[str, dict]:
    """Read and parse a UTF-8 TOML file, turning every way it can fail into one clear error.

    Args:
        path: the file.
        make_error: builds the exception to raise from (file, message, line, key=None).
        max_bytes: larger files are refused before reading.
        what: what the file is, for messages ("scene file", "config file").

    Returns:
        (text, data): the decoded text (for locating keys later) and the parsed table.

    Any thread; reads the file once.
    """
    file = str(path)
    p = Path(path)
    problem = None
    try:
        if p.is_dir():
            problem = f"is a directory, not a {what}"
        elif (size := p.stat().st_size) > max_bytes:
            problem = f"is {size} bytes; a {what} is at most {max_bytes} bytes"
        else:
            raw = p.read_bytes()
    except FileNotFoundError:
        problem = f"no such {what}"
    except PermissionError:
        problem = f"cannot read the {what}: permission denied"
    except OSError as exc:
        problem = f"cannot read the {what}: {exc.strerror or exc}"
    except ValueError:  # e.g. a NUL byte inside the path itself
        problem = f"is not a valid path for a {what}"
    if problem is not None:
        raise make_error(file, problem, None)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise make_error(
            file, f"is not UTF-8 text: byte 0x{raw[exc.start]:02x} at line {line}, column "
            f"{column}; save the {what} as UTF-8", line) from None
    return text, parse_toml(text, file, make_error, what)


def parse_toml(text: str, file: str, make_error: ErrorFactory, what: str = "file") -> dict:
    """Parse TOML text, reporting NUL bytes, syntax errors and duplicate keys with their line.

    Any thread. `make_error(file, message, line, key=None)` builds the exception raised.
    """
    if text.startswith("\ufeff"):  # editors on Windows write a byte-order mark; TOML forbids it
        text = text[1:]
    nul = text.find("\x00")
    if nul >= 0:
        line = text.count("\n", 0, nul) + 1
        raise make_error(file, f"contains a NUL byte at line {line}; a {what} is plain UTF-8 "
                         "text (is this a binary file?)", line)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        found = _LOCATION_RE.search(message)
        line = int(found.group(1)) if found and found.group(1) else None
        reason = message[: found.start()] if found else message
        if reason.startswith(("Cannot overwrite", "Cannot declare", "Cannot mutate")):
            # tomllib reports where parsing stopped, often "end of document": find the key.
            duplicate = _find_duplicate_key(text)
            if duplicate is not None:
                key, first, again = duplicate
                raise make_error(file, f"'{key}' is defined twice: at line {first} and again at "
                                 f"line {again}; each key and table may appear once", again,
                                 key=key) from None
            raise make_error(file, f"TOML error: a key or table is defined twice ({reason})",
                             line) from None
        if line is None:
            line = text.count("\n") + 1
        hint = ""
        if "Illegal character '\\n'" in reason or "Unterminated string" in reason:
            hint = " (a string is not closed on this line?)"
        raise make_error(file, f"TOML syntax error at line {line}: {reason}{hint}", line) from None
    except RecursionError:
        raise make_error(file, "TOML nesting is too deep to read", None) from None


# --------------------------------------------------------------------------------------------
# Key positions: tomllib gives no positions, so a small scanner of the (already valid) text
# records the line of every header and key. It is best-effort: inline-table keys map to the
# line of the key that holds the inline table.


class _KeyScanner:
    """Walk TOML text once, recording the line of each key path and the first duplicate."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.i = 0
        self.line = 1
        self.lines: dict[Path_, int] = {}
        self.duplicate: tuple[str, int, int] | None = None
        self._arrays: dict[Path_, int] = {}  # array-of-tables path -> number of elements
        self._defined: dict[Path_, int] = {}  # explicit tables and key/values -> line
        self._values: set[Path_] = set()  # paths that hold a value (not a table header)

    def run(self) -> _KeyScanner:
        current: Path_ = ()
        text, n = self.text, len(self.text)
        while self.i < n:
            c = text[self.i]
            if c == "\n":
                self.line += 1
                self.i += 1
            elif c in " \t\r":
                self.i += 1
            elif c == "#":
                self._skip_comment()
            elif c == "[":
                current = self._header()
            else:
                self._key_value(current)
        return self

    def _skip_comment(self) -> None:
        end = self.text.find("\n", self.i)
        self.i = len(self.text) if end < 0 else end

    def _skip_ws(self) -> None:
        while self.i < len(self.text) and self.text[self.i] in " \t":
            self.i += 1

    def _key(self) -> list[str]:
        parts: list[str] = []
        text = self.text
        while True:
            self._skip_ws()
            c = text[self.i] if self.i < len(text) else ""
            if c in "\"'":
                end = self.i + 1
                while end < len(text) and text[end] != c:
                    end += 2 if (c == '"' and text[end] == "\\") else 1
                parts.append(text[self.i + 1:end])
                self.i = end + 1
            else:
                m = _BARE_KEY_RE.match(text, self.i)
                if not m:
                    raise ValueError("not a key")
                parts.append(m.group(0))
                self.i = m.end()
            self._skip_ws()
            if self.i < len(text) and text[self.i] == ".":
                self.i += 1
                continue
            return parts

    def _resolve(self, parts: Sequence[str]) -> Path_:
        """Map header key parts to a path, indexing into arrays of tables on the way."""
        path: Path_ = ()
        for part in parts:
            path = path + (part,)
            if path in self._arrays:
                path = path + (self._arrays[path] - 1,)
        return path

    def _define(self, path: Path_, line: int) -> None:
        """Record an explicit table or a key; note it if TOML would reject it as a redefinition."""
        if self.duplicate is None:
            # Defining the same path twice, or anything inside a key's value (a = {..}; a.b = 1).
            clash = path if path in self._defined else next(
                (path[:k] for k in range(1, len(path)) if path[:k] in self._values), None)
            if clash is not None:
                self.duplicate = (_key_text(clash), self._defined[clash], line)
        self._defined.setdefault(path, line)
        self.lines.setdefault(path, line)

    def _header(self) -> Path_:
        line = self.line
        double = self.text.startswith("[[", self.i)
        self.i += 2 if double else 1
        parts = self._key()
        self.i += 2 if double else 1
        if double:
            parent = self._resolve(parts[:-1]) + (parts[-1],)
            if parent in self._values and self.duplicate is None:  # [[a]] after a = [...]
                self.duplicate = (_key_text(parent), self._defined[parent], line)
            index = self._arrays.get(parent, 0)
            self._arrays[parent] = index + 1
            self.lines.setdefault(parent, line)
            path = parent + (index,)
            self.lines[path] = line
            self._defined[path] = line
            return path
        path = self._resolve(parts)
        self._define(path, line)
        return path

    def _key_value(self, current: Path_) -> None:
        line = self.line
        parts = self._key()
        path = current + tuple(parts)
        for k in range(len(current) + 1, len(path)):
            self.lines.setdefault(path[:k], line)
        self._define(path, line)
        self._values.add(path)
        self.i += 1  # the "="
        self._value()

    def _value(self) -> None:
        """Skip one value, which may span lines (arrays, inline tables, multi-line strings)."""
        text, n, depth = self.text, len(self.text), 0
        while self.i < n:
            c = text[self.i]
            if text.startswith('"""', self.i) or text.startswith("'''", self.i):
                quote = text[self.i:self.i + 3]
                end = self.i + 3
                while end < n and not text.startswith(quote, end):
                    end += 2 if (quote == '"""' and text[end] == "\\") else 1
                while text.startswith(quote[0], end + 3):  # up to two quotes may close early
                    end += 1
                self.line += text.count("\n", self.i, end)
                self.i = end + 3
            elif c in "\"'":
                end = self.i + 1
                while end < n and text[end] != c:
                    end += 2 if (c == '"' and text[end] == "\\") else 1
                self.i = end + 1
            elif c == "#":
                self._skip_comment()
            elif c in "[{":
                depth += 1
                self.i += 1
            elif c in "]}":
                depth -= 1
                self.i += 1
            elif c == "\n":
                if depth <= 0:
                    return
                self.line += 1
                self.i += 1
            else:
                self.i += 1


def _array_item_line(text: str, line: int | None, index: int) -> int | None:
    """The line of element `index` of the array whose key is on `line` (1-based), e.g. the
    third inline table of ``keys = [ ... ]`` written one per line. None when unknown."""
    if line is None:
        return None
    lines = text.split("\n")
    pos = sum(len(x) + 1 for x in lines[:line - 1])
    pos = text.find("=", pos)
    depth, count, quote, n = 0, 0, "", len(text)
    while 0 <= pos < n:
        c = text[pos]
        if quote:
            if c == "\\" and quote == '"':
                pos += 1
            elif c == quote:
                quote = ""
        elif c in "\"'":
            quote = c
        elif c == "#":
            pos = text.find("\n", pos) - 1
            if pos < 0:
                return None
        elif c in "[{":
            depth += 1
            if depth == 2:
                if count == index:
                    return text.count("\n", 0, pos) + 1
                count += 1
        elif c in "]}":
            depth -= 1
            if depth <= 0:
                return None
        elif depth == 1 and c not in " \t\r\n,":
            if count == index:  # a scalar element
                return text.count("\n", 0, pos) + 1
            count += 1
            while pos + 1 < n and text[pos + 1] not in ",]\n":
                pos += 1
        pos += 1
    return None


def key_lines(text: str) -> dict[Path_, int]:
    """Line of each key path in TOML text, e.g. ("layers", 1, "blend") -> 14.

    Best-effort (an empty dict if the text cannot be scanned). Any thread.
    """
    try:
        return _KeyScanner(text).run().lines
    except (ValueError, IndexError):
        return {}


def _find_duplicate_key(text: str) -> tuple[str, int, int] | None:
    """(key, first line, second line) of the first key defined twice, or None if not found."""
    scanner = _KeyScanner(text)
    with contextlib.suppress(ValueError, IndexError):  # invalid TOML may stop the scan early
        scanner.run()
    return scanner.duplicate


# --------------------------------------------------------------------------------------------
# Models


@dataclass(frozen=True)
class FxSpec:
    """One effect in a layer's fx chain: a shader applied to the layer's output."""

    id: str
    shader: str
    params: dict = field(default_factory=dict)
    enabled: bool = True


@dataclass(frozen=True)
class LayerSpec:
    """One layer as the scene file declares it (validated, not yet built)."""

    id: str
    kind: str
    source: str | None
    blend: str = "normal"
    opacity: float = 1.0
    enabled: bool = True
    params: dict = field(default_factory=dict)
    fx: tuple[FxSpec, ...] = ()
    scale: float = 1.0  # render scale relative to the output size (0.1..2)
    input: str | None = None  # effect/feedback: layer to read; None = composite of layers below
    #: video/image: `source` joined to the scene file's folder (as written when absolute).
    source_path: Path | None = None

    def fx_by_id(self, fx_id: str) -> FxSpec:
        """The fx with this id; KeyError if there is none."""
        for fx in self.fx:
            if fx.id == fx_id:
                return fx
        raise KeyError(fx_id)


@dataclass(frozen=True)
class MappingSpec:
    """A scene mapping: a source signal drives a target through `transform` (input range,
    curve, smoothing, buttons, ...), scaled into `range` (lo > hi inverts)."""

    source: str
    target: str
    range: tuple[float, float] = (0.0, 1.0)
    transform: TransformSpec = field(default_factory=TransformSpec)


@dataclass(frozen=True)
class SceneSpec:
    """A validated scene file. Immutable; the engine builds GL objects from it."""

    path: Path | None
    name: str
    description: str
    bpm: float
    beats_per_bar: int
    layers: tuple[LayerSpec, ...]
    mappings: tuple[MappingSpec, ...] = ()
    #: Musical time (live.modulation): keyframe tracks, LFOs (those the file defines, then the
    #: ``lfo.<shape>.<rate>`` ones its mappings name), envelopes, step sequences, and how a
    #: switch to this scene looks (None: the show's default).
    tracks: tuple[TrackSpec, ...] = ()
    lfos: tuple[LfoSpec, ...] = ()
    envelopes: tuple[EnvelopeSpec, ...] = ()
    sequences: tuple[SequenceSpec, ...] = ()
    transition: TransitionSpec | None = None
    #: Line of each key path in the source file, for `param_error`; empty if unknown.
    key_lines: Mapping[Path_, int] = field(default_factory=dict, compare=False, repr=False)

    def layer(self, layer_id: str) -> LayerSpec:
        """The layer with this id; KeyError if there is none."""
        for layer in self.layers:
            if layer.id == layer_id:
                return layer
        raise KeyError(layer_id)

    @property
    def file_label(self) -> str:
        """How errors name this scene's file."""
        return str(self.path) if self.path is not None else "<string>"


# --------------------------------------------------------------------------------------------
# Source and target names


def source_name_problem(name: str) -> str | None:
    """Why `name` is not a valid signal source (ARCHITECTURE.md "Names"), or None if it is.

    Exact names (audio.*, beat.phase, ...) must match; the prefixed families (midi.*, osc.*,
    bio.*, lfo.*, env.*, seq.*, camera.*) are checked for shape and ranges. Any thread.
    """
    if name in EXACT_SOURCES:
        return None
    head, _, rest = name.partition(".")
    families = {
        "midi": _midi_problem, "osc": _osc_problem, "bio": _bio_problem,
        "lfo": _modulator_problem, "env": _modulator_problem, "seq": _modulator_problem,
        "camera": _camera_problem,
    }
    if head in families:
        problem = families[head](rest)
        return None if problem is None else f"source '{name}': {problem}"
    hint = did_you_mean(name, EXACT_SOURCES)
    if not hint and head not in ("audio", "beat", "bar", "tempo"):
        heads = [*families, "audio", "beat", "bar", "tempo"]
        close = difflib.get_close_matches(head, heads, 1, 0.6)
        if close:  # a slip in the prefix: "mid.cc.1.7" -> "midi.cc.1.7"
            hint = f" (did you mean '{close[0]}.{rest}'?)"
    return (f"unknown source '{name}'{hint}; allowed: {', '.join(_SOURCES_FOR_PEOPLE)}, "
            f"or one of the families {', '.join(SOURCE_FAMILIES)}")


def media_param_problem(name: str, value: Any) -> str | None:
    """Why `value` is not allowed for media-layer parameter `name`, or None. Any thread.

    Parameters: ``rate`` (playback speed, a number from 0.25 to 4), ``loop`` (true/false),
    ``start`` (seconds into the file where playback starts and loops back to, >= 0) and
    ``fit`` (one of FIT_MODES).
    """
    if name == "rate":
        lo, hi = VIDEO_RATE_RANGE
        if not is_finite_number(value) or not lo <= value <= hi:
            return f"expected a playback rate from {lo:g} to {hi:g} (1 = normal speed), got " \
                   f"{describe_value(value)}"
    elif name == "loop":
        if not isinstance(value, bool):
            return f"expected true or false, got {describe_value(value)}"
    elif name == "start":
        if not is_finite_number(value) or value < 0:
            return f"expected seconds from the start of the file (a number >= 0), got " \
                   f"{describe_value(value)}"
    elif name == "fit" and value not in FIT_MODES:
        shown = repr(value) if isinstance(value, str) else describe_value(value)
        hint = did_you_mean(value, FIT_MODES) if isinstance(value, str) else ""
        return f"unknown fit mode {shown}{hint}; allowed: {', '.join(FIT_MODES)}"
    return None


def _int_in(text: str, lo: int, hi: int) -> bool:
    # Plain ASCII digits without leading zeros: the MIDI input publishes "midi.cc.1.7", so
    # "midi.cc.01.07" would name a signal that never arrives.
    return re.fullmatch(r"0|[1-9][0-9]*", text) is not None and lo <= int(text) <= hi


def _midi_problem(rest: str) -> str | None:
    parts = rest.split(".")
    wanted = {"cc": 3, "note": 3, "bend": 2, "program": 2}
    if parts and parts[0] not in wanted:
        if not _NAME_SEGMENT_RE.fullmatch(parts[0]):
            return ("expected midi.cc.<ch>.<cc>, midi.note.<ch>.<note>, midi.bend.<ch> or "
                    "midi.program.<ch>")
        parts = parts[1:]  # a port alias, e.g. midi.apc40.cc.1.48
    kind = parts[0] if parts else ""
    if kind not in wanted or len(parts) != wanted[kind]:
        return ("expected midi.cc.<ch>.<cc>, midi.note.<ch>.<note>, midi.bend.<ch> or "
                "midi.program.<ch> (optionally midi.<port>.cc.<ch>.<cc>)")
    if not _int_in(parts[1], 1, 16):
        return f"MIDI channel must be 1 to 16, got '{parts[1]}'"
    if kind in ("cc", "note") and not _int_in(parts[2], 0, 127):
        what = "controller" if kind == "cc" else "note"
        return f"MIDI {what} must be 0 to 127, got '{parts[2]}'"
    return None


def _osc_problem(rest: str) -> str | None:
    bad = any(c.isspace() or c in "#*,?[]{}" or not c.isprintable() for c in rest)
    if not rest.startswith("/") or len(rest) < 2 or bad:
        return ("expected osc.<address> with an OSC address like '/1/fader1' "
                "(no spaces or wildcards)")
    return None


def _bio_problem(rest: str) -> str | None:
    for signal in sorted(BIO_SIGNALS, key=len, reverse=True):
        if rest == signal:
            return None
        if not rest.startswith(signal + "."):
            continue
        tail = rest[len(signal) + 1:].split(".")
        if len(tail) == 1 and _NAME_SEGMENT_RE.fullmatch(tail[0]):
            return None  # bio.<signal>.<device_id> (or .app / .calc of the primary device)
        if len(tail) == 2 and tail[0] in ("app", "calc") and _NAME_SEGMENT_RE.fullmatch(tail[1]):
            return None  # bio.<signal>.<app|calc>.<device_id>: what the app sent / what we computed
    return (f"unknown bio signal '{rest}'{did_you_mean(rest, BIO_SIGNALS)}; allowed: "
            f"{', '.join(BIO_SIGNALS)} (optionally followed by .<device_id>, .app, .calc, "
            ".app.<device_id> or .calc.<device_id>)")


def _modulator_problem(rest: str) -> str | None:
    if rest and all(_NAME_SEGMENT_RE.fullmatch(p) for p in rest.split(".")):
        return None
    return "expected an id after the prefix, made of letters, digits, '_' and '-' (e.g. lfo.wobble)"


def _camera_problem(rest: str) -> str | None:
    parts = rest.split(".")
    if parts == ["motion"]:
        return None
    if parts[0] == "pose":
        if len(parts) != 3 or parts[2] not in ("x", "y", "z"):
            return "expected camera.pose.<landmark>.<x|y|z>"
        if parts[1] not in POSE_LANDMARKS:
            return (f"unknown pose landmark '{parts[1]}'{did_you_mean(parts[1], POSE_LANDMARKS)}; "
                    f"allowed: {', '.join(POSE_LANDMARKS)}")
        return None
    if parts[0] == "hand":
        if len(parts) == 3 and parts[1] in ("left", "right") and IDENTIFIER_RE.fullmatch(parts[2]):
            return None
        return "expected camera.hand.<left|right>.<feature>"
    if parts[0] == "face":
        if len(parts) == 2 and IDENTIFIER_RE.fullmatch(parts[1]):
            return None
        return "expected camera.face.<feature>"
    return ("expected camera.pose.<landmark>.<x|y|z>, camera.hand.<left|right>.<feature>, "
            "camera.face.<feature> or camera.motion")


def target_name_problem(target: str, layers: Sequence[LayerSpec]) -> str | None:
    """Why `target` is not a valid mapping target for these layers, or None if it is.

    Targets are `GLOBAL_TARGETS`, ``layers.<id>.<param>`` and ``layers.<id>.fx.<fx_id>.<param>``
    with existing ids. Parameter names are only checked for shape. Any thread.
    """
    if target in GLOBAL_TARGETS:
        return None
    allowed = (f"allowed: layers.<id>.<param>, layers.<id>.fx.<fx_id>.<param>, "
               f"{', '.join(GLOBAL_TARGETS)}")
    parts = target.split(".")
    if parts[0] != "layers":
        hint = did_you_mean(target, GLOBAL_TARGETS)
        if not hint and parts[0] in ("layer", "layrs", "lyers", "Layers"):
            hint = f" (did you mean 'layers.{'.'.join(parts[1:])}'?)"
        return f"unknown target '{target}'{hint}; {allowed}"
    ids = [layer.id for layer in layers]
    if len(parts) < 3:
        return f"target '{target}' is incomplete: expected layers.<id>.<param>"
    layer = next((layer for layer in layers if layer.id == parts[1]), None)
    if layer is None:
        return (f"target '{target}' names no layer '{parts[1]}'{did_you_mean(parts[1], ids)}; "
                f"layers in this scene: {', '.join(ids)}")
    if parts[2] == "fx":
        fx_ids = [fx.id for fx in layer.fx]
        if len(parts) != 5:
            return f"target '{target}': expected layers.{layer.id}.fx.<fx_id>.<param>"
        if parts[3] not in fx_ids:
            listed = ", ".join(fx_ids) if fx_ids else "none"
            return (f"target '{target}': layer '{layer.id}' has no fx '{parts[3]}'"
                    f"{did_you_mean(parts[3], fx_ids)}; its fx: {listed}")
        param = parts[4]
    elif len(parts) != 3:
        return (f"target '{target}': expected layers.{layer.id}.<param> or "
                f"layers.{layer.id}.fx.<fx_id>.<param>")
    else:
        param = parts[2]
    if not IDENTIFIER_RE.fullmatch(param):
        return f"target '{target}': '{param}' is not a parameter name (letters, digits and '_')"
    return None


# --------------------------------------------------------------------------------------------
# Validation


def _key_text(path: Path_) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


class _SceneReader:
    """Checks parsed scene data and builds the models; raises the first SceneError found."""

    def __init__(self, file: str, text: str, data: dict, path: Path | None) -> None:
        self.file = file
        self.text = text
        self.data = data
        self.path = path
        self._lines: dict[Path_, int] | None = None
        self._ids: dict[Path_, str] = {}  # element path -> its id, for readable labels

    # -- errors ---------------------------------------------------------------------------

    @property
    def lines(self) -> dict[Path_, int]:
        if self._lines is None:
            self._lines = key_lines(self.text)
        return self._lines

    def error(self, path: Path_, message: str) -> SceneError:
        return make_scene_error(self.file, path, message, self.lines, self._ids)

    # -- typed field readers --------------------------------------------------------------

    def check_keys(self, table: dict, path: Path_, allowed: Sequence[str]) -> None:
        for key in table:
            if key not in allowed:
                where = f"in {_key_text(path)}" if path else "at the top level"
                raise self.error(path + (key,), f"unknown key '{key}' {where}"
                                 f"{did_you_mean(key, allowed)}; allowed: {', '.join(allowed)}")

    def table(self, value: Any, path: Path_, what: str) -> dict:
        if not isinstance(value, dict):
            raise self.error(path, f"expected {what}, got {describe_value(value)}")
        return value

    def string(self, table: dict, key: str, path: Path_, *, required: bool = False,
               default: str | None = None, nonempty: bool = False) -> str | None:
        if key not in table:
            if required:
                raise self.error(path + (key,), f"missing required key '{key}' (a string)")
            return default
        value = table[key]
        if not isinstance(value, str):
            raise self.error(path + (key,), f"expected a string, got {describe_value(value)}")
        if nonempty and not value.strip():
            raise self.error(path + (key,), "must not be empty")
        return value

    def number(self, table: dict, key: str, path: Path_, lo: float, hi: float,
               default: float) -> float:
        if key not in table:
            return default
        value = table[key]
        if not is_finite_number(value) or not lo <= value <= hi:
            got = describe_value(value)
            if isinstance(value, float) and not math.isfinite(value):
                got = f"{value!r} (not a finite number)"
            raise self.error(path + (key,), f"expected a number from {lo:g} to {hi:g}, got {got}")
        return float(value)

    def integer(self, table: dict, key: str, path: Path_, lo: int, hi: int, default: int) -> int:
        if key not in table:
            return default
        value = table[key]
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise self.error(path + (key,), f"expected an integer from {lo} to {hi}, "
                             f"got {describe_value(value)}")
        return value

    def boolean(self, table: dict, key: str, path: Path_, default: bool) -> bool:
        if key not in table:
            return default
        value = table[key]
        if not isinstance(value, bool):
            raise self.error(path + (key,), f"expected true or false, got {describe_value(value)}")
        return value

    def choice(self, table: dict, key: str, path: Path_, choices: Sequence[str], what: str,
               default: str | None = None) -> str:
        value = self.string(table, key, path, required=default is None, default=default)
        if value not in choices:
            raise self.error(path + (key,), f"unknown {what} '{value}'"
                             f"{did_you_mean(value, choices)}; allowed: {', '.join(choices)}")
        return value

    def array_of_tables(self, data: dict, key: str, path: Path_, header: str) -> list[dict]:
        if key not in data:
            return []
        value = data[key]
        if isinstance(value, dict):
            raise self.error(path + (key,), f"expected an array of tables, got a single table; "
                             f"write [[{header}]] with double brackets")
        if not isinstance(value, list):
            raise self.error(path + (key,), f"expected an array of tables ([[{header}]]), "
                             f"got {describe_value(value)}")
        for i, item in enumerate(value):
            self.table(item, path + (key, i), f"a table ([[{header}]])")
        return value

    def params(self, table: dict, path: Path_) -> dict:
        if "params" not in table:
            return {}
        ppath = path + ("params",)
        raw = self.table(table["params"], ppath, "a table of parameter values "
                         "(params = { speed = 0.4 })")
        out: dict[str, Any] = {}
        for name, value in raw.items():
            vpath = ppath + (name,)
            if not IDENTIFIER_RE.fullmatch(name):
                raise self.error(vpath, f"'{name}' is not a parameter name: shader parameters "
                                 "are letters, digits and '_', not starting with a digit")
            if name in RESERVED_PARAM_NAMES:
                raise self.error(vpath, f"'{name}' is reserved: set the layer's own '{name}' "
                                 "key (or map to it) instead of a shader parameter")
            out[name] = self.param_value(value, vpath)
        return out

    def param_value(self, value: Any, path: Path_) -> Any:
        allowed = "allowed: a number, true/false, a string, or an array of 1 to 16 numbers"
        if isinstance(value, (bool, str)):
            return value
        if isinstance(value, (int, float)):
            if not is_finite_number(value):
                raise self.error(path, f"expected a finite number, got {describe_value(value)}")
            return value
        if isinstance(value, list):
            if not 1 <= len(value) <= MAX_PARAM_ARRAY:
                raise self.error(path, f"an array of {len(value)} values; {allowed}")
            for i, item in enumerate(value):
                if not is_finite_number(item):
                    raise self.error(path + (i,), f"expected a finite number, got "
                                     f"{describe_value(item)}; {allowed}")
            return tuple(float(v) for v in value)
        raise self.error(path, f"unsupported value {describe_value(value)}; {allowed}")

    def remember_id(self, table: dict, path: Path_) -> None:
        """Label errors in this element with its id as soon as the id looks usable."""
        ident = table.get("id")
        if isinstance(ident, str) and ID_RE.fullmatch(ident):
            self._ids[path] = ident

    def element_id(self, table: dict, path: Path_, seen: dict[str, int], what: str) -> str:
        ident = self.string(table, "id", path, required=True)
        if not ID_RE.fullmatch(ident):
            raise self.error(path + ("id",), f"invalid {what} id '{ident}': use a letter, then "
                             "letters, digits, '_' or '-'")
        if ident in seen:
            raise self.error(path + ("id",), f"duplicate {what} id '{ident}' (also used by "
                             f"{_key_text(path[:-1])}[{seen[ident]}]); ids must be unique")
        seen[ident] = path[-1]  # type: ignore[assignment]
        self._ids[path] = ident
        return ident

    def shader_name(self, table: dict, key: str, path: Path_, required: bool) -> str | None:
        value = self.string(table, key, path, required=required)
        if value is not None and not SHADER_NAME_RE.fullmatch(value):
            raise self.error(path + (key,), f"invalid shader name '{value}': expected a name "
                             "relative to a shader folder, like 'warps/tunnel' (letters, digits, "
                             "'_', '-', '.', separated by '/', no '..')")
        return value

    # -- tables ---------------------------------------------------------------------------

    def scene(self) -> SceneSpec:
        data = self.data
        if not data:
            raise self.error((), "the file is empty; a scene needs 'schema = 1', a [scene] "
                             "table with a name, and at least one [[layers]]")
        self.check_keys(data, (), TOP_LEVEL_KEYS)
        self.schema()
        name, description, bpm, beats_per_bar = self.scene_table()
        layers = self.layers()
        mappings = self.mappings(layers)
        time = self.time_tables(layers, mappings, beats_per_bar)
        return SceneSpec(path=self.path, name=name, description=description, bpm=bpm,
                         beats_per_bar=beats_per_bar, layers=layers, mappings=mappings,
                         key_lines=self.lines, **time)

    def time_tables(self, layers: tuple[LayerSpec, ...], mappings: tuple[MappingSpec, ...],
                    beats_per_bar: int) -> dict[str, Any]:
        """[[tracks]], [[lfos]], [[sequences]], [[envelopes]] and [transition] (live.modulation),
        and the modulator sources (lfo.*, env.*, seq.*) that mappings and envelopes name."""
        lfos = list(self.time_array("lfos", LFO_KEYS, "LFO", parse_lfo))
        sequences = self.time_array("sequences", SEQUENCE_KEYS, "sequence", parse_sequence)
        envelopes = self.time_array("envelopes", ENVELOPE_KEYS, "envelope", parse_envelope)
        ids = {"lfo": [s.id for s in lfos], "seq": [s.id for s in sequences], "env": []}
        for i, env in enumerate(envelopes):
            self.modulator_source(env.trigger, ("envelopes", i, "trigger"), ids, lfos)
            ids["env"].append(env.id)  # an envelope may be fired by one listed before it
        for i, m in enumerate(mappings):
            self.modulator_source(m.source, ("mappings", i, "source"), ids, lfos)
        tracks = self.time_array("tracks", TRACK_KEYS, "track",
                                 lambda table: parse_track(table, beats_per_bar))
        driven: dict[str, int] = {}
        for i, track in enumerate(tracks):
            path: Path_ = ("tracks", i, "target")
            problem = target_name_problem(track.target, layers)
            if problem:
                raise self.error(path, problem)
            if track.target in driven:
                raise self.error(path, f"'{track.target}' is already driven by "
                                 f"tracks[{driven[track.target]}]; one track per target (put "
                                 "both sets of keys in one track)")
            driven[track.target] = i
        transition = None
        if "transition" in self.data:
            table = self.table(self.data["transition"], ("transition",),
                               "a table ([transition])")
            try:
                transition = parse_transition(table)
            except TimeSpecError as exc:
                raise self.error(("transition", *exc.path), exc.message) from None
            if transition.shader is not None and not SHADER_NAME_RE.fullmatch(transition.shader):
                raise self.error(("transition", "shader"), f"invalid shader name "
                                 f"'{transition.shader}': expected a name relative to a shader "
                                 "folder, like 'transitions/wipe'")
        return {"tracks": tracks, "lfos": tuple(lfos), "sequences": sequences,
                "envelopes": envelopes, "transition": transition}

    def time_array(self, key: str, allowed: Sequence[str], what: str,
                   parse: Callable[[dict], Any]) -> tuple:
        """Read an array of time tables: keys, a unique id, then `parse` (TimeSpecError)."""
        out = []
        seen: dict[str, int] = {}
        for i, table in enumerate(self.array_of_tables(self.data, key, (), key)):
            path: Path_ = (key, i)
            self.remember_id(table, path)
            self.check_keys(table, path, allowed)
            self.element_id(table, path, seen, what)
            if "target" in allowed:
                self.string(table, "target", path, required=True)
            try:
                out.append(parse(table))
            except TimeSpecError as exc:
                where = path + exc.path
                if len(exc.path) >= 2 and isinstance(exc.path[1], int):
                    # An element of an inline array (a track's keys): find its own line.
                    line = _array_item_line(self.text, self.lines.get(path + exc.path[:1]),
                                            exc.path[1])
                    if line is not None:
                        self.lines.setdefault(where[:len(path) + 2], line)
                raise self.error(where, exc.message) from None
        return tuple(out)

    def modulator_source(self, source: str, path: Path_, ids: dict[str, list[str]],
                         lfos: list[LfoSpec]) -> None:
        """Check that lfo.<id>, env.<id> and seq.<id> sources exist in this scene; an
        lfo.<shape>.<rate> that no table defines becomes an LFO of its own (added to `lfos`)."""
        problem = source_name_problem(source)
        if problem:
            raise self.error(path, problem)
        head, _, ident = source.partition(".")
        if head not in ids or ident in ids[head]:
            return
        if head == "lfo":
            implicit = implicit_lfo(source)
            if implicit is not None:
                lfos.append(implicit)
                ids["lfo"].append(implicit.id)
                return
        what = {"lfo": "[[lfos]]", "env": "[[envelopes]]", "seq": "[[sequences]]"}[head]
        defined = ids[head]
        listed = ", ".join(defined) if defined else "none"
        extra = (" (an envelope can only be fired by one listed before it)"
                 if head == "env" and path[0] == "envelopes" else "")
        implicit_hint = ("; or name an LFO by shape and rate, e.g. lfo.sine.1bar"
                         if head == "lfo" else "")
        raise self.error(path, f"no {what} table with id '{ident}' in this scene"
                         f"{did_you_mean(ident, defined)}{extra}; defined: {listed}{implicit_hint}")

    def schema(self) -> None:
        supported = ", ".join(str(s) for s in SUPPORTED_SCHEMAS)
        if "schema" not in self.data:
            raise self.error((), f"missing 'schema = 1' at the top of the file; this version "
                             f"reads scene schema {supported}")
        value = self.data["schema"]
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(("schema",), f"expected an integer, got {describe_value(value)}; "
                             f"this version reads scene schema {supported}")
        if value not in SUPPORTED_SCHEMAS:
            raise self.error(("schema",), f"scene schema {value} is not supported; this version "
                             f"of Echoel Live reads scene schema {supported}")

    def scene_table(self) -> tuple[str, str, float, int]:
        if "scene" not in self.data:
            raise self.error((), "missing [scene] table (with at least name = \"...\")")
        path: Path_ = ("scene",)
        table = self.table(self.data["scene"], path, "a table ([scene])")
        self.check_keys(table, path, SCENE_KEYS)
        name = self.string(table, "name", path, required=True, nonempty=True)
        if name != name.strip() or any(ord(c) < 32 or ord(c) == 127 for c in name):
            raise self.error(path + ("name",), "must not start or end with spaces or contain "
                             "control characters")
        description = self.string(table, "description", path, default="")
        bpm = self.number(table, "bpm", path, *BPM_RANGE, default=120.0)
        beats = self.integer(table, "beats_per_bar", path, *BEATS_PER_BAR_RANGE, default=4)
        return name, description, bpm, beats  # type: ignore[return-value]

    def layers(self) -> tuple[LayerSpec, ...]:
        tables = self.array_of_tables(self.data, "layers", (), "layers")
        if not tables:
            raise self.error(("layers",), "a scene needs at least one layer: add a [[layers]] "
                             "table with id, kind and source")
        seen: dict[str, int] = {}
        layers: list[LayerSpec] = []
        for i, table in enumerate(tables):
            layers.append(self.layer(table, ("layers", i), seen, layers))
        return tuple(layers)

    def layer(self, table: dict, path: Path_, seen: dict[str, int],
              below: list[LayerSpec]) -> LayerSpec:
        self.remember_id(table, path)
        self.check_keys(table, path, LAYER_KEYS)
        ident = self.element_id(table, path, seen, "layer")
        kind = self.choice(table, "kind", path, LAYER_KINDS, "layer kind")
        needs_shader = kind in SHADER_SOURCE_KINDS
        source_path = None
        if needs_shader or kind in SHADERTOY_KINDS:
            source = self.shader_name(table, "source", path, required=True)
        elif kind in MEDIA_SOURCE_KINDS:
            source, source_path = self.media_source(table, path, kind)
        else:
            source = self.string(table, "source", path, nonempty=True)
        blend = self.choice(table, "blend", path, BLEND_MODES, "blend mode", default="normal")
        opacity = self.number(table, "opacity", path, 0.0, 1.0, default=1.0)
        enabled = self.boolean(table, "enabled", path, default=True)
        params = self.params(table, path)
        if kind in MEDIA_PARAMS:
            self.media_params(kind, params, path)
        scale = self.number(table, "scale", path, *SCALE_RANGE, default=1.0)
        input_ = self.layer_input(table, path, ident, kind, below)
        fx_seen: dict[str, int] = {}
        fx = []
        for j, fx_table in enumerate(self.array_of_tables(table, "fx", path, "layers.fx")):
            fx.append(self.fx(fx_table, path + ("fx", j), fx_seen))
        return LayerSpec(id=ident, kind=kind, source=source, blend=blend, opacity=opacity,
                         enabled=enabled, params=params, fx=tuple(fx), scale=scale, input=input_,
                         source_path=source_path)

    def media_source(self, table: dict, path: Path_, kind: str) -> tuple[str, Path]:
        """A video/image layer's file: required; relative paths start at the scene's folder.

        Whether the file exists and decodes is checked when the layer is built (the engine),
        because reading scenes does no I/O beyond the scene file itself.
        """
        if "source" not in table:
            raise self.error(path + ("source",), f"missing required key 'source': the {kind} "
                             "file to show, relative to the scene file's folder or absolute")
        value = self.string(table, "source", path, nonempty=True)
        assert value is not None
        if any(ord(c) < 32 or ord(c) == 127 for c in value):
            raise self.error(path + ("source",), "a file path must not contain control characters")
        file = Path(value).expanduser()
        if not file.is_absolute():
            file = (self.path.parent if self.path is not None else Path(".")) / file
        return value, file

    def media_params(self, kind: str, params: dict, path: Path_) -> None:
        """Check the parameters of a video or image layer (their names, types and ranges)."""
        allowed = MEDIA_PARAMS[kind]
        for name, value in params.items():
            vpath = path + ("params", name)
            if name not in allowed:
                raise self.error(vpath, f"unknown {kind} parameter '{name}'"
                                 f"{did_you_mean(name, allowed)}; allowed: {', '.join(allowed)}")
            problem = media_param_problem(name, value)
            if problem:
                raise self.error(vpath, problem)

    def layer_input(self, table: dict, path: Path_, ident: str, kind: str,
                    below: list[LayerSpec]) -> str | None:
        value = self.string(table, "input", path)
        if value is None:
            if kind == "effect" and not below:
                raise self.error(path, "an effect layer at the bottom has nothing to process: "
                                 "put it after another layer or set input = \"<layer id>\"")
            return None
        if kind not in INPUT_KINDS:
            raise self.error(path + ("input",), f"'input' is only for {' and '.join(INPUT_KINDS)} "
                             f"layers, not a {kind} layer")
        if value == ident:
            raise self.error(path + ("input",), "a layer cannot read itself; feedback layers "
                             "already see their previous frame")
        if not any(layer.id == value for layer in below):
            earlier = [layer.id for layer in below]
            later = " (it is listed later; inputs must come earlier in the file)" if any(
                t.get("id") == value for t in self.data["layers"]) else did_you_mean(value, earlier)
            allowed = ", ".join(earlier) if earlier else "none (this is the first layer)"
            raise self.error(path + ("input",), f"input '{value}' is not a layer listed before "
                             f"this one{later}; allowed: {allowed}")
        return value

    def fx(self, table: dict, path: Path_, seen: dict[str, int]) -> FxSpec:
        self.remember_id(table, path)
        self.check_keys(table, path, FX_KEYS)
        ident = self.element_id(table, path, seen, "fx")
        shader = self.shader_name(table, "shader", path, required=True)
        params = self.params(table, path)
        enabled = self.boolean(table, "enabled", path, default=True)
        return FxSpec(id=ident, shader=shader, params=params, enabled=enabled)  # type: ignore[arg-type]

    def mappings(self, layers: tuple[LayerSpec, ...]) -> tuple[MappingSpec, ...]:
        out = []
        combine_of: dict[str, tuple[str, int]] = {}  # target -> (combine mode, first mapping)
        for i, table in enumerate(self.array_of_tables(self.data, "mappings", (), "mappings")):
            path: Path_ = ("mappings", i)
            self.check_keys(table, path, MAPPING_KEYS)
            source = self.string(table, "source", path, required=True)
            problem = source_name_problem(source)  # type: ignore[arg-type]
            if problem:
                raise self.error(path + ("source",), problem)
            target = self.string(table, "target", path, required=True)
            problem = target_name_problem(target, layers)  # type: ignore[arg-type]
            if problem:
                raise self.error(path + ("target",), problem)
            output_range = self.range(table, path)
            try:
                transform = parse_transform(table, source)
            except TransformError as exc:
                raise self.error(path + (exc.key,), exc.message) from None
            first = combine_of.setdefault(target, (transform.combine, i))  # type: ignore[arg-type]
            if first[0] != transform.combine:
                raise self.error(path + ("combine",), f"mappings into '{target}' must combine "
                                 f"the same way: mappings[{first[1]}] combines by '{first[0]}', "
                                 f"this one by '{transform.combine}'")
            out.append(MappingSpec(source=source, target=target,  # type: ignore[arg-type]
                                   range=output_range, transform=transform))
        return tuple(out)

    def range(self, table: dict, path: Path_) -> tuple[float, float]:
        if "range" not in table:
            return (0.0, 1.0)
        value = table["range"]
        if not (isinstance(value, list) and len(value) == 2
                and all(is_finite_number(v) for v in value)):
            got = (f"an array of {len(value)} values" if isinstance(value, list) and len(value) != 2
                   else describe_value(value) if not isinstance(value, list)
                   else "an array with a value that is not a finite number")
            raise self.error(path + ("range",), f"expected [lo, hi], two finite numbers "
                             f"(lo > hi inverts), got {got}")
        return (float(value[0]), float(value[1]))


def make_scene_error(file: str, path: Path_, message: str,
                     lines: Mapping[Path_, int] | None = None,
                     ids: Mapping[Path_, str] | None = None) -> SceneError:
    """Build a SceneError for a key path, finding its line (or its closest parent's).

    Any thread. `ids` maps element paths like ("layers", 1) to their id for the label.
    """
    line = None
    if lines:
        for k in range(len(path), 0, -1):
            if path[:k] in lines:
                line = lines[path[:k]]
                break
    label = ""
    for k, part in enumerate(path):
        if isinstance(part, int):
            label += f"[{part}]"
            ident = (ids or {}).get(path[:k + 1])
            if ident is not None:
                label += f" (id '{ident}')"
        else:
            label += f".{part}" if label else part
    key = _key_text(path) or None
    return SceneError(file, key, message, line=line, label=label or None)


def parse_scene(text: str, path: Path | str | None = None) -> SceneSpec:
    """Parse and validate scene text. `path` (if given) names the file in errors and the spec.

    Any thread (no I/O). Raises SceneError.
    """
    file = str(path) if path is not None else "<string>"
    if len(text) > MAX_SCENE_BYTES:
        raise SceneError(file, None, f"is {len(text)} characters; a scene file is at most "
                         f"{MAX_SCENE_BYTES} bytes")
    data = parse_toml(text, file, _scene_error_factory, "scene file")
    return _SceneReader(file, text.lstrip("\ufeff"), data,
                        Path(path) if path is not None else None).scene()


def _scene_error_factory(file: str, message: str, line: int | None,
                         key: str | None = None) -> SceneError:
    # The key is in the message already (duplicate keys); keep it out of the label.
    err = SceneError(file, None, message, line=line)
    err.key = key
    return err


def load_scene(path: Path | str) -> SceneSpec:
    """Read, parse and validate a scene file. Any thread (reads the file once).

    Raises SceneError for a missing or unreadable file, a directory, non-UTF-8 text, NUL bytes,
    TOML syntax errors and duplicate keys (with the line), and every validation rule above.
    """
    text, data = read_toml_file(path, _scene_error_factory, MAX_SCENE_BYTES, "scene file")
    return _SceneReader(str(path), text.lstrip("\ufeff"), data, Path(path)).scene()


def param_error(scene: SceneSpec, key: str, message: str) -> SceneError:
    """Turn an engine error about a layer parameter into a SceneError pointing into the file.

    `key` is a target-style name, ``layers.<id>.<param>`` or ``layers.<id>.fx.<fx_id>.<param>``
    (the parameter inside ``params``), or a literal key path like ``layers[0].source``.
    Called by the engine (render thread, at scene build time).
    """
    path = _param_path(scene, key)
    ids: dict[Path_, str] = {}
    for i, layer in enumerate(scene.layers):
        ids[("layers", i)] = layer.id
        for j, fx in enumerate(layer.fx):
            ids[("layers", i, "fx", j)] = fx.id
    return make_scene_error(scene.file_label, path, message, scene.key_lines, ids)


def _param_path(scene: SceneSpec, key: str) -> Path_:
    parts = key.split(".")
    if parts[0] == "layers" and len(parts) >= 2 and "[" not in key:
        index = next((i for i, layer in enumerate(scene.layers) if layer.id == parts[1]), None)
        if index is not None:
            layer = scene.layers[index]
            if len(parts) == 2:
                return ("layers", index)
            if len(parts) == 5 and parts[2] == "fx":
                j = next((j for j, fx in enumerate(layer.fx) if fx.id == parts[3]), None)
                if j is not None:
                    return ("layers", index, "fx", j, "params", parts[4])
            if len(parts) == 3:
                return ("layers", index, "params", parts[2])
    path: list[str | int] = []
    for part in parts:
        m = re.fullmatch(r"([^\[\]]+)((?:\[\d+\])*)", part)
        if not m:
            return (key,)
        path.append(m.group(1))
        path.extend(int(x) for x in re.findall(r"\[(\d+)\]", m.group(2)))
    return tuple(path)


def unavailable_kind_error(scene: SceneSpec, layer_id: str) -> SceneError:
    """The error the engine raises for a layer kind it cannot render yet. Any thread."""
    index = next(i for i, layer in enumerate(scene.layers) if layer.id == layer_id)
    kind = scene.layers[index].kind
    return make_scene_error(
        scene.file_label, ("layers", index, "kind"),
        f"layer kind '{kind}' is not available yet in this version; available: "
        f"{', '.join(IMPLEMENTED_LAYER_KINDS)}", scene.key_lines, {("layers", index): layer_id})


# --------------------------------------------------------------------------------------------
# Finding scenes


def bundled_scene_dirs(data_dir: Path | str | None = None) -> list[Path]:
    """Scene folders searched by name: the repository's scenes/, then <data dir>/scenes.

    `data_dir` defaults to ~/.local/share/echoel (config key paths.data). Any thread.
    """
    data = Path(data_dir).expanduser() if data_dir else Path.home() / ".local/share/echoel"
    return [Path(__file__).resolve().parent.parent / "scenes", data / "scenes"]


def _scene_files(dirs: Sequence[Path | str]) -> list[Path]:
    files: list[Path] = []
    for d in dirs:
        d = Path(d)
        if d.is_dir():
            files.extend(sorted(p for p in d.glob("*.toml")
                                if p.is_file() and not p.name.startswith(".")))
    return files


def _stem_name(path: Path) -> str:
    """'010-tunnel-rush.toml' -> 'tunnel-rush' (the number only orders the files)."""
    return re.sub(r"^\d+-", "", path.stem)


def _declared_name(path: Path) -> str | None:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        name = data.get("scene", {}).get("name")
        return name if isinstance(name, str) else None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, AttributeError, RecursionError):
        return None


def find_scene(name_or_path: str, dirs: Sequence[Path | str] | None = None) -> Path:
    """Resolve a scene argument: a file path, a file stem ("010-tunnel-rush"), the stem without
    its number ("tunnel-rush"), or the name declared in [scene]. First match in `dirs` order.

    Any thread (reads the folders). Raises SceneError naming close matches when nothing matches.
    """
    candidate = Path(name_or_path).expanduser()
    if candidate.is_file():
        return candidate
    looks_like_path = "/" in name_or_path or "\\" in name_or_path or name_or_path.endswith(".toml")
    if looks_like_path:
        if candidate.is_dir():
            raise SceneError(name_or_path, None, "is a directory, not a scene file")
        raise SceneError(name_or_path, None, "no such scene file")
    search = list(dirs) if dirs is not None else bundled_scene_dirs()
    files = _scene_files(search)
    for match in (lambda p: p.stem == name_or_path, lambda p: _stem_name(p) == name_or_path,
                  lambda p: _declared_name(p) == name_or_path):
        for path in files:
            if match(path):
                return path
    names = sorted({_stem_name(p) for p in files})
    listed = ", ".join(names) if names else "none"
    raise SceneError(name_or_path, None,
                     f"no scene named '{name_or_path}'{did_you_mean(name_or_path, names)}; "
                     f"searched {', '.join(str(d) for d in search)}; available: {listed}")


def list_scenes(dirs: Sequence[Path | str] | None = None) -> list[tuple[str, Path, str]]:
    """(name, path, description) of every scene file in `dirs`, folder by folder, by file name.

    A file that fails to load is listed with its file name and description "ERROR: <why>"
    instead of raising. Any thread (loads every file).
    """
    out = []
    for path in _scene_files(list(dirs) if dirs is not None else bundled_scene_dirs()):
        try:
            spec = load_scene(path)
            out.append((spec.name, path, spec.description))
        except SceneError as exc:
            out.append((_stem_name(path), path, f"ERROR: {exc}"))
    return out
