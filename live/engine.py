"""The one frame loop.

Each `tick()`: read the injected clock, advance the beat clock, put the audio snapshot and musical
time on the signals bus, run the mappings into layer parameters, render every layer and blend it
in the compositor, then present the picture over black into the output framebuffer.

Everything here runs on the render thread. Input threads never call into the engine directly; the
audio analysis hands over an immutable `AudioFrame` through `set_audio_frame`.
"""

from __future__ import annotations

import datetime as _dt
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import moderngl
import numpy as np

from live.audio.features import FFT_TEXTURE_SIZE, WAVE_TEXTURE_SIZE, AudioFrame
from live.clock import BeatClock, Clock
from live.health.registry import PartRegistry
from live.modulation.mappings import Mapping, MappingConflict, MappingSet
from live.modulation.signals import SignalBus
from live.modulation.timeline import SceneModulation, SceneTime, first_downbeat
from live.modulation.transforms import FrameTime
from live.render.compositor import FULLSCREEN_VERTEX, Compositor
from live.render.context import release_framebuffers
from live.render.isf import IsfShader, ShaderParamError, load_isf, shader_dependencies
from live.render.layers import LAYER_CLASSES, FrameInputs, Layer
from live.render.layers.base import LayerBuildError
from live.render.layers.safe import SafeLayer, safe_scene_spec
from live.render.program import EngineUniforms
from live.render.shader_source import ShaderSourceError, resolve_shader_path
from live.scene import SceneError, SceneSpec, param_error

log = logging.getLogger(__name__)

#: Seconds for the shaders' ONSET envelope to fall to half.
ONSET_HALF_LIFE = 0.1

_MIX_FRAGMENT = """
#version 330 core
in vec2 v_uv;
out vec4 f_color;
uniform sampler2D u_a;     // outgoing scene, over black
uniform sampler2D u_b;     // incoming scene, over black
uniform float u_mix;
uniform float u_dimmer;
void main() {
    ivec2 p = ivec2(gl_FragCoord.xy);
    vec3 c = mix(texelFetch(u_a, p, 0).rgb, texelFetch(u_b, p, 0).rgb, u_mix);
    f_color = vec4(c * u_dimmer, 1.0);
}
"""


@dataclass
class ActiveScene:
    """A scene built into GL objects, ready to render."""

    spec: SceneSpec
    layers: list[Layer]
    mappings: MappingSet
    setters: list[tuple[str, Callable[[float], None]]]
    referenced: frozenset[str]  # layers another layer reads by name: rendered even when hidden
    started: float = 0.0        # clock time it became active (its shaders' TIME counts from here)
    failed: set[str] = field(default_factory=set)  # layers that raised: skipped from then on
    #: Setters resolved by `Engine.set_target` (OSC, HTTP), by target name; only valid targets.
    direct_setters: dict[str, Callable[[float], None]] = field(default_factory=dict)
    #: Its keyframe tracks, LFOs, envelopes and step sequences (live.modulation.timeline).
    modulation: SceneModulation = field(default_factory=SceneModulation)

    def release(self) -> None:
        for layer in self.layers:
            layer.release()


@dataclass
class _Fade:
    """A crossfade in progress from `outgoing` to the running scene."""

    outgoing: ActiveScene
    start: float
    duration: float

    def progress(self, t: float) -> float:
        return min(max((t - self.start) / self.duration, 0.0), 1.0)


class ShaderLibrary:
    """Parsed shaders by path, reparsed when the file or anything it includes changes.

    Render thread (scene builds); `invalidate` may be called from the hot-reload thread.
    """

    def __init__(self, roots: list[Path] | None = None) -> None:
        self.roots = roots
        self._cache: dict[Path, tuple[tuple, IsfShader]] = {}

    def get(self, name: str) -> IsfShader:
        path = resolve_shader_path(name, self.roots)
        hit = self._cache.get(path)
        if hit is not None and hit[0] == _stamps(shader_dependencies(hit[1])):
            return hit[1]
        shader = load_isf(path, self.roots)
        self._cache[path] = (_stamps(shader_dependencies(shader)), shader)
        return shader

    def invalidate(self, paths) -> None:
        """Forget cached shaders that are, or depend on, any of `paths`."""
        changed = {Path(p).resolve() for p in paths}
        for key, (_, shader) in list(self._cache.items()):
            if changed.intersection(shader_dependencies(shader)):
                self._cache.pop(key, None)


def _stamps(paths) -> tuple:
    """(mtime_ns, size) of each path, None for a missing one: a cheap change detector."""
    out = []
    for p in paths:
        try:
            st = p.stat()
            out.append((st.st_mtime_ns, st.st_size))
        except OSError:
            out.append(None)
    return tuple(out)


#: The date an offline render's clock time 0 stands for: an evening (a midnight start would make
#: DATE's seconds 0, and shaders taking log(DATE.w) would see minus infinity), fixed so renders
#: stay deterministic.
RENDER_DATE_ORIGIN = _dt.datetime(2026, 6, 21, 21, 0, 0)


class Engine:
    """Renders scenes frame by frame at a fixed output size. Render thread only."""

    def __init__(self, ctx: moderngl.Context, size: tuple[int, int], clock: Clock, *,
                 parts: PartRegistry | None = None, shader_roots: list[Path] | None = None,
                 date_origin: _dt.datetime = RENDER_DATE_ORIGIN) -> None:
        """Args:
            date_origin: the local date and time at clock time 0, from which ISF's DATE and
                Shadertoy's iDate count. Offline renders keep the fixed default so they stay
                deterministic; the live show passes the wall clock's "now" at its start.
        """
        self.ctx = ctx
        self.date_origin = date_origin
        self.size = (int(size[0]), int(size[1]))
        self.clock = clock
        self.parts = parts or PartRegistry(time_source=clock.now)
        self.shaders = ShaderLibrary(shader_roots)
        self.signals = SignalBus()
        self.beat = BeatClock()
        self.audio = AudioFrame.silent()
        self.uniforms = EngineUniforms()
        self.scene: ActiveScene | None = None
        self.frame_index = 0
        self.dimmer = 1.0
        self.blackout = False
        self.freeze = False
        self.panicked = False
        #: The show's controllers (MIDI, mapping files, Link, tempo arbitration), set by
        #: live.control.controllers.attach_controllers; None in offline renders.
        self.controls = None
        #: Seconds a media layer may wait for the frame due (0 live: never wait; offline renders
        #: set it so every frame shows exactly the video frame of its time).
        self.frame_wait = 0.0
        #: Post-processing of the program picture (e.g. the flash guard): objects with
        #: `process(src_texture, dst_fbo, dt)`, run in order before the picture reaches the output.
        self.output_filters: list = []
        self._fade: _Fade | None = None
        self._last_time: float | None = None
        #: Scene start time -> beat count of that scene's bar 1 (see `timeline_origin`).
        self._origins: dict[float, float] = {}
        self._onset_env = 0.0
        self.compositor = Compositor(ctx, self.size)
        self._mix_prog = ctx.program(vertex_shader=FULLSCREEN_VERTEX, fragment_shader=_MIX_FRAGMENT)
        self._mix_prog["u_a"].value = 0
        self._mix_prog["u_b"].value = 1
        self._mix_vao = ctx.vertex_array(self._mix_prog, [])
        self._scratch: list[tuple[moderngl.Texture, moderngl.Framebuffer]] = []
        self._fft_tex = ctx.texture((FFT_TEXTURE_SIZE, 1), 1, dtype="f4")
        self._wave_tex = ctx.texture((WAVE_TEXTURE_SIZE, 1), 1, dtype="f4")
        for tex in (self._fft_tex, self._wave_tex):
            tex.filter = (moderngl.LINEAR, moderngl.LINEAR)
            tex.repeat_x = tex.repeat_y = False
        self.uniforms.audio_fft = self._fft_tex
        self.uniforms.audio_wave = self._wave_tex
        self._out_tex = ctx.texture(self.size, 4)
        self.output_fbo = ctx.framebuffer(color_attachments=[self._out_tex])
        self.output_fbo.clear(0.0, 0.0, 0.0, 1.0)
        self.parts.ok("render", f"{self.size[0]}x{self.size[1]}")

    # -- scenes ---------------------------------------------------------------------------------
    def load_scene(self, spec: SceneSpec, fade: float = 0.0) -> None:
        """Build `spec` and make it the running scene (crossfading over `fade` seconds).

        Raises SceneError naming the file and key when the scene cannot be built; the scene that
        was running keeps running in that case.
        """
        self.activate(self.prepare_scene(spec), fade=fade)

    def prepare_scene(self, spec: SceneSpec) -> ActiveScene:
        """Compile `spec` ahead of time (render thread); nothing running is touched.

        Switching to a prepared scene with `activate` then costs no compilation, so a set list can
        prepare its next entry while the current one plays.
        """
        return self.build_scene(spec)

    def activate(self, scene: ActiveScene, fade: float = 0.0) -> None:
        """Make a prepared scene the running one, crossfading from the current one over `fade` s."""
        now = self.clock.now()
        old = self.scene
        if self._fade is not None:
            # A new switch during a crossfade: the scene that was fading out goes now.
            self._fade.outgoing.release()
            self._fade = None
        if old is not None and old is not scene:
            if fade > 0.0:
                self._fade = _Fade(old, now, float(fade))
            else:
                old.release()
        scene.started = now
        scene.failed.clear()
        self.scene = scene
        self.panicked = scene.spec.name == "safe" and scene.spec.path is None
        spec = scene.spec
        if self._last_time is None:
            self.beat = BeatClock(spec.bpm, spec.beats_per_bar, origin=now)
        else:
            self.beat.beats_per_bar = spec.beats_per_bar
            if self.beat.source == "scene":
                self.beat.set_tempo(spec.bpm, now, source="scene")
        self._remember_origin(now)
        if (fade <= 0.0 and old is not None and old is not scene and spec.path is not None
                and old.spec.path == spec.path):
            scene.modulation.adopt(old.modulation)  # a hot reload: envelopes fade on
        self.parts.ok("scene", spec.name)

    def _remember_origin(self, started: float) -> float:
        """Fix bar 1 of a scene starting at `started`: the first downbeat at or after it."""
        beat = self.beat
        origin = first_downbeat(beat.beat_at(started), beat.beats_per_bar)
        self._origins[started] = origin
        while len(self._origins) > 16:  # a few recent scenes (hot reload restores `started`)
            del self._origins[next(iter(self._origins))]
        return origin

    def timeline_origin(self, scene: ActiveScene | None = None) -> float:
        """The beat count at which bar 1 of `scene` (default: the running one) starts.

        Bar 1 is the first downbeat at or after the scene became active (live.modulation.
        timeline). It is fixed when the scene is activated and looked up by the scene's start
        time, so a hot reload, which keeps the start time, keeps the scene's bars. Render thread.
        """
        scene = scene if scene is not None else self.scene
        if scene is None:
            return 0.0
        origin = self._origins.get(scene.started)
        return origin if origin is not None else self._remember_origin(scene.started)

    def restart_timeline(self, scene: ActiveScene, beat: float) -> None:
        """Start `scene`'s bar 1 at the first downbeat at or after beat count `beat` instead of
        after its activation: a switch quantized to a bar that runs a moment late (the first
        frame after the boundary) still makes that bar the new scene's bar 1. Render thread."""
        self._origins[scene.started] = first_downbeat(beat, self.beat.beats_per_bar)

    def scene_time(self, scene: ActiveScene | None = None, dt: float = 0.0) -> SceneTime:
        """Where `scene` (default: the running one) is now on its timeline. Render thread."""
        scene = scene if scene is not None else self.scene
        beat, t = self.beat, self.clock.now()
        return SceneTime(t=t, dt=dt, beat=beat.beat, bpm=beat.bpm,
                         beats_per_bar=beat.beats_per_bar, origin=self.timeline_origin(scene),
                         started=scene.started if scene is not None else t)

    @property
    def fading(self) -> bool:
        """True while a crossfade between two scenes is running."""
        return self._fade is not None

    def panic(self) -> None:
        """Cut to the built-in safe scene at once (no fade); it needs nothing but GL."""
        self.activate(self.build_scene(safe_scene_spec(self.beat.bpm)), fade=0.0)
        self.parts.degraded("scene", "panic: safe scene")

    def build_scene(self, spec: SceneSpec) -> ActiveScene:
        """Compile every layer of `spec` (render thread). Nothing running is touched."""
        layers: list[Layer] = []
        try:
            for i, layer_spec in enumerate(spec.layers):
                layers.append(self._build_layer(spec, i, layer_spec))
            by_id = {layer.id: layer for layer in layers}
            mappings, setters = self.build_mappings(spec, by_id)
            # Tracks drive their targets through the same resolution as mappings.
            modulation = SceneModulation.from_spec(
                spec, lambda i, target: self._target_setter(spec, i, target, by_id,
                                                            key=f"tracks[{i}].target"))
        except BaseException:
            for layer in layers:
                layer.release()
            raise
        referenced = frozenset(ls.input for ls in spec.layers if ls.input)
        return ActiveScene(spec, layers, mappings, setters, referenced, modulation=modulation)

    def build_mappings(self, spec: SceneSpec, layers: dict[str, Layer]
                       ) -> tuple[MappingSet, list[tuple[str, Callable[[float], None]]]]:
        """Compile a scene's mappings, plus the controller bindings that join it, into a
        MappingSet and one setter per target (render thread, at scene build; also when MIDI
        learn adds a binding to the running scene).

        Raises SceneError (or MappingFileError for a binding) naming the file and key.
        """
        # Controller bindings from mapping files (live.control) join the scene's own mappings;
        controls = self.controls
        bindings = controls.bindings_for(spec) if controls is not None else []
        specs = [*spec.mappings, *(b.mapping for b in bindings)]
        try:
            mappings = MappingSet(Mapping(m.source, m.target, *m.range, m.transform) for m in specs)
        except MappingConflict as exc:
            where = (f"mappings[{exc.second}].{exc.key}" if exc.second < len(spec.mappings)
                     else None)
            if where is None:
                raise bindings[exc.second - len(spec.mappings)].error(str(exc)) from exc
            raise param_error(spec, where, str(exc)) from exc
        setters: list[tuple[str, Callable[[float], None]]] = []
        for i, m in enumerate(specs):
            if any(t == m.target for t, _ in setters):
                continue  # one setter per target: the mapping set combines the values
            try:
                setters.append((m.target, self._target_setter(spec, i, m.target, layers)))
            except SceneError as exc:
                if i < len(spec.mappings):
                    raise
                raise bindings[i - len(spec.mappings)].error(exc.message) from exc
        return mappings, setters

    def _build_layer(self, spec: SceneSpec, index: int, layer_spec) -> Layer:
        key = f"layers[{index}]"
        cls = SafeLayer if layer_spec.kind == "safe" and spec.path is None else LAYER_CLASSES.get(layer_spec.kind)
        if cls is None:
            raise param_error(spec, f"{key}.kind",
                              f"layer kind '{layer_spec.kind}' is not available in this version; "
                              f"available: {', '.join(LAYER_CLASSES)}")
        try:
            layer = cls.build(layer_spec, self.shaders)
        except LayerBuildError as exc:
            raise param_error(spec, f"{key}.{exc.key}", exc.message) from exc
        if hasattr(layer, "parts"):
            # Media layers report a file that breaks mid-show and keep their last good frame.
            layer.parts = self.parts
        if self.frame_wait > 0.0 and hasattr(layer, "frame_wait"):
            layer.frame_wait = self.frame_wait
        if layer_spec.kind == "effect" and not getattr(layer, "reads_input", True):
            raise param_error(spec, f"{key}.source",
                              "an effect layer needs a shader with an image input 'inputImage'; "
                              f"'{layer_spec.source}' has none (use kind = \"shader\" for a generator)")
        try:
            layer.setup(self.ctx, self.size)
        except ShaderSourceError as exc:
            layer.release()
            raise param_error(spec, f"{key}.source", str(exc)) from exc
        return layer

    def _target_setter(self, spec: SceneSpec, index: int, target: str,
                       layers: dict[str, Layer], key: str | None = None) -> Callable[[float], None]:
        """Resolve a mapping target once at load into a function that applies a value.

        Layer parameters are set every frame a mapping contributes. Global targets act only
        when their mapped value changes (so a fader at rest does not undo the keyboard's
        blackout), and commands (scene.next/prev, master.panic, tempo.tap) fire on a press,
        i.e. when the value rises to 0.5 or more; scene.goto goes to entry round(value) when
        it changes; tempo.nudge shifts the phase by the value in beats when it changes to a
        non-zero value. Commands that belong to the show go to `controls.command`. `key` names
        the target's key in errors (default ``mappings[<index>].target``).
        """
        key = key or f"mappings[{index}].target"
        parts = target.split(".")
        if parts[0] == "layers" and len(parts) >= 3:
            layer = layers.get(parts[1])
            if layer is None:
                raise param_error(spec, key, f"no layer '{parts[1]}' in this scene")
            if len(parts) == 3 and parts[2] == "opacity":
                return lambda v, layer=layer: setattr(layer, "opacity", min(max(v, 0.0), 1.0))
            if len(parts) == 3 and parts[2] == "enabled":
                return lambda v, layer=layer: setattr(layer, "enabled", v >= 0.5)
            if len(parts) == 3:
                name, fx = parts[2], None
            elif len(parts) == 5 and parts[2] == "fx":
                name, fx = parts[4], parts[3]
                if name == "enabled":
                    return lambda v, layer=layer, fx=fx: layer.set_fx_enabled(fx, v >= 0.5)
            else:
                raise param_error(spec, key, "expected layers.<layer>.<param> or "
                                             "layers.<layer>.fx.<effect>.<param>")
            try:
                layer.check_mappable(name, fx)
            except (ShaderParamError, KeyError) as exc:
                raise param_error(spec, key, str(exc).strip("'\"")) from exc
            return lambda v, layer=layer, name=name, fx=fx: layer.set_mapped(name, v, fx)
        def command(name: str) -> Callable[[float], None]:
            def send(v: float) -> None:
                controls = self.controls
                if controls is not None:
                    controls.command(name, v)
                else:
                    log.debug("mapping target %s needs a running show; ignored", name)
            return send

        globals_ = {
            "master.dimmer": _on_change(lambda v: setattr(self, "dimmer", min(max(v, 0.0), 1.0))),
            "master.blackout": _on_change(lambda v: setattr(self, "blackout", v >= 0.5)),
            "master.freeze": _on_change(lambda v: setattr(self, "freeze", v >= 0.5)),
            "tempo.bpm": _on_change(lambda v: self.beat.set_tempo(
                min(max(v, 20.0), 400.0), self.clock.now(), "mapping")),
            "tempo.tap": _on_press(lambda v: self.beat.tap(self.clock.now())),
            "tempo.nudge": _on_change(lambda v: self.beat.nudge(v) if v != 0.0 else None),
            "scene.next": _on_press(command("scene.next")),
            "scene.prev": _on_press(command("scene.prev")),
            "scene.goto": _on_change(_goto(command("scene.goto"))),
            "master.panic": _on_press(command("master.panic")),
        }
        if target in globals_:
            return globals_[target]
        raise param_error(spec, key, f"target '{target}' is not available in this version; available "
                                     f"now: layers.<layer>.<param>, layers.<layer>.fx.<effect>.<param>, "
                                     f"{', '.join(globals_)}")

    # -- inputs ---------------------------------------------------------------------------------
    def set_target(self, target: str, value: float) -> bool:
        """Set a layer target of the running scene once, as a mapping would (clamped to the
        parameter's range): ``layers.<layer>.<param>``, ``layers.<layer>.opacity`` / ``enabled``,
        ``layers.<layer>.fx.<effect>.<param>`` / ``enabled``.

        Returns False when the running scene has no such target (nothing is set). A mapping of the
        same target overrides the value at the next frame. Render thread: inputs (OSC, HTTP) call
        it while draining their queues.
        """
        scene = self.scene
        if scene is None or not target.startswith("layers."):
            return False
        setter = scene.direct_setters.get(target)
        if setter is None:
            try:
                setter = self._target_setter(scene.spec, -1, target,
                                             {layer.id: layer for layer in scene.layers})
            except SceneError:
                return False
            scene.direct_setters[target] = setter
        setter(float(value))
        return True

    def set_audio_frame(self, frame: AudioFrame) -> None:
        """Hand the newest audio analysis snapshot to the next frame."""
        self.audio = frame

    # -- the frame ------------------------------------------------------------------------------
    def tick(self) -> None:
        """Render one frame at the clock's current time into `output_fbo`."""
        t = self.clock.now()
        dt = 0.0 if self._last_time is None else max(0.0, t - self._last_time)
        self._last_time = t
        beat = self.beat
        beat.update(t)
        self._publish_signals(beat)
        scene, fade = self.scene, self._fade
        frame = FrameTime(dt=dt, beat=beat.beat, beats_per_bar=beat.beats_per_bar)
        # The outgoing scene of a crossfade first, so the running scene's values are the ones
        # left on the bus and in shared targets (master.dimmer...).
        for active in (fade.outgoing if fade else None, scene):
            if active is not None:
                # LFOs, sequences and envelopes go on the bus before the mappings read it;
                # tracks set their targets after them (the choreography wins).
                modulation = active.modulation
                now = self.scene_time(active, dt) if modulation else None
                if now is not None:
                    modulation.publish(self.signals, now)
                values = active.mappings.evaluate(self.signals, frame)
                for target, setter in active.setters:
                    value = values.get(target)
                    if value is not None:  # no mapping of this target contributed this frame
                        setter(value)
                if now is not None:
                    modulation.apply_tracks(now)
        self._fill_uniforms(t, dt, beat)
        dimmer = self.dimmer
        if self.blackout:
            # Blackout is immediate: it bypasses the output filters (a flash guard would treat
            # the cut to black as a flash and could hold the picture for up to a second).
            self.output_fbo.clear(0.0, 0.0, 0.0, 1.0)
        elif self.freeze:
            pass  # the output keeps the last frame
        elif self.output_filters:
            program_tex, program_fbo = self._scratch_target(0)
            self._render_program(t, scene, fade, dimmer, program_fbo)
            self._run_filters(program_tex, dt)
        else:
            self._render_program(t, scene, fade, dimmer, self.output_fbo)
        if fade is not None and fade.progress(t) >= 1.0:
            fade.outgoing.release()
            self._fade = None
        self.signals.end_frame()
        self.frame_index += 1

    def _render_program(self, t: float, scene: ActiveScene | None, fade: _Fade | None,
                        dimmer: float, target: moderngl.Framebuffer) -> None:
        """The program picture (over black, dimmed) into `target`."""
        if scene is None:
            target.clear(0.0, 0.0, 0.0, 1.0)
            return
        if fade is None:
            self._render_scene(scene, t, dimmer, target)
            return
        a_tex, a_fbo = self._scratch_target(1)
        b_tex, b_fbo = self._scratch_target(2)
        self._render_scene(fade.outgoing, t, 1.0, a_fbo)
        self._render_scene(scene, t, 1.0, b_fbo)
        # An ISF transition shader set by the show (live.render.program.TransitionRenderer,
        # owned and released by whoever set it) replaces the plain mix; it eases by itself.
        transition = getattr(self, "transition", None)
        if transition is not None:
            transition.render(target, self.size, a_tex, b_tex, fade.progress(t), self.uniforms,
                              dimmer)
            return
        target.use()
        self.ctx.disable(moderngl.BLEND)
        a_tex.use(0)
        b_tex.use(1)
        self._mix_prog["u_mix"].value = _smoothstep(fade.progress(t))
        self._mix_prog["u_dimmer"].value = dimmer
        self._mix_vao.render(moderngl.TRIANGLES, vertices=3)

    def _run_filters(self, source: moderngl.Texture, dt: float) -> None:
        """Run the output filters in order; the last one writes the output."""
        filters = self.output_filters
        for i, flt in enumerate(filters):
            last = i == len(filters) - 1
            dst_tex, dst_fbo = (self._out_tex, self.output_fbo) if last else self._scratch_target(3 + i % 2)
            try:
                flt.process(source, dst_fbo, dt)
            except Exception as exc:  # a failing filter is dropped, the picture goes through
                self.parts.failed(f"filter.{type(flt).__name__}", f"{type(exc).__name__}: {exc}")
                log.error("output filter %s failed and was removed: %s", type(flt).__name__, exc)
                self.output_filters = [f for f in filters if f is not flt]
                self.ctx.copy_framebuffer(dst_fbo, self._fbo_of(source))
            source = dst_tex

    def _fbo_of(self, texture: moderngl.Texture) -> moderngl.Framebuffer:
        for tex, fbo in self._scratch:
            if tex is texture:
                return fbo
        return self.output_fbo

    def _scratch_target(self, index: int) -> tuple[moderngl.Texture, moderngl.Framebuffer]:
        """Output-sized RGBA8 targets for the program picture, crossfades and filters."""
        while len(self._scratch) <= index:
            tex = self.ctx.texture(self.size, 4)
            tex.filter = (moderngl.LINEAR, moderngl.LINEAR)
            self._scratch.append((tex, self.ctx.framebuffer(color_attachments=[tex])))
        return self._scratch[index]

    def _publish_signals(self, beat: BeatClock) -> None:
        signals = self.signals
        controls = self.controls
        if controls is not None:
            # MIDI, MIDI clock and Link: events drained into the bus, tempo sources applied to
            # the BeatClock (live.control; render thread, before the mappings run).
            controls.publish(self)
        signals.update(self.audio.signals())
        signals.set("beat.phase", beat.beat_phase)
        signals.set("bar.phase", beat.bar_phase)
        signals.set("bar.beat", beat.bar_beat)
        signals.set("tempo.bpm", beat.bpm)
        if beat.beat_fired:
            signals.trigger("audio.beat")
        else:
            signals.set("audio.beat", 0.0)

    def _fill_uniforms(self, t: float, dt: float, beat: BeatClock) -> None:
        u, a = self.uniforms, self.audio
        u.timedelta, u.frame_index = dt, self.frame_index
        u.bpm, u.beat, u.beat_phase = beat.bpm, beat.beat, beat.beat_phase
        u.bar, u.bar_phase = beat.bar + beat.bar_phase, beat.bar_phase
        # ONSET for shaders is an envelope: 1.0 on the onset frame, halving every 100 ms after it.
        self._onset_env = max(a.onset, self._onset_env * 0.5 ** (dt / ONSET_HALF_LIFE))
        u.rms, u.bass, u.mid, u.treb, u.onset = a.rms, a.bass, a.mid, a.treb, self._onset_env
        u.bands = a.bands
        u.date = _date_uniform(self.date_origin, t)
        self._fft_tex.write(np.ascontiguousarray(a.fft, dtype=np.float32))
        self._wave_tex.write(np.ascontiguousarray(a.wave, dtype=np.float32))

    def _render_scene(self, scene: ActiveScene, t: float, dimmer: float, target: moderngl.Framebuffer) -> None:
        """Render every layer of `scene` and present it over black into `target`."""
        comp = self.compositor
        comp.begin()
        self.uniforms.time = t - scene.started
        named = {layer.id: layer.output for layer in scene.layers}
        below = lambda: comp.picture  # noqa: E731 - read lazily: only effect layers need it
        visible = [layer for layer in scene.layers if layer.enabled and layer.opacity > 0.0
                   and layer.id not in scene.failed]
        direct = visible[0] if len(visible) == 1 and self._direct_ok(scene, visible[0], dimmer) else None
        pending = None  # the last visible layer is blended and presented in one pass
        for layer in scene.layers:
            is_visible = layer in visible
            if layer.id in scene.failed or not (is_visible or layer.id in scene.referenced):
                continue
            if pending is not None:
                comp.blend(pending.output, pending.blend, pending.opacity)
                pending = None
            try:
                if layer is direct:
                    # One pass instead of two: the only visible layer draws straight onto the
                    # target (on llvmpipe a full-screen pass is about 1 ms at 640x360).
                    target.clear(0.0, 0.0, 0.0, 1.0)
                    layer.render_direct(FrameInputs(self.uniforms, below, named), target)
                    continue
                layer.render(FrameInputs(self.uniforms, below, named))
            except Exception as exc:  # a failing layer never stops the show
                scene.failed.add(layer.id)
                self.parts.failed(f"layer.{layer.id}", f"{type(exc).__name__}: {exc}")
                log.error("layer %s failed and is skipped: %s", layer.id, exc)
                if layer is direct:
                    target.clear(0.0, 0.0, 0.0, 1.0)
                continue
            named[layer.id] = layer.output
            if is_visible:
                pending = layer
        if pending is not None:
            comp.blend_and_present(pending.output, pending.blend, pending.opacity, target, dimmer)
        elif direct is None:
            comp.present(target, dimmer)

    def _direct_ok(self, scene: ActiveScene, layer: Layer, dimmer: float) -> bool:
        """Whether the only visible layer may skip the compositor this frame."""
        return (dimmer >= 1.0 and layer.opacity >= 1.0 and layer.size == self.size
                and layer.id not in scene.referenced and layer.can_render_direct())

    # -- output ---------------------------------------------------------------------------------
    def read_rgba(self) -> np.ndarray:
        """The last presented frame as uint8 (height, width, 4), top row first."""
        data = self.output_fbo.read(components=4, alignment=1)
        img = np.frombuffer(data, dtype=np.uint8).reshape(self.size[1], self.size[0], 4)
        return img[::-1]

    def release(self) -> None:
        if self._fade is not None:
            self._fade.outgoing.release()
            self._fade = None
        if self.scene is not None:
            self.scene.release()
            self.scene = None
        release_framebuffers(self.ctx, *(obj for pair in self._scratch for obj in pair))
        self._scratch.clear()
        self._mix_vao.release()
        self._mix_prog.release()
        self.compositor.release()
        release_framebuffers(self.ctx, self.output_fbo, self._out_tex, self._fft_tex, self._wave_tex)


def _on_change(apply: Callable[[float], None]) -> Callable[[float], None]:
    """A setter that acts only when the mapped value differs from the last one it saw."""
    last: list[float | None] = [None]

    def setter(v: float) -> None:
        if v != last[0]:
            last[0] = v
            apply(v)
    return setter


def _goto(send: Callable[[float], None]) -> Callable[[float], None]:
    """scene.goto takes the 1-based set-list entry: round the mapped value; below 1 is "none"."""
    return lambda v: send(round(v)) if round(v) >= 1 else None


def _on_press(apply: Callable[[float], None]) -> Callable[[float], None]:
    """A setter that acts when the value rises to 0.5 or more (a button press)."""
    held = [False]

    def setter(v: float) -> None:
        pressed = v >= 0.5
        if pressed and not held[0]:
            apply(v)
        held[0] = pressed
    return setter


def _smoothstep(x: float) -> float:
    """Ease in and out so a crossfade starts and ends without a visible kink."""
    return x * x * (3.0 - 2.0 * x)


def _date_uniform(origin: _dt.datetime, t: float) -> tuple[float, float, float, float]:
    """ISF DATE (year, month, day, seconds in the day) at clock time `t` counted from `origin`."""
    d = origin + _dt.timedelta(seconds=t if math.isfinite(t) else 0.0)
    return (float(d.year), float(d.month), float(d.day),
            d.hour * 3600.0 + d.minute * 60.0 + d.second + d.microsecond / 1e6)
