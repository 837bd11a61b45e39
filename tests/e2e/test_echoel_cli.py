"""The `echoel` command line as a user runs it: exit codes, messages, deterministic renders."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from live import __version__
from live.audio.synthetic import kick_hat_loop

ROOT = Path(__file__).resolve().parents[2]


def echoel(*args: str, cwd: Path | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "live", *args], cwd=cwd or ROOT, capture_output=True,
                          text=True, timeout=300, env=env)


@pytest.fixture(scope="module")
def loop_wav(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("audio") / "loop.wav"
    sf.write(path, kick_hat_loop(120.0, 2.0), 48000)
    return path


def test_version_and_help():
    r = echoel("--version")
    assert r.returncode == 0 and r.stdout.strip() == f"echoel {__version__}"
    for cmd in ([], ["render"], ["scenes"], ["config"], ["demo"]):
        r = echoel(*cmd, "--help")
        assert r.returncode == 0 and "usage: echoel" in r.stdout


def test_no_command_prints_help_and_fails():
    r = echoel()
    assert r.returncode == 2 and "usage: echoel" in r.stdout


def test_scenes_lists_name_path_description_tab_separated():
    r = echoel("scenes")
    assert r.returncode == 0, r.stderr
    rows = [line.split("\t") for line in r.stdout.splitlines()]
    assert rows and all(len(row) == 3 for row in rows)
    names = {row[0] for row in rows}
    assert "demo" in names
    assert all(Path(row[1]).exists() for row in rows)


def test_config_prints_values_and_their_source(tmp_path):
    cfg = tmp_path / "config.toml"
    cfg.write_text("[osc]\nport = 9100\n")
    r = echoel("--config", str(cfg), "config")
    assert r.returncode == 0, r.stderr
    lines = {line.split("=")[0].strip(): line for line in r.stdout.splitlines() if "=" in line}
    assert "9100" in lines["osc.port"] and str(cfg) in lines["osc.port"]
    assert "default" in lines["http.port"]


@pytest.mark.parametrize("args, needle", [
    (["render", "no-such-scene", "--hashes", "x.txt"], "no-such-scene"),
    (["render", "000-idle", "--audio", "/nonexistent/song.wav", "--hashes", "x.txt"], "/nonexistent/song.wav"),
    (["render", "000-idle", "--out", "/nonexistent-dir/out.mp4"], "/nonexistent-dir"),
    (["render", "000-idle", "--size", "big", "--hashes", "x.txt"], "640x360"),
])
def test_user_errors_exit_2_with_a_message_and_no_traceback(tmp_path, args, needle):
    r = echoel(*args, cwd=tmp_path)
    assert r.returncode == 2, r.stdout + r.stderr
    assert needle in r.stderr
    assert "Traceback" not in r.stderr


def test_broken_scene_file_names_the_file_and_key(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('schema = 1\n[scene]\nname = "x"\n[[layers]]\nid = "a"\nkind = "shader"\n'
                   'source = "generators/does-not-exist"\n')
    r = echoel("render", str(bad), "--hashes", str(tmp_path / "h.txt"))
    assert r.returncode == 2
    assert "bad.toml:7" in r.stderr and "layers[0] (id 'a').source" in r.stderr
    assert "Traceback" not in r.stderr


@pytest.mark.gl
def test_render_is_deterministic_and_writes_mp4_with_audio(gl_ctx, tmp_path, loop_wav):
    import av

    outs = []
    for k in range(2):
        hashes = tmp_path / f"h{k}.txt"
        out = tmp_path / f"o{k}.mp4"
        r = echoel("render", "002-feedback", "--audio", str(loop_wav), "--out", str(out), "--fps", "15",
                   "--size", "96x54", "--hashes", str(hashes), "--no-progress")
        assert r.returncode == 0, r.stderr
        outs.append(hashes.read_text())
    assert outs[0] == outs[1]
    lines = outs[0].splitlines()
    assert len(lines) == 30  # 2 s at 15 fps
    assert len({line.split("\t")[1] for line in lines}) > 1  # the picture changes
    with av.open(str(tmp_path / "o0.mp4")) as container:
        kinds = {s.type for s in container.streams}
        assert kinds == {"video", "audio"}
        video = container.streams.video[0]
        assert (video.codec_context.width, video.codec_context.height) == (96, 54)
        frames = sum(1 for _ in container.decode(video=0))
    assert frames == 30


@pytest.mark.gl
def test_render_frames_writes_pngs(gl_ctx, tmp_path):
    from live.render.video import read_png

    r = echoel("render", "000-idle", "--frames", str(tmp_path / "f"), "--fps", "10", "--duration", "0.5",
               "--size", "64x36", "--no-progress")
    assert r.returncode == 0, r.stderr
    pngs = sorted((tmp_path / "f").glob("*.png"))
    assert len(pngs) == 5
    img = read_png(pngs[-1])
    assert img.shape == (36, 64, 3) and np.asarray(img).max() > 0
