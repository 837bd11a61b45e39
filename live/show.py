"""The live show: the real-time loop a performer runs (`echoel run`, `echoel demo`).

`Show` owns the running engine and everything around it that a performer touches: the set list
(next / previous / go to, each with a crossfade, the next entry compiled ahead so a switch does
not compile), the master section (dimmer, blackout, freeze, panic), tap tempo, snapshots, the
HUD toggle, and quitting, which always asks twice. Input arrives as commands on a bounded queue:
GLFW key callbacks, signal handlers and (later) MIDI, OSC and HTTP only enqueue; the render loop
drains the queue at the top of each frame, so only the render thread touches the engine.

`SetList` reads set list files; `FilePlayback` feeds a decoded audio file to the analysis by clock
position (until live capture replaces it); `NextPreview` renders the set list's next scene small
for the operator monitor. The bottom of the module is the command line: windowed or headless
real-time runs (`add_run_parser`, `cmd_run`, `run_demo`; the session that opens windows or runs
headless is `live.render.outputs.session`).

Threads: `Show.post`, `post_key`, `note_input` and `report_error` may be called from any thread;
everything else runs on the render thread (the main thread when windows are open, because GLFW
wants its events there).
"""

from __future__ import annotations

import argparse
import collections
import datetime as _dt
import logging
import math
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Protocol

import moderngl
import numpy as np

from live.audio.analysis import AudioAnalysis
from live.audio.decode import ANALYSIS_RATE, load_audio, to_mono
from live.audio.features import AudioFrame
from live.clock import Clock
from live.engine import ActiveScene, Engine
from live.health.registry import PartRegistry
from live.render.hud import HudInfo, part_rows
from live.render.offline import parse_size as parse_render_size
from live.render.outputs.timing import FramePacer, FrameReport, FrameTimes
from live.render.video import write_png
from live.scene import SceneError, SceneSpec, did_you_mean, find_scene
from live.setlist import HeldSwitch, SetList, SetListCues, ShowError

log = logging.getLogger(__name__)

#: Seconds within which a second quit request really quits.
QUIT_CONFIRM_S = 2.0
#: Seconds a notice (snapshot written, end of set list) stays on the HUD.
MESSAGE_S = 3.0
#: After a switch and its crossfade, wait this long before compiling the next entry, so the
#: compile never lands in the same frames as the crossfade (two scenes render then).
PREPARE_DELAY_S = 0.5
#: The next-scene preview is compiled this long after the next entry was prepared.
PREVIEW_DELAY_S = 0.5
#: The preview renders every this many frames (it is a glance, not a second show).
PREVIEW_EVERY = 6
PREVIEW_SIZE = (192, 108)
DIMMER_STEP = 0.1
#: Commands waiting for the render loop; the oldest is dropped when full.
COMMAND_QUEUE = 256
#: Errors kept for the HUD.
ERROR_HISTORY = 20
DEFAULT_FADE_S = 1.0

#: Every command the show understands (scene.goto takes the 1-based set-list position as value).
COMMANDS = (
    "scene.next", "scene.prev", "scene.goto", "master.blackout", "master.freeze", "master.panic",
    "master.dimmer", "master.dimmer.up", "master.dimmer.down", "tempo.tap", "hud.toggle",
    "snapshot", "quit", "cancel",
)

#: The one key map (documented in docs/live.md). Key names are GLFW's, lower case, modifiers
#: first ("ctrl+q"). "window_close" is the window's close button. Values are commands, with an
#: optional ":value".
DEFAULT_KEYMAP: dict[str, str] = {
    "right": "scene.next", "page_down": "scene.next",
    "left": "scene.prev", "page_up": "scene.prev",
    **{str(n): f"scene.goto:{n}" for n in range(1, 10)},
    "h": "hud.toggle",
    "b": "master.blackout",
    "f": "master.freeze",
    "p": "master.panic",
    "t": "tempo.tap", "space": "tempo.tap",
    "s": "snapshot",
    "up": "master.dimmer.up", "down": "master.dimmer.down",
    "ctrl+q": "quit", "window_close": "quit",
    "escape": "cancel",
}

#: (keys, what they do) for the help text and the docs.
KEY_HELP = (
    ("Right / Page Down", "next scene in the set list (crossfade)"),
    ("Left / Page Up", "previous scene (crossfade)"),
    ("1 ... 9", "go to set-list entry 1 ... 9"),
    ("H", "HUD on/off (operator monitor only)"),
    ("B", "blackout on/off"),
    ("F", "freeze on/off"),
    ("P", "panic: cut to the built-in safe scene"),
    ("T / Space", "tap tempo"),
    ("S", "snapshot of the program output (PNG)"),
    ("Up / Down", "dimmer +10 % / -10 %"),
    ("Ctrl+Q, Ctrl+Q", "quit: press twice within 2 s (the first press asks)"),
    ("Esc", "dismiss the quit prompt; never quits"),
)


def parse_command(text: str) -> tuple[str, float | None]:
    """"scene.goto:3" -> ("scene.goto", 3.0). Raises ShowError for unknown commands. Any thread."""
    name, _, value = text.partition(":")
    if name not in COMMANDS:
        raise ShowError(f"unknown command '{name}'{did_you_mean(name, COMMANDS)}; "
                        f"known: {', '.join(COMMANDS)}")
    if not value:
        return name, None
    try:
        number = float(value)
    except ValueError:
        raise ShowError(f"command '{text}': the value after ':' must be a number") from None
    if not math.isfinite(number):
        raise ShowError(f"command '{text}': the value must be finite")
    return name, number


def check_keymap(keymap: Mapping[str, str]) -> dict[str, tuple[str, float | None]]:
    """Validate a key map and parse its commands. Raises ShowError naming the key. Any thread."""
    parsed = {}
    for key, command in keymap.items():
        try:
            parsed[key.lower()] = parse_command(command)
        except ShowError as exc:
            raise ShowError(f"key map: key '{key}': {exc}") from None
    if "escape" in parsed and parsed["escape"][0] == "quit":
        raise ShowError("key map: Esc must not quit a show (a show is never quit by one key press)")
    return parsed


# Set lists: live/setlist.py (SetList and ShowError are imported above for existing callers).


# --------------------------------------------------------------------------------------------
# Audio from a file, in real time


class FilePlayback:
    """A decoded audio file fed to the analysis by clock position, looping. Render thread.

    Each frame, the samples from the last position up to `position` seconds go through the same
    analysis as offline renders (features, drum onsets, the causal beat tracker).

    Args:
        samples: float32 (n, channels) at `sr`.
        sr: sample rate (the analysis rate, 48 kHz, after `load_audio`).
        loop: start again at the end (else silence after it).
    """

    def __init__(self, samples: np.ndarray, sr: int = ANALYSIS_RATE, *, loop: bool = True,
                 name: str = "audio") -> None:
        if len(samples) == 0:
            raise ValueError(f"{name}: no audio samples")
        samples = np.asarray(samples, np.float32)
        self.samples = samples[:, None] if samples.ndim == 1 else samples
        self._mono = to_mono(self.samples)
        self.sr = int(sr)
        self.loop = loop
        self.name = name
        self.analyzer = AudioAnalysis(self.sr)
        self.latency_s = 0.0  # a file plays on the show clock itself
        self._fed = 0  # samples fed, counting loops

    @classmethod
    def open(cls, path: Path | str, *, loop: bool = True) -> FilePlayback:
        """Decode `path` (main thread, before the show). Raises AudioFileError naming the file."""
        samples, sr = load_audio(path, ANALYSIS_RATE)
        return cls(samples, sr, loop=loop, name=Path(path).name)

    @property
    def duration(self) -> float:
        """Length of the file in seconds."""
        return len(self._mono) / self.sr

    @property
    def fed(self) -> int:
        """Samples played so far (counting loops): the position of the next frame's audio."""
        return self._fed

    def block(self, start: int, stop: int) -> np.ndarray:
        """The (multichannel) samples played between positions `start` and `stop` (loops wrap;
        past the end of a file that does not loop: silence)."""
        n = len(self.samples)
        idx = np.arange(start, stop)
        if self.loop:
            return self.samples[idx % n]
        out = np.zeros((len(idx), self.samples.shape[1]), np.float32)
        inside = idx < n
        out[inside] = self.samples[idx[inside]]
        return out

    def frame(self, position: float, dt: float) -> AudioFrame:
        """Feed everything up to `position` seconds and return the analysis for this frame."""
        upto = int(max(0.0, position) * self.sr)
        n = len(self._mono)
        if not self.loop:
            upto = min(upto, n)
        # After a long stall, feed at most 2 s: older audio would only be analysed and thrown away.
        start = max(self._fed, upto - 2 * self.sr)
        if upto > start:
            idx = np.arange(start, upto) % n
            self.analyzer.feed(self._mono[idx])
        self._fed = max(self._fed, upto)
        return self.analyzer.frame(max(0.0, dt))


# --------------------------------------------------------------------------------------------
# The next scene, small


class LiveInput:
    """Live audio from an input device through an `InputSupervisor`: the show's analysis and
    recorder see one continuous timeline; a lost device turns into silence (the beat clock
    free-runs) and reconnects by name when it returns. Same interface as `FilePlayback`.

    Render thread: `frame` reads everything captured since the previous frame.

    Args:
        supervisor: a started `live.audio.sources.InputSupervisor`.
        name: what the HUD and the log call this input.
        keep_s: seconds of recent audio kept for the recorder (`block`).
    """

    def __init__(self, supervisor, *, name: str = "input", keep_s: float = 4.0) -> None:
        self.supervisor = supervisor
        self.sr = ANALYSIS_RATE
        self.name = name
        self.loop = False
        self.duration = None  # live: no end
        self.samples = np.zeros((0, 1), np.float32)  # shape[1]: channels the recorder gets
        self.analyzer = AudioAnalysis(self.sr)
        self._keep = collections.deque()  # (start_frame, mono block) for the recorder
        self._keep_frames = int(keep_s * self.sr)
        self._fed = 0

    @classmethod
    def open(cls, device: str | None, clock: Clock, parts=None) -> "LiveInput":
        """Start capturing from `device` (a name or part of one; None: the system default).

        Never raises for a missing device: it starts on silence and keeps trying (part "audio").
        """
        from live.audio.devices import rescan
        from live.audio.sources import InputSupervisor, open_input

        supervisor = InputSupervisor(lambda: open_input(device), clock=clock, parts=parts, rescan=rescan)
        supervisor.start()
        return cls(supervisor, name=device or "default input")

    @property
    def latency_s(self) -> float:
        """The device's input latency: audio heard now was played this long ago."""
        return float(self.supervisor.latency_s)

    @property
    def fed(self) -> int:
        """Frames captured so far on the continuous timeline."""
        return self._fed

    def frame(self, position: float, dt: float) -> AudioFrame:
        """Analyse everything captured since the last frame (`position` is not needed live)."""
        chunk = self.supervisor.read()
        if chunk.frames:
            mono = chunk.mono()
            self.analyzer.feed(mono)
            self._keep.append((chunk.start_frame, mono.copy()))
            while self._keep and self._keep[-1][0] - self._keep[0][0] > self._keep_frames:
                self._keep.popleft()
            self._fed = chunk.start_frame + chunk.frames
        return self.analyzer.frame(max(0.0, dt))

    def block(self, start: int, stop: int) -> np.ndarray:
        """Captured frames `start`..`stop` as (n, 1); frames no longer kept read as silence."""
        out = np.zeros((max(0, stop - start), 1), np.float32)
        for first, mono in self._keep:
            a, b = max(start, first), min(stop, first + len(mono))
            if a < b:
                out[a - start:b - start, 0] = mono[a - first:b - first]
        return out

    def close(self) -> None:
        self.supervisor.stop()


class NextPreview:
    """A small second engine that renders the set list's next scene for the operator monitor.

    It shares the show's GL context and clock but has its own part registry, so its state never
    shows up as the program's. Render thread.
    """

    def __init__(self, ctx: moderngl.Context, clock: Clock, size: tuple[int, int] = PREVIEW_SIZE,
                 shader_roots: list[Path] | None = None) -> None:
        self.engine = Engine(ctx, size, clock, parts=PartRegistry(time_source=clock.now),
                             shader_roots=shader_roots)
        self.label: str | None = None
        self.loaded = False
        self._frame = 0

    @property
    def texture(self) -> moderngl.Texture:
        """The preview picture."""
        return self.engine.output_fbo.color_attachments[0]

    def load(self, spec: SceneSpec | None, label: str | None) -> None:
        """Show `spec` (None: nothing next). A scene that fails to build shows black."""
        self.label = label
        self.loaded = False
        if spec is None:
            self.engine.output_fbo.clear(0.0, 0.0, 0.0, 1.0)
            return
        try:
            self.engine.load_scene(spec)
            self.loaded = True
            self._frame = 0
        except (SceneError, OSError) as exc:
            log.debug("preview of %s not available: %s", label, exc)
            self.engine.output_fbo.clear(0.0, 0.0, 0.0, 1.0)

    def render(self, audio: AudioFrame) -> None:
        """Render a preview frame every `PREVIEW_EVERY` calls."""
        if not self.loaded:
            return
        if self._frame % PREVIEW_EVERY == 0:
            self.engine.set_audio_frame(audio)
            self.engine.tick()
        self._frame += 1

    def release(self) -> None:
        """Free the preview engine."""
        self.engine.release()


# --------------------------------------------------------------------------------------------
# The show


class Output(Protocol):
    """Where program frames go (a window, the operator monitor, a headless recording)."""

    name: str

    def present(self, show: Show) -> None:
        """Show the frame just rendered (render thread). Must leave the engine's context current."""

    def close(self) -> None:
        """Release everything (render thread)."""


class _ErrorFeed(logging.Handler):
    """Collects ERROR log records of the `live` package for the HUD (any thread: deque append)."""

    def __init__(self, sink: collections.deque) -> None:
        super().__init__(level=logging.ERROR)
        self._sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._sink.append(record.getMessage())
        except Exception:  # noqa: BLE001, S110 - a log handler must never raise into the caller
            pass


class Show:
    """The live show around an engine. Render thread except where a method says otherwise.

    Args:
        engine: the engine (its clock is the show's clock).
        setlist: the scenes to play, in order.
        fade: default crossfade in seconds for scene switches (0 = cut).
        audio: a `FilePlayback` (or anything with `frame(position, dt) -> AudioFrame`), or None.
        keymap: key name -> command; `DEFAULT_KEYMAP` when None.
        snapshot: called for the snapshot command (e.g. the recorder's `snapshot()`); it returns
            the path written. None: the show writes a PNG of the output itself.
        snapshot_dir: where the show's own snapshots go.
        fps: target frame rate (the HUD's frame budget).
        preview: a `NextPreview` for the operator monitor, or None.
        outputs: where frames go after each tick.
        perf: high-resolution timer for frame-time measurement only (never drives the picture).
        reloader: a `live.reload.HotReloader` whose validated reloads are applied at the start of
            each frame (its errors reach the HUD through the log), or None.
    """

    def __init__(self, engine: Engine, setlist: SetList, *, fade: float = DEFAULT_FADE_S,
                 audio: FilePlayback | None = None, keymap: Mapping[str, str] | None = None,
                 snapshot: Callable[[], object] | None = None, snapshot_dir: Path | None = None,
                 fps: float = 60.0, preview: NextPreview | None = None,
                 outputs: Iterable[Output] = (), perf: Callable[[], float] = time.perf_counter,
                 reloader=None) -> None:
        if len(setlist) == 0:
            raise ShowError("the set list is empty: give at least one scene")
        if not (math.isfinite(fade) and 0.0 <= fade <= 60.0):
            raise ShowError(f"fade {fade!r} must be a number of seconds from 0 to 60")
        self.engine = engine
        self.clock = engine.clock
        self.parts = engine.parts
        self.setlist = setlist
        self.fade = float(fade)
        self.audio = audio
        self.keymap = check_keymap(DEFAULT_KEYMAP if keymap is None else keymap)
        # Quantized and automatic switches, entries' cue triggers, transition shaders.
        self.cues = SetListCues(setlist, engine)
        self.cues.check_keymap(self.keymap)
        self._snapshot_hook = snapshot
        self.snapshot_dir = Path(snapshot_dir) if snapshot_dir else Path.home() / ".local/share/echoel/snapshots"
        self.fps = float(fps)
        self.preview = preview
        self.reloader = reloader  # a live.reload.HotReloader (or None): applied at frame starts
        self.outputs: list[Output] = list(outputs)
        self._perf = perf
        self.times = FrameTimes()
        self.index = 0
        self.hud_visible = True
        self.quit_requested = False
        self.last_audio = AudioFrame.silent()
        self.slots = 1  # frame slots the current frame fills (1 + slots missed before it)
        self.errors: collections.deque[str] = collections.deque(maxlen=ERROR_HISTORY)
        self._commands: collections.deque[tuple[str, float | None]] = collections.deque(maxlen=COMMAND_QUEUE)
        self._inputs: dict[str, float] = {}
        self._quit_armed_until: float | None = None
        self._message: tuple[str, float] | None = None
        self._next: tuple[int, ActiveScene] | None = None
        self._prepare_due: float | None = None
        self._preview_due: float | None = None
        self._start_time = 0.0
        self._last_frame_time: float | None = None
        self._error_feed = _ErrorFeed(self.errors)
        self._started = False

    # -- input from any thread ------------------------------------------------------------------
    def post(self, command: str, value: float | None = None) -> None:
        """Queue a command (see COMMANDS). Any thread; never blocks; unknown commands raise."""
        name, parsed = parse_command(command)
        self._commands.append((name, parsed if value is None else float(value)))

    def post_key(self, key: str) -> bool:
        """Queue the command bound to a key name; returns whether the key is bound. Any thread."""
        bound = self.keymap.get(key.lower())
        if bound is None:
            entry = self.cues.key_entry(key)  # a set-list entry's own cue key
            bound = ("scene.goto", float(entry + 1)) if entry is not None else None
        if bound is not None:
            self._commands.append(bound)
        return bound is not None

    def note_input(self, name: str) -> None:
        """Record activity of a non-audio input (e.g. "midi", "osc") for the HUD. Any thread."""
        self._inputs[name] = self.clock.now()

    def report_error(self, text: str) -> None:
        """Add a line to the HUD's last errors (e.g. from hot reload). Any thread."""
        self.errors.append(str(text))

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self, index: int = 0) -> None:
        """Load set-list entry `index` (or the first that loads) and start the show.

        Raises SceneError when no entry of the set list can be built.
        """
        logging.getLogger("live").addHandler(self._error_feed)
        self._started = True
        self._start_time = self.clock.now()
        failures = []
        for i in list(range(index, len(self.setlist))) + list(range(index)):
            try:
                self.engine.activate(self.engine.prepare_scene(self.setlist.load(i)), fade=0.0)
            except SceneError as exc:
                failures.append(str(exc))
                log.error("scene %d of the set list cannot be played: %s", i + 1, exc)
                continue
            self.index = i
            self._after_switch(self._start_time, 0.0)
            return
        raise SceneError(self.setlist.name, None, "no scene of the set list can be played:\n  "
                         + "\n  ".join(failures))

    def close(self) -> None:
        """Close outputs, drop the prepared scene and the preview. Render thread."""
        for out in self.outputs:
            try:
                out.close()
            except Exception as exc:  # noqa: BLE001 - closing must reach every output
                log.warning("closing output %s: %s", getattr(out, "name", out), exc)
        self.outputs.clear()
        self.cues.release()
        self._drop_next()
        if self.preview is not None:
            self.preview.release()
            self.preview = None
        if self._started:
            logging.getLogger("live").removeHandler(self._error_feed)
            self._started = False

    # -- one frame ------------------------------------------------------------------------------
    def step(self) -> float:
        """Run one frame: commands, deferred work, audio, render, outputs. Returns the seconds of
        work it took (by `perf`)."""
        begin = self._perf()
        now = self.clock.now()
        dt = 0.0 if self._last_frame_time is None else max(0.0, now - self._last_frame_time)
        self._last_frame_time = now
        for entry in self.cues.triggered(self.engine.signals):  # entries' cue signals (MIDI, OSC)
            self._commands.append(("scene.goto", float(entry + 1)))
        while self._commands:
            try:
                name, value = self._commands.popleft()
            except IndexError:
                break
            self._apply(name, value, now)
        if self.reloader is not None:
            # Validated off the render thread; applying a reload here never waits.
            self.reloader.update()
        if self._quit_armed_until is not None and now > self._quit_armed_until:
            self._quit_armed_until = None
        end = self.cues.auto_due(self.index)  # the entry's bars are over: the next one comes in
        if end is not None:
            self._switch_to(self.index + 1, now, skip_step=1, at_beat=end)
        held = self.cues.due(now)  # a quantized switch whose beat, bar or phrase has come
        if held is not None:
            self._switch_to(held.target, now, held=held)
        self._deferred_work(now)
        if self.audio is not None:
            self.last_audio = self.audio.frame(now - self._start_time, dt)
            self.engine.set_audio_frame(self.last_audio)
            # The tracker hears audio time; the clock runs in show time, offset by the start.
            self.audio.analyzer.drive(self.engine.beat, now,
                                      audio_to_clock_s=self._start_time + self.audio.latency_s)
        self.engine.tick()
        self.cues.after_frame()
        if self.preview is not None:
            self.preview.render(self.last_audio)
        for out in list(self.outputs):
            try:
                out.present(self)
            except Exception as exc:  # noqa: BLE001 - a broken output never stops the show
                name = getattr(out, "name", "output")
                self.parts.failed(f"output.{name}", f"{type(exc).__name__}: {exc}")
                log.error("output %s failed and was closed: %s", name, exc)
                self.outputs.remove(out)
                try:
                    out.close()
                except Exception as close_exc:  # noqa: BLE001 - already failed; keep going
                    log.debug("closing the failed output %s: %s", name, close_exc)
        return self._perf() - begin

    def record_frame(self, work: float, missed: int) -> None:
        """Record a frame's work time and the slots missed after it (from the pacer)."""
        self.times.add(work, self.clock.now(), missed)
        self.slots = 1 + missed

    def run(self, *, duration: float | None = None, pacer: FramePacer | None = None,
            poll: Callable[[], None] | None = None) -> FrameReport:
        """Loop until quit (or `duration` seconds of show time); returns the frame report."""
        while not self.quit_requested:
            if poll is not None:
                poll()
            work = self.step()
            missed = pacer.wait() if pacer is not None else 0
            self.record_frame(work, missed)
            if duration is not None and self.clock.now() - self._start_time >= duration:
                break
        return self.times.report(self.clock.now() - self._start_time)

    # -- commands -------------------------------------------------------------------------------
    def _apply(self, name: str, value: float | None, now: float) -> None:
        eng = self.engine
        if name == "scene.next":
            self._switch_relative(+1, now)
        elif name == "scene.prev":
            self._switch_relative(-1, now)
        elif name == "scene.goto":
            target = int(value) - 1 if value is not None else 0
            if not 0 <= target < len(self.setlist):
                self._notice(f"no set-list entry {target + 1} (1..{len(self.setlist)})", now)
            else:
                self._switch_to(target, now)
        elif name == "master.blackout":
            eng.blackout = (not eng.blackout) if value is None else value >= 0.5
        elif name == "master.freeze":
            eng.freeze = (not eng.freeze) if value is None else value >= 0.5
        elif name == "master.panic":
            if value is None or value >= 0.5:
                self.cues.cancel()
                eng.panic()
                log.warning("panic: cut to the safe scene (next/previous/1-9 return to the set list)")
        elif name == "master.dimmer":
            eng.dimmer = min(max(value if value is not None else 1.0, 0.0), 1.0)
        elif name in ("master.dimmer.up", "master.dimmer.down"):
            step = DIMMER_STEP if name.endswith("up") else -DIMMER_STEP
            eng.dimmer = round(min(max(eng.dimmer + step, 0.0), 1.0), 4)
        elif name == "tempo.tap":
            eng.beat.tap(now)
        elif name == "hud.toggle":
            self.hud_visible = not self.hud_visible
        elif name == "snapshot":
            self._snapshot(now)
        elif name == "quit":
            if self._quit_armed_until is not None and now <= self._quit_armed_until:
                self.quit_requested = True
                log.warning("quit confirmed")
            else:
                self._quit_armed_until = now + QUIT_CONFIRM_S
                log.warning("%s", self.quit_prompt_text)
        elif name == "cancel":
            self._quit_armed_until = None

    @property
    def quit_prompt_text(self) -> str:
        """The quit confirmation prompt."""
        return (f"Quit? Press Ctrl+Q again within {QUIT_CONFIRM_S:g} s to quit (Ctrl+C in the "
                "terminal; Esc cancels)")

    @property
    def prompt(self) -> str | None:
        """The urgent prompt on screen now (the quit confirmation), or None."""
        return self.quit_prompt_text if self._quit_armed_until is not None else None

    def _notice(self, text: str, now: float) -> None:
        self._message = (text, now + MESSAGE_S)
        log.info("%s", text)

    @property
    def message(self) -> str | None:
        """The current short notice, or None once it has expired."""
        if self._message is None or self.clock.now() > self._message[1]:
            return None
        return self._message[0]

    # -- set-list navigation --------------------------------------------------------------------
    def _switch_relative(self, step: int, now: float) -> None:
        target = self.index + step
        if not 0 <= target < len(self.setlist):
            self._notice("end of the set list" if step > 0 else "start of the set list", now)
            return
        self._switch_to(target, now, skip_step=step)

    def _switch_to(self, target: int, now: float, skip_step: int = 0, *,
                   held: HeldSwitch | None = None, at_beat: float | None = None) -> None:
        """Switch to entry `target` with its transition; if it cannot be built, try the next one
        in `skip_step`'s direction (a broken scene file never stops a set). A quantized
        transition is held until its boundary (counted from `at_beat` when given: an automatic
        advance), then `step` calls this again with the `held` switch, which starts at once."""
        skipped: list[str] = []
        while 0 <= target < len(self.setlist):
            if held is not None:
                active = held.active
            else:
                active = self.cues.take_held(target) or self._take_prepared(target)
            if active is None:
                try:
                    active = self.engine.prepare_scene(self.setlist.load(target))
                except SceneError as exc:
                    log.error("cannot switch to set-list entry %d (%s): %s", target + 1,
                              self.setlist.label(target), exc)
                    skipped.append(str(target + 1))
                    if not skip_step:
                        break
                    target += skip_step
                    continue
            if held is None and self.cues.hold(target, active, now, at_beat):
                return  # compiled now; it starts on its beat, bar or phrase
            fade = self.cues.begin(target, active.spec, self.fade,
                                   held.boundary if held is not None else None)
            self.engine.activate(active, fade=fade)
            if held is not None:
                self.engine.restart_timeline(active, held.boundary)
            self.index = target
            where = f"{target + 1}/{len(self.setlist)} {self.setlist.label(target)}"
            if skipped:
                self.parts.degraded("show", f"{where}; entry {', '.join(skipped)} failed to load")
            else:
                self.parts.ok("show", where)
            self._after_switch(now, fade)
            return
        self.parts.degraded("show", f"entry {', '.join(skipped)} failed to load; still playing "
                                    f"{self.index + 1}/{len(self.setlist)} {self.setlist.label(self.index)}")
        self._notice("no playable scene there; the current scene keeps playing", now)

    def _take_prepared(self, target: int) -> ActiveScene | None:
        if self._next is not None and self._next[0] == target:
            active = self._next[1]
            self._next = None
            return active
        self._drop_next()
        return None

    def _drop_next(self) -> None:
        if self._next is not None:
            self._next[1].release()
            self._next = None

    def _after_switch(self, now: float, fade: float) -> None:
        if self.audio is not None and self.engine.scene is not None:
            # The new scene's tempo centres the tracker's tempo prior.
            self.audio.analyzer.seed_tempo(self.engine.scene.spec.bpm)
        self._drop_next()
        has_next = self.index + 1 < len(self.setlist)
        self._prepare_due = now + fade + PREPARE_DELAY_S if has_next else None
        if self.preview is not None:
            self.preview.load(None, None)
            self._preview_due = None

    def _deferred_work(self, now: float) -> None:
        """Compile the next entry, then its preview, each at its own frame, when due."""
        if self._prepare_due is not None and now >= self._prepare_due:
            self._prepare_due = None
            target = self.index + 1
            try:
                self._next = (target, self.engine.prepare_scene(self.setlist.load(target)))
                self.cues.preload(target, self._next[1].spec)  # its transition shader, too
            except SceneError as exc:
                log.error("next scene %d (%s) cannot be played: %s", target + 1,
                          self.setlist.label(target), exc)
            if self.preview is not None:
                self._preview_due = now + PREVIEW_DELAY_S
        if self._preview_due is not None and now >= self._preview_due and self.preview is not None:
            self._preview_due = None
            target = self.index + 1
            spec = self._next[1].spec if self._next is not None else None
            self.preview.load(spec, self.setlist.label(target) if target < len(self.setlist) else None)

    @property
    def next_label(self) -> str | None:
        """Name of the next set-list entry, None at the end."""
        return self.setlist.label(self.index + 1) if self.index + 1 < len(self.setlist) else None

    @property
    def next_ready(self) -> bool:
        """Whether the next entry is compiled and waiting."""
        return self._next is not None

    # -- snapshots ------------------------------------------------------------------------------
    def _snapshot(self, now: float) -> None:
        if self._snapshot_hook is not None:
            try:
                path = self._snapshot_hook()
                self._notice(f"snapshot: {path}", now)
            except Exception as exc:  # noqa: BLE001 - a failed snapshot must not stop the show
                log.error("snapshot failed: %s", exc)
            return
        rgb = np.ascontiguousarray(self.engine.read_rgba()[..., :3])
        stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")[:-3]  # file naming only
        path = self.snapshot_dir / f"snapshot-{stamp}.png"
        self._notice(f"snapshot: {path}", now)

        def write() -> None:  # snapshot thread: PNG encoding and the disk stay off the render thread
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                write_png(path, rgb)
            except OSError as exc:
                log.error("snapshot %s failed: %s", path, exc)

        threading.Thread(target=write, name="snapshot", daemon=True).start()

    # -- HUD ------------------------------------------------------------------------------------
    def hud_info(self) -> HudInfo:
        """A snapshot of everything the HUD shows (render thread)."""
        eng, beat, a = self.engine, self.engine.beat, self.last_audio
        now = self.clock.now()
        name = eng.scene.spec.name if eng.scene is not None else "-"
        # Position in the scene's bars (and phrase), and the next cue: what, when and how.
        position = self.cues.position_text(self.index)
        upcoming = self.cues.next_text(self.index, self.next_label, self.next_ready,
                                       self._next[1].spec if self._next is not None else None)
        return HudInfo(
            fps=self.times.fps(), frame_ms=tuple(self.times.recent() * 1000.0),
            budget_ms=1000.0 / self.fps, bpm=beat.bpm, bar_beat=beat.bar_beat,
            beats_per_bar=beat.beats_per_bar, beat_phase=beat.beat_phase, tempo_source=beat.source,
            scene=(f"{self.index + 1}/{len(self.setlist)} {name}  {position}" if not eng.panicked
                   else "PANIC (safe scene)"),
            next_scene=upcoming,
            fading=eng.fading,
            dimmer=eng.dimmer, blackout=eng.blackout, freeze=eng.freeze, panic=eng.panicked,
            levels=(("rms", a.rms), ("bass", a.bass), ("mid", a.mid), ("treb", a.treb)),
            activity=tuple((k, now - v) for k, v in sorted(self._inputs.items())),
            parts=part_rows(list(self.parts.snapshot().values())),
            errors=tuple(self.errors), prompt=self.prompt, message=self.message)

    @property
    def elapsed(self) -> float:
        """Seconds of show time since `start`."""
        return self.clock.now() - self._start_time

    @property
    def start_time(self) -> float:
        """The clock time `start` was called at (audio position 0)."""
        return self._start_time


# --------------------------------------------------------------------------------------------
# Command line: `echoel run` and `echoel demo` (the session itself is live.render.outputs.session)


def parse_size(text: str, what: str = "size") -> tuple[int, int]:
    """'640x360' -> (640, 360). Raises ShowError naming `what`. Any thread."""
    return parse_render_size(text, what, largest=(16384, 16384), error=ShowError)


def parse_corners(text: str) -> tuple[tuple[float, float], ...]:
    """'0,0 1,0 1,1 0,1' -> four (x, y) corners (top-left, top-right, bottom-right, bottom-left)."""
    try:
        pts = tuple(tuple(float(v) for v in pair.split(",")) for pair in text.split())
    except ValueError:
        pts = ()
    if len(pts) != 4 or any(len(p) != 2 for p in pts):
        raise ShowError(f"--corners '{text}' must be four x,y pairs separated by spaces: top-left "
                        "top-right bottom-right bottom-left, e.g. '0,0 1,0 1,1 0,1'")
    return pts  # type: ignore[return-value]


def add_run_parser(subparsers) -> argparse.ArgumentParser:
    """Register `echoel run` on the CLI's sub-parsers (main thread)."""
    p = subparsers.add_parser(
        "run", help="play scenes live: program window and operator monitor, or headless",
        description="Play SCENE(s) or set lists live. With a display: a program window (the "
        "projector) and an operator monitor (program, next scene, HUD). Without one, or with "
        "--headless: renders in real time into an mp4 and a contact sheet and prints a report.",
        epilog="keys: " + "; ".join(f"{k}: {v}" for k, v in KEY_HELP))
    p.add_argument("scenes", nargs="*", metavar="SCENE",
                   help="scene names or files, or set list files (default: the bundled show scenes)")
    p.add_argument("--audio", metavar="FILE", help="react to this audio file, looping (default: the demo track)")
    p.add_argument("--size", default="640x360", help="render size WIDTHxHEIGHT (default 640x360)")
    p.add_argument("--fps", type=float, default=30.0, help="target frames per second (default 30)")
    p.add_argument("--duration", type=float, metavar="SECONDS",
                   help="stop after this many seconds (headless default: the audio's length)")
    p.add_argument("--out", metavar="OUT.mp4", default="out/run.mp4",
                   help="headless: the video to write (default out/run.mp4)")
    add_live_arguments(p)
    p.set_defaults(func=cmd_run)
    return p


def add_live_arguments(p: argparse.ArgumentParser) -> None:
    """Options `run` and `demo` share (the demo parser already has --audio, --size, --fps,
    --duration and --out)."""
    add = p.add_argument
    add("--no-audio", action="store_true", help="no audio: the scenes run without sound analysis")
    add("--input", metavar="DEVICE", nargs="?", const="",
        help="react to live audio from an input device (a name or part of one, see `echoel devices`; "
             "no name: the system default) instead of a file")
    add("--headless", action="store_true", help="render headless even when a display is available")
    add("--sheet", metavar="PNG", help="headless: contact sheet to write (default: next to the video)")
    add("--fade", type=float, help=f"crossfade seconds between scenes (default {DEFAULT_FADE_S:g}, "
        "or the set list's)")
    add("--fullscreen", action="store_true", help="program output fullscreen (default: windowed)")
    add("--monitor", metavar="N|NAME", help="monitor for the fullscreen program output: index or name")
    add("--window-size", metavar="WxH", help="program window size when windowed (default: the render size)")
    add("--no-vsync", action="store_true", help="do not wait for the vertical blank")
    add("--flip", choices=("none", "h", "v", "hv"), default="none", help="mirror the program output")
    add("--rotate", type=int, choices=(0, 90, 180, 270), default=0,
        help="rotate the program output clockwise")
    add("--corners", metavar="'x,y x,y x,y x,y'",
        help="corner-pin (keystone) of the program output: where the picture's top-left, top-right, "
             "bottom-right and bottom-left corners land, 0..1 of the window")
    add("--no-operator", action="store_true", help="no operator monitor window")
    add("--record", metavar="OUT.mp4", help="with windows: also record the program output (with the audio)")
    add("--no-osc", action="store_true", help="do not listen for OSC (nor serve OSCQuery)")
    add("--no-controllers", action="store_true", help="no MIDI, controller mappings or Link")
    add("--no-flash-guard", action="store_true",
        help="switch the photosensitivity flash guard off for this show (it is on by default)")


def live_options(args: argparse.Namespace, setlist: SetList, default_video: Path):
    """Turn parsed `run`/`demo` options into `LiveOptions` (missing options take defaults)."""
    from live.audio.demo_track import ensure_demo_track
    from live.render.outputs.session import LiveOptions, check_fps
    from live.render.outputs.transform import OutputTransform
    from live.render.outputs.window import OutputSpec

    size = parse_size(str(getattr(args, "size", None) or "640x360"))
    fps = check_fps(float(getattr(args, "fps", None) or 30.0))
    fade = getattr(args, "fade", None)
    fade = fade if fade is not None else (setlist.fade if setlist.fade is not None else DEFAULT_FADE_S)
    duration = getattr(args, "duration", None)
    if duration is not None and not (math.isfinite(duration) and duration > 0):
        raise ShowError(f"--duration {duration} must be a positive number of seconds")
    flip = getattr(args, "flip", None) or "none"
    corners = getattr(args, "corners", None)
    transform = OutputTransform(flip_h="h" in flip, flip_v="v" in flip, rotate=getattr(args, "rotate", 0) or 0,
                                corners=parse_corners(corners) if corners else None)
    monitor = getattr(args, "monitor", None)
    window_size = getattr(args, "window_size", None)
    program = OutputSpec("program", monitor=int(monitor) if monitor and monitor.isdigit() else monitor,
                         fullscreen=bool(getattr(args, "fullscreen", False)),
                         size=parse_size(window_size, "--window-size") if window_size else size,
                         vsync=not getattr(args, "no_vsync", False), transform=transform)
    audio = None
    live_input = getattr(args, "input", None)
    if live_input is not None and getattr(args, "audio", None):
        raise ShowError("give either --input (live audio) or --audio FILE, not both")
    if not getattr(args, "no_audio", False) and live_input is None:
        audio = Path(args.audio) if getattr(args, "audio", None) else ensure_demo_track()
    return LiveOptions(size=size, fps=fps, fade=float(fade), duration=duration, audio=audio,
                       headless=bool(getattr(args, "headless", False)),
                       video=Path(getattr(args, "out", None) or default_video),
                       sheet=Path(args.sheet) if getattr(args, "sheet", None) else None,
                       record=Path(args.record) if getattr(args, "record", None) else None,
                       program=program, operator=not getattr(args, "no_operator", False),
                       flash_guard=not getattr(args, "no_flash_guard", False),
                       live_input=None if getattr(args, "no_audio", False) else live_input,
                       osc=not getattr(args, "no_osc", False),
                       controllers=not getattr(args, "no_controllers", False),
                       config=getattr(args, "config", None))


def cmd_run(args: argparse.Namespace) -> int:
    """`echoel run`: play the set list live (windows) or headless in real time."""
    from live.render.outputs.session import print_report, run_live

    setlist = SetList.from_args(args.scenes)
    print_report(run_live(setlist, live_options(args, setlist, Path("out/run.mp4"))))
    return 0


def run_demo(args: argparse.Namespace) -> int:
    """`echoel demo`: the demo scene live, reacting to the demo track (or --audio).

    With a display it plays in a window until quit; without one it renders headless in real
    time (the track's length, or --duration) into out/demo.mp4 and out/demo-contact.png and
    prints the report. Takes the demo parser's options (--out, --size, --fps, --duration,
    --audio) and, when the parser has them, those of `add_live_arguments`.
    """
    from live.cli import DEMO_SCENE
    from live.render.outputs.session import print_report, run_live

    setlist = SetList("demo", (find_scene(DEMO_SCENE),))
    print_report(run_live(setlist, live_options(args, setlist, Path("out/demo.mp4"))))
    return 0
