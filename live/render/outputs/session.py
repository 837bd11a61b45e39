"""A live session: open the outputs for a show, run it in real time, report.

With a display: a program window (the projector: fullscreen on a chosen monitor or windowed,
through its flip/rotate/corner-pin) and an operator monitor (program, next scene, HUD). Without
one, or when no window can be opened: headless in real time, into an mp4 with the audio and a
contact sheet. Whatever fails to open is reported in the part registry and the log, and the show
runs on with what is left. At the end a one-screen report: frames, fps, frame-time p50/p99,
dropped frames, and what was written.

Runs on the main thread (GLFW needs its events there), which is the render thread.
"""

from __future__ import annotations

import datetime
import logging
import math
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from live.clock import WallClock
from live.engine import Engine
from live.health.registry import PartRegistry
from live.render.outputs.headless import (
    ContactSheet,
    ContactSheetOutput,
    RecordingOutput,
)
from live.render.outputs.timing import FramePacer, FrameReport
from live.render.outputs.window import (
    GlfwHost,
    OutputSpec,
    WindowError,
    display_available,
)
from live.render.recorder import Recorder, RecordingReport, Snapshotter
from live.render.video import OutputError
from live.show import DEFAULT_FADE_S, FilePlayback, LiveInput, NextPreview, SetList, Show

log = logging.getLogger(__name__)

#: The operator monitor redraws every this many frames: it is for glancing at, and with a
#: software renderer every full-window pass comes out of the program's frame time.
MONITOR_EVERY = 2
MONITOR_SIZE = (640, 360)


@dataclass
class LiveOptions:
    """How to run a show live.

    Attributes:
        size: render size (independent of every output's size).
        fps: target frame rate.
        fade: crossfade seconds between scenes.
        duration: stop after this many seconds of show time (None: until quit; headless: the
            audio's length, or 60 s without audio).
        audio: a file playing in real time (looping), or None.
        headless: render headless even with a display.
        video: headless: the mp4 to record (with the audio).
        sheet: headless: the contact sheet PNG (None: next to the video).
        record: with windows: also record the program output to this mp4 (None: no recording).
        program: the program output window.
        operator: open the operator monitor.
        flash_guard: limit flashes on the program output (on by default; off logs a warning).
        hot_reload: watch the running scene and its shaders and reload them when saved.
        live_input: react to this audio input device instead of `audio` ("" = the system
            default; None = no live input).
        osc: listen for OSC (and serve OSCQuery) as the configuration says.
        controllers: MIDI input and output, controller mapping files, Link and tempo arbitration.
        config: the configuration file given on the command line (None: the usual search).
        snapshots: folder for snapshots (None: ~/.local/share/echoel/snapshots).
        shader_roots: shader folders (None: the defaults).
    """

    size: tuple[int, int] = (640, 360)
    fps: float = 30.0
    fade: float = DEFAULT_FADE_S
    duration: float | None = None
    audio: Path | None = None
    headless: bool = False
    video: Path = Path("out/run.mp4")
    sheet: Path | None = None
    record: Path | None = None
    program: OutputSpec = field(default_factory=OutputSpec)
    operator: bool = True
    flash_guard: bool = True
    snapshots: Path | None = None
    shader_roots: list[Path] | None = None
    hot_reload: bool = True
    live_input: str | None = None
    osc: bool = True
    controllers: bool = True
    config: str | None = None


@dataclass
class SessionReport:
    """What a session did: the frame report, whether it ran headless and why, what it wrote."""

    frames: FrameReport
    headless_reason: str | None
    recording: RecordingReport | None = None
    contact_sheet: Path | None = None
    errors: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """The one-screen report."""
        out = ["echoel: show report"]
        if self.headless_reason:
            out.append(f"  headless ({self.headless_reason})")
        out += ["  " + line for line in self.frames.lines()]
        rec = self.recording
        if rec is not None:
            dropped = f", {rec.frames_dropped} dropped by the encoder" if rec.frames_dropped else ""
            out.append(f"  video: {rec.path.resolve()} ({rec.frames_written} frames, {rec.duration:.1f} s{dropped})")
            if rec.error:
                out.append(f"  recording stopped: {rec.error}")
        if self.contact_sheet is not None:
            out.append(f"  contact sheet: {self.contact_sheet.resolve()}")
        out += [f"  error: {err}" for err in self.errors]
        return out


class WindowProgramOutput:
    """The program (projector) window as a show output. Main thread."""

    def __init__(self, window) -> None:
        self.window = window
        self.name = window.spec.name

    def present(self, show: Show) -> None:
        """Draw the program picture through the window's transform and swap."""
        self.window.present(show.engine.output_fbo.color_attachments[0])
        self.window.host.make_current()

    def close(self) -> None:
        """Close the window."""
        self.window.close()


class MonitorOutput:
    """The operator monitor window as a show output, redrawn every `every` frames. Main thread."""

    name = "monitor"

    def __init__(self, view, every: int = MONITOR_EVERY) -> None:
        self.view = view
        self.every = max(1, int(every))
        self._frame = 0

    def present(self, show: Show) -> None:
        """Draw program, next-scene preview, HUD and prompt; swap."""
        self._frame += 1
        if (self._frame - 1) % self.every:
            return
        preview = show.preview
        self.view.present(show.engine.output_fbo.color_attachments[0], show.hud_info(),
                          hud_visible=show.hud_visible,
                          preview=preview.texture if preview is not None and preview.loaded else None,
                          preview_label=show.next_label)
        self.view.window.host.make_current()

    def close(self) -> None:
        """Close the window."""
        self.view.close()


class FinishBeforeWindows:
    """Waits for the engine's GL work before window contexts sample its picture (GL's rule for
    objects shared between contexts). First in the output list."""

    name = "sync"

    def present(self, show: Show) -> None:
        """Wait for the engine context's commands to complete."""
        show.engine.ctx.finish()

    def close(self) -> None:
        """Nothing to release."""


def open_program_window(host: GlfwHost, spec: OutputSpec, on_key, parts: PartRegistry):
    """Open the program window: on failure windowed on the primary monitor, then give up
    (returns None; the show still runs). Every fallback is reported as part "output.program"."""
    try:
        window = host.open_window(spec, on_key)
    except WindowError as exc:
        log.error("program output: %s", exc)
        if spec.fullscreen:
            try:
                windowed = OutputSpec(spec.name, None, False, spec.size, spec.vsync, spec.transform)
                window = host.open_window(windowed, on_key)
                parts.degraded("output.program", f"fullscreen failed ({exc}); windowed")
                return window
            except WindowError as exc2:
                exc = exc2
        parts.failed("output.program", str(exc))
        return None
    if window.note:
        parts.degraded("output.program", window.note)
    else:
        parts.ok("output.program", f"fullscreen on {window.monitor_name}" if window.monitor_name
                 else f"window {spec.size[0]}x{spec.size[1]}")
    return window


def open_operator_monitor(host: GlfwHost, on_key, parts: PartRegistry):
    """Open the operator monitor (a `MonitorView`), or None with part "output.monitor" failed."""
    from live.render.outputs.monitor import MonitorView

    try:
        window = host.open_window(OutputSpec("monitor", size=MONITOR_SIZE, vsync=False), on_key,
                                  title="echoel operator monitor")
        view = MonitorView(window)
        parts.ok("output.monitor", "window")
        return view
    except (WindowError, RuntimeError) as exc:  # RuntimeError: the HUD font (Pillow missing)
        log.error("operator monitor: %s", exc)
        parts.failed("output.monitor", str(exc))
        return None
    finally:
        host.make_current()


def poll_windows(host: GlfwHost, show: Show) -> None:
    """Between frames: window events (keys), and fullscreen windows whose monitor went away."""
    from live.render.outputs.window import list_monitors

    host.poll_events()
    gone = [name for kind, name in host.take_monitor_events() if kind == "disconnected"]
    if gone:
        names = {m.name for m in list_monitors()}
        for window in list(host.windows):
            if window.spec.fullscreen and window.monitor_name not in names:
                window.go_windowed(f"monitor {', '.join(gone)} gone; windowed on the primary monitor")
                show.parts.degraded(f"output.{window.spec.name}", window.note)
    host.make_current()


def install_sigint(show: Show):
    """Ctrl+C in the terminal asks before stopping, like Ctrl+Q in the window. Main thread.

    Returns the previous handler (restore it with `signal.signal(signal.SIGINT, previous)`).
    """
    def handler(_sig, _frame) -> None:
        show.post("quit")  # the render loop shows and logs the prompt

    try:
        return signal.signal(signal.SIGINT, handler)
    except ValueError:  # not the main thread: leave the handler as it is
        return signal.getsignal(signal.SIGINT)


def run_live(setlist: SetList, options: LiveOptions, *, print_fn: Callable[[str], None] = print,
             host_factory: Callable[[], GlfwHost] = GlfwHost,
             on_show: Callable[[Show], None] | None = None) -> SessionReport:
    """Run `setlist` live with `options` until quit or `options.duration`; return the report.

    `on_show(show)` is called once the show has started, before the first frame (benchmarks and
    rehearsal scripts add outputs or post commands there).

    Raises AudioFileError, SceneError, OutputError or GLUnavailableError (user errors with file
    names) before the show starts when an input or output cannot be used.
    """
    from live.render.context import create_headless_context

    audio = FilePlayback.open(options.audio) if options.audio is not None else None
    host = None
    why_headless = None
    if options.headless:
        why_headless = "--headless"
    elif not display_available():
        why_headless = "no display: DISPLAY and WAYLAND_DISPLAY are not set"
    else:
        try:
            host = host_factory()
        except WindowError as exc:
            why_headless = f"windows cannot open: {exc}"
            log.error("%s", why_headless)
    clock = WallClock()
    parts = PartRegistry(time_source=clock.now)
    if options.live_input is not None:
        # Never raises for a missing device: it starts on silence and keeps looking for it.
        audio = LiveInput.open(options.live_input or None, clock, parts)
    try:
        ctx = host.ctx if host is not None else create_headless_context()
    except BaseException:
        if host is not None:
            host.close()
        raise
    engine: Engine | None = None
    show: Show | None = None
    reloader = None
    osc = None
    controllers = None
    recording: RecordingOutput | None = None
    sheet: ContactSheet | None = None
    duration = options.duration
    try:
        # DATE / iDate show the local wall time in a live show (clock time 0 was a moment ago).
        date_origin = datetime.datetime.now() - datetime.timedelta(seconds=clock.now())
        engine = Engine(ctx, options.size, clock, parts=parts, shader_roots=options.shader_roots,
                        date_origin=date_origin)
        if options.flash_guard:
            engine.output_filters.append(_flash_guard(ctx, options, parts))
        else:
            log.warning("flash guard OFF for this show: flashes on the program output are not limited")
            parts.degraded("flash_guard", "flash guard off (--no-flash-guard)")
        outputs: list = []
        preview = None
        route: list[Show] = []  # the show, once made: key callbacks post to it

        def on_key(event) -> None:
            if route:
                route[0].post_key(event.name)

        if host is not None:
            outputs.append(FinishBeforeWindows())
            program = open_program_window(host, options.program, on_key, parts)
            if program is not None:
                outputs.append(WindowProgramOutput(program))
            if options.operator:
                view = open_operator_monitor(host, on_key, parts)
                if view is not None:
                    outputs.append(MonitorOutput(view))
                    preview = NextPreview(ctx, clock, shader_roots=options.shader_roots)
            if program is None:
                why_headless = "the program window could not be opened"
        video = options.record
        if why_headless:
            if duration is None:
                duration = (audio.duration if audio is not None else None) or 60.0
            video = Path(options.video)
            sheet_path = Path(options.sheet) if options.sheet else video.with_name(video.stem + "-contact.png")
            sheet_path.parent.mkdir(parents=True, exist_ok=True)
            sheet = ContactSheet(sheet_path, duration)
            print_fn(f"echoel: rendering headless in real time ({why_headless}): {options.size[0]}x"
                     f"{options.size[1]} at {options.fps:g} fps for {duration:.0f} s -> {video}, {sheet_path}")
            parts.degraded("output.program", f"headless: {why_headless}")
        if video is not None:
            video.parent.mkdir(parents=True, exist_ok=True)
            recorder = Recorder(engine.output_fbo, video, clock=clock, fps=round(options.fps),
                                audio_rate=audio.sr if audio is not None else None,
                                audio_channels=audio.samples.shape[1] if audio is not None else 2, parts=parts)
            recording = RecordingOutput(recorder, audio)
            # Before the windows: the capture reads the engine's context, which is current here.
            outputs.insert(1 if host is not None else 0, recording)
        if sheet is not None:
            outputs.append(ContactSheetOutput(sheet))
        snapshots = Snapshotter(engine.output_fbo, options.snapshots, parts=parts)
        if options.hot_reload:
            from live.reload import HotReloader

            reloader = HotReloader(engine)
        show = Show(engine, setlist, fade=options.fade, audio=audio, fps=options.fps, preview=preview,
                    outputs=outputs, snapshot=snapshots.snapshot, reloader=reloader)
        route.append(show)
        if isinstance(audio, FilePlayback):
            parts.ok("audio", f"file {audio.name}, looping")
        show.start()
        if reloader is not None:
            reloader.start()
        # Inputs polled once per frame before the engine ticks (render thread).
        pollers: list[Callable[[], None]] = []
        if host is not None:
            pollers.append(lambda: poll_windows(host, show))
        if options.osc:
            osc = _osc_services(engine, options, show, parts)
            if osc is not None:
                pollers.append(osc.poll)
        if options.controllers:
            controllers = _controllers(show, options, parts)
        if on_show is not None:
            on_show(show)
        previous = install_sigint(show)
        try:
            frames = show.run(duration=duration, pacer=FramePacer(clock, options.fps),
                              poll=(lambda: [poll() for poll in pollers]) if pollers else None)
        finally:
            if previous is not None:
                signal.signal(signal.SIGINT, previous)
        report = SessionReport(frames, why_headless)
        if recording is not None:
            if host is not None:
                host.make_current()
            recording.close()
            report.recording = recording.report
        if sheet is not None:
            try:
                report.contact_sheet = sheet.write()
            except OutputError as exc:
                report.errors.append(str(exc))
        snapshots.wait(10.0)
        report.errors += snapshots.errors
        return report
    finally:
        if isinstance(audio, LiveInput):
            audio.close()
        if controllers is not None:
            controllers.stop()
        if osc is not None:
            osc.close()
        if reloader is not None:
            reloader.stop()
        if show is not None:
            if host is not None:
                host.make_current()
            show.close()
        if host is not None:
            host.make_current()
        if engine is not None:
            engine.release()
        if host is not None:
            host.close()
        else:
            ctx.release()


def _osc_services(engine: Engine, options: LiveOptions, show: Show, parts: PartRegistry):
    """OSC in/out, OSCQuery and the companion app's bio signals; None when they cannot start
    (a port in use...): the show goes on without them and the part registry says why."""
    from live.config import load_config
    from live.control.osc import OscError
    from live.control.osc_service import OscServices

    services = None
    try:
        services = OscServices.from_config(engine, load_config(options.config), commands=show.post)
        services.start()
    except (OscError, OSError, ValueError) as exc:
        if services is not None:
            services.close()
        parts.failed("osc", f"OSC input unavailable: {exc}")
        log.error("OSC input unavailable, the show goes on without it: %s", exc)
        return None
    return services


def _controllers(show: Show, options: LiveOptions, parts: PartRegistry):
    """MIDI, mapping files, MIDI learn, Link and the tempo arbiter; None when their settings are
    broken (the show goes on without them; the error names the file and key)."""
    from live.config import ConfigError, load_config
    from live.control.controllers import attach_controllers
    from live.scene import SceneError

    try:
        return attach_controllers(show, load_config(options.config))
    except (ConfigError, SceneError, OSError) as exc:
        parts.failed("controllers", str(exc))
        log.error("controllers unavailable, the show goes on without them: %s", exc)
        return None


def _flash_guard(ctx, options: LiveOptions, parts: PartRegistry):
    """The photosensitivity guard on the program output (live/render/safety.py)."""
    from live.render.safety import FlashGuard

    return FlashGuard(ctx, options.size, fps_hint=options.fps, enabled=True, parts=parts)


def check_fps(fps: float) -> float:
    """Validate a frame rate (1..240). Raises ValueError naming the option."""
    if not (math.isfinite(fps) and 1.0 <= fps <= 240.0):
        raise ValueError(f"--fps {fps:g} must be from 1 to 240")
    return float(fps)


def print_report(report: SessionReport, stream: TextIO | None = None) -> None:
    """Print the one-screen report."""
    print("\n".join(report.lines()), file=stream, flush=True)
