"""`echoel check`: is this machine ready for a show?

One line per item, ``OK|WARN|FAIL name: detail``. Required items (OpenGL, the video encoder, the
bundled scenes) FAIL when missing and make the command exit 1; everything optional (a display,
audio devices, MIDI, the OSC port, the HUD font, the extras for generation, camera and clusters)
is a WARN that says what is lost and how to get it. A check that crashes is reported as its own
line, never as a traceback.

Runs on the main thread, before any show (it creates and releases its own GL context).
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import importlib
import importlib.metadata
import importlib.util
import os
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

OK, WARN, FAIL = "OK", "WARN", "FAIL"

#: Optional extras: (module, what it enables, how to install).
EXTRAS = (
    ("torch", "AI clip generation", "pip install 'echoel-live[gen]'"),
    ("diffusers", "AI clip generation", "pip install 'echoel-live[gen]'"),
    ("mediapipe", "camera tracking", "pip install 'echoel-live[camera]'"),
    ("ray", "generation on a cluster", "pip install 'echoel-live[cluster]'"),
)


@dataclass(frozen=True)
class CheckResult:
    """One checked item. `required` items make `echoel check` exit 1 when they FAIL."""

    status: str
    name: str
    detail: str
    required: bool = False

    @property
    def line(self) -> str:
        """The printed form: ``OK gl: llvmpipe ...``."""
        return f"{self.status} {self.name}: {self.detail}"


def check_gl(create: Callable[[], Any] | None = None) -> CheckResult:
    """Required: an OpenGL 3.3 core context (headless EGL is enough)."""
    from live.render.context import (
        GLUnavailableError,
        create_headless_context,
        renderer_name,
    )

    try:
        ctx = (create or create_headless_context)()
    except GLUnavailableError as exc:
        return CheckResult(FAIL, "gl", str(exc), required=True)
    try:
        renderer = renderer_name(ctx)
        version = ctx.version_code
    finally:
        ctx.release()
    detail = f"{renderer}, OpenGL {version // 100}.{version % 100 // 10}"
    if "llvmpipe" in renderer.lower() or "softpipe" in renderer.lower():
        detail += " (software rendering: keep the render size near 640x360)"
    return CheckResult(OK, "gl", detail, required=True)


def check_display(env: dict[str, str] | None = None, open_host: Callable[[], Any] | None = None) -> CheckResult:
    """Optional: a display for windows. Without one, `echoel run` renders headless."""
    from live.render.outputs.window import WindowError, display_available

    env = dict(os.environ) if env is None else env
    if not display_available(env):
        return CheckResult(WARN, "display", "none (DISPLAY and WAYLAND_DISPLAY unset): echoel run and "
                           "echoel demo render headless into an mp4")
    where = env.get("WAYLAND_DISPLAY") or env.get("DISPLAY")
    try:
        if open_host is None:
            from live.render.outputs.window import GlfwHost

            open_host = GlfwHost
        host = open_host()
    except WindowError as exc:
        return CheckResult(WARN, "display", f"{where}: windows cannot open ({exc}); shows run headless")
    try:
        monitors = host.monitors()
        listed = ", ".join(f"{m.index}: {m.name} {m.width}x{m.height}" for m in monitors) or "none"
    finally:
        host.close()
    return CheckResult(OK, "display", f"{where}, monitors: {listed}")


def check_video() -> CheckResult:
    """Required: PyAV with the H.264 and AAC encoders (recording, headless runs, renders)."""
    try:
        import av
    except ImportError as exc:
        return CheckResult(FAIL, "video", f"PyAV is not installed ({exc}): pip install av", required=True)
    missing = []
    for codec in ("libx264", "aac"):
        try:
            av.codec.Codec(codec, "w")
        except Exception:  # noqa: BLE001 - PyAV raises several types for a missing codec
            missing.append(codec)
    if missing:
        return CheckResult(FAIL, "video", f"PyAV {av.__version__} lacks the encoder(s) {', '.join(missing)}; "
                           "install the PyAV wheel from PyPI (it bundles them)", required=True)
    return CheckResult(OK, "video", f"PyAV {av.__version__}: H.264 (libx264) and AAC encoders", required=True)


def check_scenes(dirs: list | None = None) -> CheckResult:
    """Required: the bundled scenes parse (a broken install or checkout shows up here)."""
    from live.scene import list_scenes

    scenes = list_scenes(dirs)
    if not scenes:
        return CheckResult(FAIL, "scenes", "no scene files found (is the scenes/ folder missing?)", required=True)
    broken = [(name, desc) for name, _path, desc in scenes if desc.startswith("ERROR:")]
    if broken:
        name, desc = broken[0]
        return CheckResult(FAIL, "scenes", f"{len(broken)} of {len(scenes)} do not load; first: {name}: "
                           f"{desc[len('ERROR: '):]}", required=True)
    return CheckResult(OK, "scenes", f"{len(scenes)} scenes load", required=True)


def check_hud_font() -> CheckResult:
    """Optional: the HUD's font (Pillow plus DejaVu Sans Mono, else Pillow's built-in font)."""
    from live.render.hud import build_font_atlas

    try:
        atlas = build_font_atlas()
    except RuntimeError as exc:
        return CheckResult(WARN, "hud", f"{exc}; the HUD cannot draw text")
    if atlas.source.endswith(".ttf"):
        return CheckResult(OK, "hud", f"font {atlas.source}")
    return CheckResult(WARN, "hud", "DejaVu Sans Mono not found, using Pillow's built-in font "
                       "(Debian: fonts-dejavu-core)")


def check_audio_devices(backend: Any = None) -> CheckResult:
    """Optional: audio input devices (PortAudio through sounddevice)."""
    try:
        from live.audio.devices import AudioDeviceError, list_devices
    except ImportError as exc:
        return CheckResult(WARN, "audio", f"audio device support missing ({exc})")
    try:
        devices = list_devices(backend)
    except AudioDeviceError as exc:
        return CheckResult(WARN, "audio", f"{exc}; live input unavailable (audio files still work)")
    inputs = [d for d in devices if d.input_channels > 0]
    if not inputs:
        return CheckResult(WARN, "audio", f"no input devices ({len(devices)} devices in all); live input "
                           "unavailable (audio files still work)")
    names = ", ".join(f"{d.name} ({d.host_api})" for d in inputs[:4])
    more = f" and {len(inputs) - 4} more" if len(inputs) > 4 else ""
    return CheckResult(OK, "audio", f"{len(inputs)} input device(s): {names}{more}")


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Silence C libraries that print to fd 2 (alsa-lib does when /dev/snd/seq is missing)."""
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def check_midi(import_module: Callable[[str], Any] = importlib.import_module) -> CheckResult:
    """Optional: MIDI input through python-rtmidi."""
    try:
        rtmidi = import_module("rtmidi")
    except ImportError:
        return CheckResult(WARN, "midi", "python-rtmidi is not installed (pip install python-rtmidi): "
                           "MIDI control unavailable")
    try:
        with _quiet_stderr():
            midi_in = rtmidi.MidiIn()
            ports = list(midi_in.get_ports())
            midi_in.delete() if hasattr(midi_in, "delete") else None
    except Exception as exc:  # noqa: BLE001 - rtmidi raises its own SystemError family
        return CheckResult(WARN, "midi", f"no MIDI system ({type(exc).__name__}: {exc}); "
                           "start ALSA sequencer or JACK to use MIDI")
    if not ports:
        return CheckResult(WARN, "midi", "python-rtmidi works but no MIDI input ports are connected")
    return CheckResult(OK, "midi", f"{len(ports)} input port(s): {', '.join(ports[:4])}")


def check_osc_port(port: int, host: str = "0.0.0.0") -> CheckResult:
    """Optional: the OSC input port (UDP) is free."""
    if port == 0:
        return CheckResult(OK, "osc", "port 0: a free port is picked at start")
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.bind((host, port))
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            return CheckResult(WARN, "osc", f"{port}/udp is in use by another program; set osc.port in "
                               "config.toml or ECHOEL_OSC_PORT")
        return CheckResult(WARN, "osc", f"{port}/udp cannot be opened: {exc.strerror or exc}")
    finally:
        sock.close()
    return CheckResult(OK, "osc", f"{port}/udp free")


def check_extra(module: str, enables: str, install: str,
                find_spec: Callable[[str], Any] = importlib.util.find_spec) -> CheckResult:
    """Optional extra: is `module` installed (found without importing it: torch takes seconds)."""
    try:
        found = find_spec(module) is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        return CheckResult(WARN, module, f"not installed: {enables} unavailable ({install})")
    try:
        version = importlib.metadata.version(module)
    except importlib.metadata.PackageNotFoundError:
        version = "installed"
    return CheckResult(OK, module, f"{version} ({enables})")


def _guarded(name: str, required: bool, fn: Callable[[], CheckResult]) -> CheckResult:
    try:
        return fn()
    except Exception as exc:  # noqa: BLE001 - a crashing check is a result, not a traceback
        return CheckResult(FAIL if required else WARN, name,
                           f"the check itself failed: {type(exc).__name__}: {exc}", required)


def run_checks(osc_port: int = 9000) -> list[CheckResult]:
    """Every check, in the order printed."""
    checks: list[tuple[str, bool, Callable[[], CheckResult]]] = [
        ("gl", True, check_gl),
        ("video", True, check_video),
        ("scenes", True, check_scenes),
        ("display", False, check_display),
        ("hud", False, check_hud_font),
        ("audio", False, check_audio_devices),
        ("midi", False, check_midi),
        ("osc", False, lambda: check_osc_port(osc_port)),
    ]
    checks += [(m, False, (lambda m=m, e=e, i=i: check_extra(m, e, i))) for m, e, i in EXTRAS]
    return [_guarded(name, required, fn) for name, required, fn in checks]


def exit_status(results: list[CheckResult]) -> int:
    """1 when a required item failed, else 0 (warnings never fail the check)."""
    return 1 if any(r.required and r.status == FAIL for r in results) else 0


def cmd_check(args: argparse.Namespace) -> int:
    """`echoel check`: print one line per item; exit 1 only when a required item fails."""
    from live.config import load_config

    cfg = load_config(getattr(args, "config", None))
    results = run_checks(int(cfg.get("osc.port", 9000)))
    for result in results:
        print(result.line, flush=True)
    status = exit_status(results)
    failed = [r.name for r in results if r.required and r.status == FAIL]
    if failed:
        print(f"echoel check: required item(s) failed: {', '.join(failed)}")
    return status


def add_check_parser(subparsers) -> argparse.ArgumentParser:
    """Register `echoel check` on the CLI's sub-parsers."""
    p = subparsers.add_parser(
        "check", help="check this machine for a show: GL, display, audio, MIDI, OSC, extras",
        description="Print one line per item: OK|WARN|FAIL name: detail. Missing optional pieces are "
        "WARN; the exit status is 1 only when a required item (gl, video, scenes) fails.")
    p.set_defaults(func=cmd_check)
    return p
