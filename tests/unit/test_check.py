"""`echoel check`: one line per item, WARN for missing optional pieces, exit 1 only for required."""

from __future__ import annotations

import argparse
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from live import check
from live.check import (
    FAIL,
    OK,
    WARN,
    CheckResult,
    check_audio_devices,
    check_display,
    check_extra,
    check_gl,
    check_midi,
    check_osc_port,
    check_scenes,
    exit_status,
    run_checks,
)
from live.render.context import GLUnavailableError
from live.render.outputs.window import WindowError

LINE = re.compile(r"^(OK|WARN|FAIL) [a-z0-9_.-]+: \S.*$")
REPO = Path(__file__).resolve().parents[2]


def test_a_missing_gl_context_is_a_required_failure():
    def no_gl():
        raise GLUnavailableError("cannot create a headless OpenGL context through EGL: no driver")

    result = check_gl(no_gl)
    assert (result.status, result.required) == (FAIL, True)
    assert "no driver" in result.detail
    assert exit_status([result]) == 1


def test_warnings_never_fail_the_check():
    results = [CheckResult(OK, "gl", "fine", True), CheckResult(WARN, "midi", "missing"),
               CheckResult(FAIL, "torch", "optional and broken", False)]
    assert exit_status(results) == 0


def test_no_display_is_a_warning_that_says_run_goes_headless():
    result = check_display(env={})
    assert result.status == WARN and not result.required
    assert "headless" in result.detail


def test_display_that_refuses_windows_is_a_warning():
    def refuse():
        raise WindowError("cannot create an OpenGL 3.3 core context: GLX missing")

    result = check_display(env={"DISPLAY": ":99"}, open_host=refuse)
    assert result.status == WARN and ":99" in result.detail and "GLX missing" in result.detail


def test_display_lists_its_monitors():
    from live.render.outputs.window import MonitorInfo

    class Host:
        closed = False

        def monitors(self):
            return [MonitorInfo(0, "HDMI-1", 1920, 1080, 0, 0, 60), MonitorInfo(1, "eDP-1", 1280, 800, 0, 0, 60)]

        def close(self):
            Host.closed = True

    result = check_display(env={"DISPLAY": ":0"}, open_host=Host)
    assert result.status == OK and "0: HDMI-1 1920x1080" in result.detail and "1: eDP-1" in result.detail
    assert Host.closed


def test_osc_port_in_use_is_a_warning_and_a_free_port_is_ok():
    holder = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    holder.bind(("0.0.0.0", 0))
    port = holder.getsockname()[1]
    try:
        busy = check_osc_port(port)
        assert busy.status == WARN and f"{port}/udp is in use" in busy.detail and "osc.port" in busy.detail
    finally:
        holder.close()
    assert check_osc_port(port).status == OK
    assert check_osc_port(0).status == OK


def test_missing_extras_and_midi_are_warnings_with_install_hints():
    missing = check_extra("torch", "AI clip generation", "pip install 'echoel-live[gen]'",
                          find_spec=lambda name: None)
    assert missing.status == WARN and "echoel-live[gen]" in missing.detail

    def no_module(name):
        raise ImportError(f"No module named '{name}'")

    midi = check_midi(import_module=no_module)
    assert midi.status == WARN and "python-rtmidi" in midi.detail


def test_midi_without_a_midi_system_is_a_warning():
    class FakeRtmidi:
        class MidiIn:
            def __init__(self):
                raise SystemError("MidiInAlsa::initialize: error creating ALSA sequencer client object.")

    result = check_midi(import_module=lambda name: FakeRtmidi)
    assert result.status == WARN and "ALSA sequencer" in result.detail


def test_audio_devices_through_a_backend_stand_in():
    class Backend:
        @staticmethod
        def query_hostapis():
            return [{"name": "JACK Audio Connection Kit"}]

        @staticmethod
        def query_devices():
            return [{"name": "system", "hostapi": 0, "max_input_channels": 2, "max_output_channels": 2,
                     "default_samplerate": 48000.0}]

    result = check_audio_devices(Backend)
    assert result.status == OK and "system (JACK Audio Connection Kit)" in result.detail

    class Silent(Backend):
        @staticmethod
        def query_devices():
            return [{"name": "out", "hostapi": 0, "max_input_channels": 0, "max_output_channels": 2,
                     "default_samplerate": 48000.0}]

    assert check_audio_devices(Silent).status == WARN


def test_broken_scene_folder_fails_the_required_scene_check(tmp_path):
    (tmp_path / "010-fine.toml").write_text('schema = 1\n[scene]\nname = "fine"\n[[layers]]\nid = "a"\n'
                                            'kind = "shader"\nsource = "generators/plasma"\n')
    (tmp_path / "020-bad.toml").write_text("schema = 1\n[scene\n")
    result = check_scenes([tmp_path])
    assert result.status == FAIL and result.required and "1 of 2" in result.detail
    assert check_scenes([tmp_path / "empty"]).status == FAIL


@pytest.fixture
def no_gl_in_this_process(monkeypatch):
    """In-process runs must not create GL contexts: a second EGL context (or a GLX one) on the
    test thread un-binds the session's context that the GL tests use. The real checks run in a
    fresh process below."""
    monkeypatch.setattr(check, "check_gl", lambda: CheckResult(OK, "gl", "stand-in", True))
    monkeypatch.setattr(check, "check_display", lambda: CheckResult(WARN, "display", "stand-in"))


def test_a_crashing_check_becomes_a_line(monkeypatch, no_gl_in_this_process):
    def boom():
        raise RuntimeError("unexpected")

    monkeypatch.setattr(check, "check_hud_font", boom)
    results = run_checks(0)
    hud = next(r for r in results if r.name == "hud")
    assert hud.status == WARN and "RuntimeError: unexpected" in hud.detail


def test_every_line_has_the_documented_form(no_gl_in_this_process):
    results = run_checks(0)
    names = [r.name for r in results]
    for wanted in ("gl", "video", "scenes", "display", "audio", "midi", "osc", "torch", "diffusers",
                   "mediapipe", "ray"):
        assert wanted in names
    for r in results:
        assert LINE.match(r.line), r.line


def test_cmd_check_prints_and_exits_by_required_items(capsys, monkeypatch):
    parser = argparse.ArgumentParser()
    parser.add_argument("--config")
    sub = parser.add_subparsers()
    check.add_check_parser(sub)
    args = parser.parse_args(["check"])
    monkeypatch.setattr(check, "run_checks", lambda port: [CheckResult(OK, "gl", "x", True),
                                                           CheckResult(WARN, "midi", "y")])
    assert args.func(args) == 0
    assert capsys.readouterr().out.splitlines() == ["OK gl: x", "WARN midi: y"]
    monkeypatch.setattr(check, "run_checks", lambda port: [CheckResult(FAIL, "video", "no x264", True)])
    assert args.func(args) == 1
    assert "required item(s) failed: video" in capsys.readouterr().out


def test_check_in_a_fresh_process_without_display():
    code = ("import argparse, sys\nfrom live.check import add_check_parser\n"
            "p = argparse.ArgumentParser(); p.add_argument('--config'); s = p.add_subparsers()\n"
            "add_check_parser(s); a = p.parse_args(['check']); sys.exit(a.func(a))\n")
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "HOME": str(Path.home())}
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120, check=False)
    lines = proc.stdout.splitlines()
    assert all(LINE.match(line) for line in lines), proc.stdout
    assert any(line.startswith("WARN display: none") for line in lines)
    gl_line = next(line for line in lines if line.split()[1] == "gl:")
    assert proc.returncode == (1 if gl_line.startswith("FAIL") else 0), proc.stdout + proc.stderr
