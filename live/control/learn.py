"""MIDI learn: arm a target, move a control, and the binding is kept and written to a file.

`MidiLearn.arm(target)` may be called from any thread (a key, an OSC message, the HTTP API).
The next control that moves — a CC message, or a note on with a velocity above 0 — becomes the
binding's source; pitch bend and program change are ignored (they are rarely meant). A note
bound to an on/off target (master.blackout, master.freeze, layers.<id>.enabled, fx enabled)
becomes a toggle; a note bound to a command (scene.next, tempo.tap...) a trigger; a note bound to
anything else is momentary. Sources use the port's alias when it has one
(``midi.apc40.cc.1.48``) so the binding follows that device.

The binding is written to the learned mappings file (``mappings/learned.toml`` in the repository
or ``<data dir>/mappings/learned.toml``, see `learned_path`) with tomlkit, so comments and
everything else in that file are kept; learning a target again replaces its earlier binding.
The write happens on a short-lived writer thread, never on the render thread.

Threads: `arm`/`cancel`/`armed` any thread; `on_message` is a `MidiDecoder` learn listener
(render thread); `take` render thread.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from live.control.midi import CONTROL_CHANGE, NOTE_ON, MidiMessage

log = logging.getLogger(__name__)

#: Targets that are on/off switches (a learned note toggles them).
SWITCH_TARGETS = ("master.blackout", "master.freeze")
#: Targets that are commands (a learned note triggers them once per press).
COMMAND_TARGETS = ("scene.next", "scene.prev", "master.panic", "tempo.tap")

HEADER = """\
# Learned MIDI bindings (written by Echoel Live's MIDI learn; edit freely, comments are kept).
# Each [[bindings]] table is a mapping like a scene's [[mappings]] (README, "Mapping files").
schema = 1
"""


@dataclass(frozen=True)
class LearnedBinding:
    """A binding made by learn: `source` drives `target` (with `button` mode for notes)."""

    source: str
    target: str
    button: str | None = None
    scene: str | None = None


def learned_path(data_dir: Path | str | None = None) -> Path:
    """Where learned bindings go: ``<data dir>/mappings/learned.toml`` (user data), the
    documented place outside the repository. Any thread."""
    base = Path(data_dir).expanduser() if data_dir else Path.home() / ".local/share/echoel"
    return base / "mappings" / "learned.toml"


def button_mode_for(target: str) -> str:
    """The button mode a learned note gets for `target`."""
    if target in SWITCH_TARGETS or target.endswith(".enabled"):
        return "toggle"
    if target in COMMAND_TARGETS:
        return "trigger"
    return "momentary"


class MidiLearn:
    """Arms a target and binds the next moved control to it.

    Args:
        path: the learned mappings file (created with a header when missing).
        on_learned: called on the render thread with each new binding (e.g. to apply it now).
    """

    def __init__(self, path: Path | str, on_learned: Callable[[LearnedBinding], None] | None = None) -> None:
        self.path = Path(path)
        self.on_learned = on_learned
        self._armed: tuple[str, str | None] | None = None  # (target, scene); swapped atomically
        self._done: list[LearnedBinding] = []
        self._writer_lock = threading.Lock()  # writer threads only, one file write at a time
        self.last_error: str | None = None

    # -- any thread -------------------------------------------------------------------------------
    def arm(self, target: str, scene: str | None = None) -> None:
        """Bind the next moved control to `target` (only with scene `scene`, if given)."""
        self._armed = (target, scene)
        log.info("MIDI learn armed for %s: move a control", target)

    def cancel(self) -> None:
        """Disarm without binding anything."""
        self._armed = None

    @property
    def armed(self) -> str | None:
        """The armed target, or None."""
        armed = self._armed
        return armed[0] if armed else None

    # -- render thread ----------------------------------------------------------------------------
    def on_message(self, name: str, msg: MidiMessage, alias: str | None) -> None:
        """A `MidiDecoder` learn listener: bind the first moved control while armed."""
        armed = self._armed
        if armed is None:
            return
        kind = msg.kind
        if kind == CONTROL_CHANGE:
            button = None
        elif kind == NOTE_ON and msg.data2 > 0:
            button = button_mode_for(armed[0])
        else:
            return
        source = name if alias is None else name.replace("midi.", f"midi.{alias}.", 1)
        self._armed = None
        binding = LearnedBinding(source, armed[0], button, armed[1])
        self._done.append(binding)
        log.warning("MIDI learn: %s -> %s%s", source, binding.target,
                    f" ({button})" if button else "")
        if self.on_learned is not None:
            self.on_learned(binding)
        threading.Thread(target=self._write, args=(binding,), name="midi-learn-write",
                         daemon=True).start()

    def take(self) -> list[LearnedBinding]:
        """The bindings learned since the last call."""
        done, self._done = self._done, []
        return done

    # -- writer thread ----------------------------------------------------------------------------
    def _write(self, binding: LearnedBinding) -> None:
        with self._writer_lock:
            try:
                write_binding(self.path, binding)
                self.last_error = None
            except (OSError, ValueError) as exc:
                self.last_error = f"cannot write {self.path}: {exc}"
                log.error("MIDI learn: %s", self.last_error)

    def wait_written(self, timeout: float = 5.0) -> bool:
        """Wait for pending writes (tests, shutdown). Returns False on timeout."""
        acquired = self._writer_lock.acquire(timeout=timeout)
        if acquired:
            self._writer_lock.release()
        return acquired


def write_binding(path: Path, binding: LearnedBinding) -> None:
    """Add `binding` to the mapping file at `path`; an earlier binding of the same target (and
    scene) is changed in place instead. Every comment and other table is kept. Atomic (temp
    file + rename).

    Any thread except the render thread (disk I/O). Raises OSError, or ValueError when the file
    is not valid TOML (it is then left as it is).
    """
    import tomlkit

    path = Path(path)
    text = path.read_text(encoding="utf-8") if path.exists() else HEADER
    try:
        doc = tomlkit.parse(text)
    except Exception as exc:  # noqa: BLE001 - tomlkit raises its own ParseError types
        raise ValueError(f"{path} is not valid TOML, not changed: {exc}") from None
    if "bindings" not in doc:
        doc.add(tomlkit.nl())
        doc.add("bindings", tomlkit.aot())
    aot = doc["bindings"]
    same = [t for t in aot if t.get("target") == binding.target and t.get("scene") == binding.scene]
    if same:
        # Re-learned: change the existing table in place, so its comments stay with it.
        table = same[0]
        table["source"] = binding.source
        if binding.button:
            table["button"] = binding.button
        elif "button" in table:
            del table["button"]
    else:
        table = tomlkit.table()
        table.add("source", binding.source)
        table.add("target", binding.target)
        if binding.button:
            table.add("button", binding.button)
        if binding.scene:
            table.add("scene", binding.scene)
        if len(aot):
            aot[-1].add(tomlkit.nl())  # a blank line between tables, as people write them
        aot.append(table)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".learned-", suffix=".toml", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(tomlkit.dumps(doc))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
