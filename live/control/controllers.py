"""Controllers around a running engine: MIDI in/out, mapping files, learn, Link, tempo sources.

`Controllers` is what a show attaches (`attach_controllers`). The engine calls it at two points
(both on the render thread, see `live/engine.py`):

- ``engine.controls.bindings_for(spec)`` while building a scene: the bindings of the loaded
  mapping files (controller profiles, learned bindings) that join that scene's mappings;
- ``engine.controls.publish(engine)`` at the top of every frame: MIDI events drained into the
  signals bus, MIDI clock and Link readings arbitrated into the BeatClock (`TempoArbiter`),
  bindings just learned applied to the running scene, LED feedback and MIDI clock out updated.

Mapping targets that are show commands (scene.next, scene.prev, scene.goto, master.panic) come
back through ``engine.controls.command(name, value)`` and are posted to the show's command
queue, so only the show's own loop switches scenes.

Wiring (the lead calls this once the show exists, before or after `Show.start`)::

    from live.control.controllers import attach_controllers
    controllers = attach_controllers(show, config)   # starts MIDI, Link, ...
    try:
        show.run(...)
    finally:
        controllers.stop()

Threads: `attach_controllers`, `start`, `stop` on the main thread; `learn` any thread;
`bindings_for`, `publish`, `command` on the render thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from live.clock import Clock
from live.control.learn import LearnedBinding, MidiLearn, learned_path
from live.control.midi import ENGINE_PORT_NAME, MidiError, MidiInput, PortRule
from live.control.midi_clock import MidiClockIn
from live.control.midi_out import ClockOut, FeedbackState, LedFeedback, MidiOutPorts
from live.control.tempo import SOURCE_PRIORITY, TempoArbiter, TempoSource
from live.modulation.mapping_files import (
    Binding,
    MappingFile,
    MappingFileError,
    bundled_mapping_dir,
    find_mapping_file,
    load_mapping_file,
)
from live.modulation.transforms import TransformSpec
from live.scene import MappingSpec, SceneSpec, target_name_problem

log = logging.getLogger(__name__)

#: Commands a mapping target can send to the show.
SHOW_COMMANDS = ("scene.next", "scene.prev", "scene.goto", "master.panic")


@dataclass
class ControlSettings:
    """What to start (from config.toml's [midi], [mappings], [link], [tempo]; see live/config.py).

    Attributes:
        midi: whether MIDI input/output/learn run at all.
        api: "auto", "alsa" or "jack".
        inputs: port rules (pattern, alias); controller profiles add theirs in front.
        virtual_port: the virtual input port's name ("" for none).
        clock_out: output port pattern for MIDI clock ("" for none).
        learned: the learned-bindings file.
        mapping_files: mapping files to load.
        link: whether to join an Ableton Link session.
        priority: tempo source order.
    """

    midi: bool = True
    api: str = "auto"
    inputs: list[PortRule] = field(default_factory=lambda: [PortRule("*")])
    virtual_port: str = ENGINE_PORT_NAME
    clock_out: str = ""
    learned: Path | None = None
    mapping_files: list[Path] = field(default_factory=list)
    link: bool = False
    priority: tuple[str, ...] = SOURCE_PRIORITY

    @classmethod
    def from_config(cls, cfg: Any) -> ControlSettings:
        """Settings from a `live.config.Config`. Raises ConfigError / MappingFileError."""
        from live.config import ConfigError

        api = str(cfg.get("midi.api", "auto"))
        if api not in ("auto", "alsa", "jack"):
            raise ConfigError(cfg.sources.get("midi.api", "config"), "midi.api",
                              f"unknown MIDI system {api!r}; allowed: auto, alsa, jack")
        rules = []
        for entry in cfg.get("midi.inputs", ["*"]):
            pattern, _, alias = str(entry).partition("=")
            rules.append(PortRule(pattern.strip(), alias.strip() or None))
        files: list[Path] = []
        for name in cfg.get("mappings.files", ["auto"]):
            if name == "auto":
                files.extend(p for p in sorted(bundled_mapping_dir().glob("*.toml"))
                             if _is_controller_profile(p))
            else:
                files.append(find_mapping_file(str(name)))
        learned = str(cfg.get("midi.learned", "") or "")
        return cls(
            midi=bool(cfg.get("midi.enabled", True)), api=api, inputs=rules,
            virtual_port=str(cfg.get("midi.virtual_port", ENGINE_PORT_NAME)),
            clock_out=str(cfg.get("midi.clock_out", "")),
            learned=Path(learned).expanduser() if learned else learned_path(cfg.data_dir()),
            mapping_files=files, link=bool(cfg.get("link.enabled", False)),
            priority=tuple(cfg.get("tempo.priority", SOURCE_PRIORITY)))


def _is_controller_profile(path: Path) -> bool:
    """Shipped files with a [controller] that names MIDI ports load automatically."""
    try:
        mf = load_mapping_file(path)
    except MappingFileError as exc:
        log.error("mapping file skipped: %s", exc)
        return False
    return mf.controller is not None


class Controllers:
    """MIDI, mapping files, learn, Link and the tempo arbiter for one engine.

    Args:
        engine: the engine (its clock, signals, BeatClock, scene).
        settings: what to start.
        post: the show's command queue (`Show.post`); None without a show.
        note_input: `Show.note_input` (HUD activity); optional.
        entry: returns the 1-based set-list position playing (scene LEDs); optional.
        midi_input: a prepared `MidiInput` (tests); built from `settings` when None.
        extra_sources: more tempo sources (the audio tracker).
        link_factory: builds the Link object (tests); default aalink.
    """

    def __init__(self, engine: Any, settings: ControlSettings | None = None, *,
                 post: Callable[[str, float | None], None] | None = None,
                 note_input: Callable[[str], None] | None = None,
                 entry: Callable[[], int | None] | None = None,
                 midi_input: MidiInput | None = None,
                 extra_sources: Iterable[TempoSource] = (),
                 link_factory: Callable | None = None) -> None:
        self.engine = engine
        self.settings = settings or ControlSettings()
        self.post = post
        self.note_input = note_input
        self.entry = entry
        clock: Clock = engine.clock
        parts = engine.parts
        self.files: list[MappingFile] = [load_mapping_file(p) for p in self.settings.mapping_files]
        self.learned: list[Binding] = []
        learned_file = self.settings.learned
        if learned_file is not None and learned_file.is_file():
            self.files.append(load_mapping_file(learned_file))
        rules = [PortRule(pat, mf.controller.alias) for mf in self.files if mf.controller
                 for pat in mf.controller.ports] + list(self.settings.inputs)
        self.midi: MidiInput | None = midi_input
        if self.midi is None and self.settings.midi:
            self.midi = MidiInput(clock, rules, virtual_name=self.settings.virtual_port,
                                  api=self.settings.api, parts=parts)
        self.clock_in = MidiClockIn()
        self.learn_state = MidiLearn(learned_file or learned_path(), on_learned=self._learned)
        if self.midi is not None:
            self.midi.decoder.clock_listeners.append(self.clock_in.handle)
            self.midi.decoder.learn_listeners.append(self.learn_state.on_message)
        sources: list[TempoSource] = [self.clock_in, *extra_sources]
        self.link = None
        if self.settings.link:
            from live.control.link import LinkSource

            kwargs = {"factory": link_factory} if link_factory is not None else {}
            self.link = LinkSource(clock, engine.beat.bpm, engine.beat.beats_per_bar,
                                   parts=parts, **kwargs)
            sources.append(self.link)
        self.arbiter = TempoArbiter(sources, priority=self.settings.priority, parts=parts)
        self.leds: list[LedFeedback] = []
        self._out_ports: list[MidiOutPorts] = []
        if self.settings.midi:
            for mf in self.files:
                if mf.controller is not None and mf.feedback:
                    ports = MidiOutPorts(mf.controller.ports, api=self.settings.api)
                    self._out_ports.append(ports)
                    self.leds.append(LedFeedback(mf.feedback, ports))
        self.clock_out: ClockOut | None = None
        if self.settings.midi and self.settings.clock_out:
            ports = MidiOutPorts([self.settings.clock_out], api=self.settings.api)
            self._out_ports.append(ports)
            self.clock_out = ClockOut(ports.send, clock)
        self._declared_for: tuple = ()
        self._pending_rebuild = False

    # -- lifecycle (main thread) -------------------------------------------------------------------
    def start(self) -> None:
        """Open MIDI ports, start rescanning, join Link, start MIDI clock out."""
        if self.midi is not None:
            self.midi.start()
        for ports in self._out_ports:
            ports.start()
        if self.link is not None:
            try:
                self.link.start()
            except Exception as exc:  # noqa: BLE001 - Link is optional; the show goes on
                self.engine.parts.failed("link", str(exc))
                log.error("Ableton Link cannot start: %s", exc)
                self.link = None
        if self.clock_out is not None:
            self.clock_out.follow(self.engine.beat)
            self.clock_out.start()

    def stop(self) -> None:
        """Switch LEDs off, send MIDI Stop, leave Link, close every port."""
        for led in self.leds:
            led.all_off()
        if self.clock_out is not None:
            self.clock_out.stop()
        for ports in self._out_ports:
            ports.stop()
        if self.midi is not None:
            self.midi.stop()
        if self.link is not None:
            self.link.stop()
        self.learn_state.wait_written()
        if getattr(self.engine, "controls", None) is self:
            self.engine.controls = None

    # -- any thread -------------------------------------------------------------------------------
    def learn(self, target: str) -> None:
        """Arm MIDI learn for `target` (keys, OSC, HTTP). Raises ValueError for a bad target."""
        scene = self.engine.scene
        layers = scene.spec.layers if scene is not None else ()
        problem = target_name_problem(target, layers)
        if problem:
            raise ValueError(problem)
        self.learn_state.arm(target, scene.spec.name if scene is not None and
                             target.startswith("layers.") else None)

    # -- render thread: called by the engine -------------------------------------------------------
    def bindings_for(self, spec: SceneSpec) -> list[Binding]:
        """Bindings of the mapping files and of learn that join scene `spec`."""
        out: list[Binding] = []
        for mf in self.files:
            out.extend(mf.bindings_for(spec))
        out.extend(b for b in self.learned if b.applies_to(spec))
        return out

    def command(self, name: str, value: float) -> None:
        """A mapping fired a show command (scene.next, scene.goto...)."""
        if self.post is None:
            log.debug("mapping command %s without a show: ignored", name)
            return
        self.post(name, value if name == "scene.goto" else None)

    def publish(self, engine: Any) -> None:
        """Once per frame at the top of the tick: inputs into the bus and the BeatClock."""
        bus, beat = engine.signals, engine.beat
        t = beat.time
        if self._pending_rebuild:
            # Learned last frame: from this frame on (the press that was learned fires nothing).
            self._pending_rebuild = False
            self._rebuild_running_scene(engine)
        if self.midi is not None:
            self._update_declarations(engine)
            if self.midi.drain(bus) and self.note_input is not None:
                self.note_input("midi")
        if self.link is not None:
            self.link.set_quantum(beat.beats_per_bar)
        self.arbiter.update(beat, t, bus)
        if self.link is not None and self.arbiter.leader != "link":
            self.link.mirror(beat)
        if self.leds:
            scene = engine.scene
            enabled = frozenset(layer.id for layer in scene.layers if layer.enabled) if scene else frozenset()
            state = FeedbackState(blackout=engine.blackout, freeze=engine.freeze,
                                  panic=engine.panicked,
                                  entry=self.entry() if self.entry is not None else None,
                                  enabled_layers=enabled, beat_phase=beat.beat_phase,
                                  bar_beat=beat.bar_beat)
            for led in self.leds:
                led.update(state)
        if self.clock_out is not None:
            self.clock_out.follow(beat)

    def _update_declarations(self, engine: Any) -> None:
        """Tell the MIDI decoder which CCs are 14-bit or relative for the scenes on screen."""
        scenes = [engine.scene] + ([engine._fade.outgoing] if getattr(engine, "_fade", None) else [])
        key = tuple(id(s.mappings) for s in scenes if s is not None)
        if key == self._declared_for:
            return
        self._declared_for = key
        declared: dict[str, str] = {}
        for s in scenes:
            if s is not None:
                declared.update(s.mappings.midi_declarations())
        self.midi.decoder.set_declarations(declared)

    def _learned(self, b: LearnedBinding) -> None:
        """MIDI learn bound a control (render thread): it works from the next frame on."""
        transform = TransformSpec(button=b.button) if b.button else TransformSpec()
        self.learned = [x for x in self.learned
                        if not (x.mapping.target == b.target and x.scene == b.scene)]
        self.learned.append(Binding(MappingSpec(b.source, b.target, (0.0, 1.0), transform),
                                    b.scene, str(self.learn_state.path), len(self.learned)))
        # The learned file will hold it too; drop the file's older binding of this target.
        for i, mf in enumerate(self.files):
            if mf.path is not None and mf.path == self.learn_state.path:
                kept = tuple(x for x in mf.bindings
                             if not (x.mapping.target == b.target and x.scene == b.scene))
                self.files[i] = MappingFile(mf.path, mf.controller, kept, mf.feedback, mf.key_lines)
        self._pending_rebuild = True

    def _rebuild_running_scene(self, engine: Any) -> None:
        active = engine.scene
        if active is None:
            return
        try:
            active.mappings, active.setters = engine.build_mappings(
                active.spec, {layer.id: layer for layer in active.layers})
        except (MappingFileError, ValueError) as exc:
            log.error("learned binding cannot be used in this scene: %s", exc)
        self._declared_for = ()


def attach_controllers(show: Any, config: Any = None, **kwargs: Any) -> Controllers:
    """Build the controllers for a show from `config`, hook them into its engine, start them.

    Call once the `Show` exists (main thread). The running scene (if any) gets the controller
    bindings at once; later scenes get them as they build. Stop them with `Controllers.stop()`.
    Keyword arguments go to `Controllers` (e.g. extra_sources=[tracker]).

    Raises:
        ConfigError, MappingFileError: bad settings or mapping files (before anything starts).
    """
    settings = ControlSettings.from_config(config) if config is not None else ControlSettings()
    engine = show.engine
    controllers = Controllers(engine, settings, post=show.post, note_input=show.note_input,
                              entry=lambda: show.index + 1, **kwargs)
    engine.controls = controllers
    try:
        controllers.start()
    except MidiError as exc:  # MIDI is optional: report and go on
        engine.parts.failed("midi", str(exc))
    if engine.scene is not None:
        controllers._rebuild_running_scene(engine)
    return controllers
