"""Video and image layers through the engine, with files the tests encode themselves.

Every video has one flat colour per frame (`frame_colour(i)`), so the expected picture at any
time is computed: frame floor(position * fps) of the file, where position advances at the
layer's rate and wraps at the clip's length when looping. Videos are tiny (32x32, 10 frames).
"""

from __future__ import annotations

import struct
import threading
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from live.clock import ManualClock
from live.engine import Engine
from live.health.registry import PartRegistry, State
from live.render.layers import video as video_mod
from live.render.layers.image import fit_extent, upload_size
from live.render.shader_source import default_search_roots
from live.scene import SceneError, parse_scene

pytestmark = [pytest.mark.gl, pytest.mark.timeout(120)]

ROOTS = [Path(__file__).resolve().parents[1] / "fixtures" / "engine", *default_search_roots()]
SIZE = (32, 32)
FPS = 10
N_FRAMES = 10
#: H.264 and VP9 in 4:2:0 shift flat colours by a few levels; lossless codecs are exact.
LOSSY_TOL = 12
EXACT_TOL = 2


def frame_colour(i: int) -> tuple[int, int, int]:
    """A colour per frame index, far apart from its neighbours in at least one channel."""
    return ((20 + 23 * i) % 240, (230 - 21 * i) % 240, 40 + 150 * (i % 2))


def have_codec(name: str, mode: str) -> bool:
    try:
        av.Codec(name, mode)
        return True
    except Exception:  # noqa: BLE001 - FFmpeg builds differ; absence is the answer
        return False


def encode_video(path: Path, *, codec: str = "libx264", pix_fmt: str = "yuv420p", n: int = N_FRAMES,
                 fps: int = FPS, size: tuple[int, int] = (32, 32), alpha: int = 255,
                 options: dict | None = None) -> Path:
    """Write `n` flat frames, frame i in frame_colour(i) with the given alpha."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height = size
        stream.pix_fmt = pix_fmt
        stream.options = options or {}
        for i in range(n):
            img = np.empty((size[1], size[0], 4), np.uint8)
            img[...] = (*frame_colour(i), alpha)
            frame = av.VideoFrame.from_ndarray(img, format="rgba")
            frame.pts = i
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


# -- a HAP file, written by hand: PyAV's FFmpeg decodes HAP but has no HAP encoder -------------

def _box(kind: bytes, *payload: bytes) -> bytes:
    body = b"".join(payload)
    return struct.pack(">I", 8 + len(body)) + kind + body


def _full_box(kind: bytes, flags: int, *payload: bytes) -> bytes:
    return _box(kind, struct.pack(">I", flags), *payload)


def _rgb565(r: int, g: int, b: int) -> int:
    return ((r >> 3) << 11) | ((g >> 2) << 5) | (b >> 3)


def hap_frame(size: tuple[int, int], rgb: tuple[int, int, int], alpha: int | None) -> bytes:
    """One HAP frame of a flat colour: DXT1 (Hap1) or DXT5 (Hap5, with alpha), uncompressed."""
    c = _rgb565(*rgb)
    colour_block = struct.pack("<HHI", c, c, 0)  # both end points the same, every index 0
    if alpha is None:
        block, kind = colour_block, 0xAB
    else:
        block, kind = struct.pack("<BB", alpha, alpha) + bytes(6) + colour_block, 0xAE
    data = block * ((size[0] // 4) * (size[1] // 4))
    return struct.pack("<I", len(data))[:3] + bytes([kind]) + data


def write_hap_mov(path: Path, frames: list[bytes], fourcc: bytes, size=(32, 32), fps=FPS) -> Path:
    """A minimal QuickTime file: one video track, one chunk, every sample one frame."""
    w, h, n = size[0], size[1], len(frames)
    matrix = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)
    ftyp = _box(b"ftyp", b"qt  ", struct.pack(">I", 0x200), b"qt  ")
    mdat = _box(b"mdat", *frames)
    entry = _box(fourcc, bytes(6), struct.pack(">HHHI", 1, 0, 0, 0), struct.pack(">II", 0, 0),
                 struct.pack(">HHII", w, h, 72 << 16, 72 << 16), struct.pack(">IH", 0, 1),
                 bytes(32), struct.pack(">hh", 24, -1))
    stbl = _box(b"stbl",
                _full_box(b"stsd", 0, struct.pack(">I", 1), entry),
                _full_box(b"stts", 0, struct.pack(">III", 1, n, 1)),
                _full_box(b"stsc", 0, struct.pack(">IIII", 1, 1, n, 1)),
                _full_box(b"stsz", 0, struct.pack(">II", 0, n), *(struct.pack(">I", len(f)) for f in frames)),
                _full_box(b"stco", 0, struct.pack(">II", 1, len(ftyp) + 8)))
    minf = _box(b"minf", _full_box(b"vmhd", 1, bytes(8)),
                _box(b"dinf", _full_box(b"dref", 0, struct.pack(">I", 1), _full_box(b"url ", 1))), stbl)
    mdia = _box(b"mdia", _full_box(b"mdhd", 0, struct.pack(">IIIIHH", 0, 0, fps, n, 0, 0)),
                _full_box(b"hdlr", 0, b"mhlr", b"vide", bytes(12), b"\x00"), minf)
    tkhd = _full_box(b"tkhd", 3, struct.pack(">IIIII", 0, 0, 1, 0, n), bytes(8),
                     struct.pack(">hhhH", 0, 0, 0, 0), matrix, struct.pack(">II", w << 16, h << 16))
    mvhd = _full_box(b"mvhd", 0, struct.pack(">IIIIIH", 0, 0, fps, n, 0x10000, 0x100), bytes(10),
                     matrix, bytes(24), struct.pack(">I", 2))
    path.write_bytes(ftyp + mdat + _box(b"moov", mvhd, _box(b"trak", tkhd, mdia)))
    return path


# -- scenes and frames --------------------------------------------------------------------------

def media_scene(folder: Path, source: str, kind: str = "video", params: str = "", below: str = ""):
    text = (f'schema = 1\n[scene]\nname = "media"\n{below}'
            f'[[layers]]\nid = "m"\nkind = "{kind}"\nsource = "{source}"\n'
            + (f"params = {{ {params} }}\n" if params else ""))
    return parse_scene(text, folder / "scene.toml")


@pytest.fixture
def engine(ctx):
    clock = ManualClock()
    eng = Engine(ctx, SIZE, clock, shader_roots=ROOTS)
    yield eng
    eng.release()


def load(engine: Engine, spec, wait: float = 10.0):
    """Load a scene; video layers wait for their exact frames (deterministic test renders)."""
    engine.load_scene(spec)
    for layer in engine.scene.layers:
        if isinstance(layer, video_mod.VideoLayer):
            layer.frame_wait = wait
    return engine.scene.layers[-1]


def pixel_at(engine: Engine, t: float, xy=(16, 16)) -> np.ndarray:
    engine.clock.set(t)
    engine.tick()
    return engine.read_rgba()[xy[1], xy[0]].astype(int)


def expected_index(t: float, rate: float = 1.0, loop: bool = True, start: float = 0.0,
                   n: int = N_FRAMES, fps: int = FPS) -> int:
    position = start + t * rate
    if loop:
        length = n / fps - start
        position = start + (position - start) % length
    return min(int(np.floor(position * fps + 1e-6)), n - 1)


def assert_colour(got: np.ndarray, want, tol: int, what: str = "") -> None:
    diff = np.abs(got[:3] - np.asarray(want[:3])).max()
    assert diff <= tol, f"{what}: got {got[:3].tolist()}, want {list(want[:3])} (max diff {diff} > {tol})"


# -- playback -----------------------------------------------------------------------------------

def test_each_frame_shows_at_its_time_and_the_clip_loops(engine, tmp_path):
    # A keyframe every 4 frames: looping seeks to frame 0 and must not show a stale frame.
    encode_video(tmp_path / "clip.mp4", options={"g": "4"})
    layer = load(engine, media_scene(tmp_path, "clip.mp4"))
    assert layer.info.size == (32, 32) and layer.info.fps == FPS
    times = [i / FPS for i in range(N_FRAMES)] + [(i + 0.5) / FPS for i in range(N_FRAMES)]
    times = sorted(times) + [1.0 + k * 0.05 for k in range(1, 40)]  # two more loops
    for t in times:
        want = frame_colour(expected_index(t))
        assert_colour(pixel_at(engine, t), want, LOSSY_TOL, f"t={t:.2f}")


@pytest.mark.parametrize("name, codec, pix_fmt", [
    ("clip.mkv", "libx264", "yuv420p"), ("clip.ts", "libx264", "yuv420p"),
    ("clip.webm", "libvpx-vp9", "yuv420p"), ("clip.avi", "mpeg4", "yuv420p"),
    ("clip.y4m", "rawvideo", "yuv420p")])
def test_loops_in_other_containers(engine, tmp_path, name, codec, pix_fmt):
    # MPEG-TS seeks land after the wanted frame (by byte position): the decoder notices and
    # decodes that file from its beginning instead.
    if not have_codec(codec, "w"):
        pytest.skip(f"PyAV's FFmpeg has no {codec} encoder to make the test file")
    encode_video(tmp_path / name, codec=codec, pix_fmt=pix_fmt,
                 options={"g": "4"} if codec == "libx264" else {})
    load(engine, media_scene(tmp_path, name))
    for k in range(50):
        t = k * 0.05 + 0.025
        assert_colour(pixel_at(engine, t), frame_colour(expected_index(t)), LOSSY_TOL + 4, f"{name} t={t}")


def test_a_large_video_is_decoded_at_the_layer_size(engine, tmp_path):
    encode_video(tmp_path / "big.mp4", size=(128, 128))
    layer = load(engine, media_scene(tmp_path, "big.mp4"))
    assert_colour(pixel_at(engine, 0.35), frame_colour(3), LOSSY_TOL)
    assert layer._texture.size == SIZE  # scaled on the decoder thread, not uploaded at 128x128
    assert layer.info.size == (128, 128)


def test_rate_two_plays_twice_as_fast_and_loops(engine, tmp_path):
    encode_video(tmp_path / "clip.mp4", options={"g": "4"})
    load(engine, media_scene(tmp_path, "clip.mp4", params="rate = 2.0"))
    for k in range(24):
        t = k * 0.025 + 0.0125  # 40 fps render of a 10 fps clip at 2x: every frame twice
        assert_colour(pixel_at(engine, t), frame_colour(expected_index(t, rate=2.0)), LOSSY_TOL, f"t={t}")


def test_rate_quarter_and_a_rate_change_continue_from_the_current_frame(engine, tmp_path):
    encode_video(tmp_path / "clip.mp4")
    layer = load(engine, media_scene(tmp_path, "clip.mp4", params="rate = 0.25"))
    assert_colour(pixel_at(engine, 0.0), frame_colour(0), LOSSY_TOL)
    assert_colour(pixel_at(engine, 0.79), frame_colour(1), LOSSY_TOL)  # position 0.1975
    assert_colour(pixel_at(engine, 0.81), frame_colour(2), LOSSY_TOL)  # position 0.2025
    layer.set_param("rate", 2.0)  # from position 0.2025 on, twice as fast
    assert_colour(pixel_at(engine, 0.91), frame_colour(4), LOSSY_TOL)  # 0.2025 + 0.2 = 0.4025
    assert layer.position == pytest.approx(0.4025)
    # A mapping drives the rate through set_mapped: clamped into 0.25..4, never an error.
    layer.set_mapped("rate", 100.0)
    assert layer.rate == 4.0
    assert_colour(pixel_at(engine, 0.96), frame_colour(6), LOSSY_TOL)  # 0.4025 + 0.2 = 0.6025


def test_without_loop_the_last_frame_stays(engine, tmp_path):
    encode_video(tmp_path / "clip.mp4")
    load(engine, media_scene(tmp_path, "clip.mp4", params="loop = false"))
    for t in (0.45, 0.95, 1.3, 2.5):
        assert_colour(pixel_at(engine, t), frame_colour(expected_index(t, loop=False)), LOSSY_TOL, f"t={t}")


def test_start_between_keyframes_starts_and_loops_there(engine, tmp_path):
    # Keyframes at 0 and 5: seeking to 0.33 s lands on frame 0 and must decode forward to 3.
    encode_video(tmp_path / "clip.mp4", options={"g": "5"})
    load(engine, media_scene(tmp_path, "clip.mp4", params="start = 0.33"))
    for t in (0.0, 0.05, 0.2, 0.6, 0.66, 0.7, 0.75, 1.4):
        assert_colour(pixel_at(engine, t), frame_colour(expected_index(t, start=0.33)), LOSSY_TOL, f"t={t}")


def test_render_thread_never_waits_for_a_slow_decoder(engine, tmp_path, monkeypatch):
    encode_video(tmp_path / "clip.mp4")
    gate = threading.Event()
    real_put = video_mod.VideoDecoder._put

    def slow_put(self, t, frame):
        if t > 0.15:  # frames 0 and 1 come at once, frame 2 only when the test opens the gate
            gate.wait(10)
        return real_put(self, t, frame)

    monkeypatch.setattr(video_mod.VideoDecoder, "_put", slow_put)
    layer = load(engine, media_scene(tmp_path, "clip.mp4"), wait=0.0)
    deadline = time.monotonic() + 10
    while len(layer._queue) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert_colour(pixel_at(engine, 0.0), frame_colour(0), LOSSY_TOL)
    started = time.monotonic()
    got = [pixel_at(engine, t) for t in (0.15, 0.25, 0.35, 0.45)]
    elapsed = time.monotonic() - started
    gate.set()
    # Frame 2 is due from 0.2 s but blocked in the decoder: the layer keeps frame 1.
    for g in got:
        assert_colour(g, frame_colour(1), LOSSY_TOL)
    assert elapsed < 5.0, f"four frames took {elapsed:.1f} s: the render thread waited for the decoder"


def test_releasing_the_scene_stops_the_decoder_thread(engine, tmp_path):
    encode_video(tmp_path / "clip.mp4")
    layer = load(engine, media_scene(tmp_path, "clip.mp4"))
    pixel_at(engine, 0.0)
    decoder = layer.decoder
    assert decoder.alive
    engine.load_scene(media_scene(tmp_path, "e/solid", kind="shader"))  # replaces the video scene
    deadline = time.monotonic() + 5
    while decoder.alive and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not decoder.alive


def test_a_prepared_scene_decodes_ahead_and_starts_at_its_first_frame(engine, tmp_path):
    encode_video(tmp_path / "clip.mp4")
    engine.load_scene(media_scene(tmp_path, "e/solid", kind="shader"))
    pixel_at(engine, 5.0)
    prepared = engine.prepare_scene(media_scene(tmp_path, "clip.mp4"))
    layer = prepared.layers[0]
    deadline = time.monotonic() + 10
    while len(layer._queue) < layer._queue.capacity and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(layer._queue) == layer._queue.capacity  # filled while the other scene plays
    engine.activate(prepared)
    assert_colour(pixel_at(engine, 7.0), frame_colour(0), LOSSY_TOL)  # scene time 0
    assert_colour(pixel_at(engine, 7.35), frame_colour(3), LOSSY_TOL)


# -- formats and alpha --------------------------------------------------------------------------

ALPHA_FORMATS = [
    pytest.param("png", "rgba", "mov", {}, EXACT_TOL, id="png-in-mov"),
    pytest.param("qtrle", "argb", "mov", {}, EXACT_TOL, id="quicktime-rle"),
    pytest.param("prores_ks", "yuva444p10le", "mov", {"profile": "4444"}, 4, id="prores-4444"),
    pytest.param("libvpx-vp9", "yuva420p", "webm", {}, LOSSY_TOL, id="vp9-alpha"),
    pytest.param("ffv1", "yuva420p", "mkv", {}, 4, id="ffv1-yuva420p"),
]


@pytest.mark.parametrize("codec, pix_fmt, ext, options, tol", ALPHA_FORMATS)
def test_video_alpha_is_straight_and_composites_over_the_layer_below(engine, tmp_path, codec, pix_fmt,
                                                                     ext, options, tol):
    if not have_codec(codec, "w"):
        pytest.skip(f"PyAV's FFmpeg has no {codec} encoder to make the test file")
    encode_video(tmp_path / f"clip.{ext}", codec=codec, pix_fmt=pix_fmt, alpha=128, options=options)
    below = '[[layers]]\nid = "bg"\nkind = "shader"\nsource = "e/solid"\nparams = { color = [0.0, 0.0, 1.0, 1.0] }\n'
    load(engine, media_scene(tmp_path, f"clip.{ext}", below=below))
    a = 128 / 255
    for t in (0.05, 0.35):
        c = np.asarray(frame_colour(expected_index(t)))
        want = a * c + (1 - a) * np.array([0, 0, 255])
        assert_colour(pixel_at(engine, t), want, tol + 2, f"{codec} t={t}")


@pytest.mark.parametrize("fourcc, alpha", [(b"Hap1", None), (b"Hap5", 100)], ids=["hap", "hap-alpha"])
def test_hap_video_decodes_with_its_alpha(engine, tmp_path, fourcc, alpha):
    if not have_codec("hap", "r"):
        pytest.skip("PyAV's FFmpeg was built without the HAP decoder")
    frames = [hap_frame((32, 32), frame_colour(i), alpha) for i in range(N_FRAMES)]
    write_hap_mov(tmp_path / "clip.mov", frames, fourcc)
    layer = load(engine, media_scene(tmp_path, "clip.mov"))
    assert layer.info.codec == "hap"
    a = 1.0 if alpha is None else alpha / 255
    for t in (0.05, 0.55, 1.25):
        # DXT stores 5-6-5 bit colours: compare with the colour rounded the same way.
        r, g, b = frame_colour(expected_index(t))
        q = np.array([(r >> 3) * 255 / 31, (g >> 2) * 255 / 63, (b >> 3) * 255 / 31])
        assert_colour(pixel_at(engine, t), a * q, 4, f"t={t}")


def test_prores_422_decodes(engine, tmp_path):
    if not (have_codec("prores_ks", "w") and have_codec("prores", "r")):
        pytest.skip("PyAV's FFmpeg has no ProRes encoder or decoder")
    encode_video(tmp_path / "clip.mov", codec="prores_ks", pix_fmt="yuv422p10le", options={"profile": "2"})
    layer = load(engine, media_scene(tmp_path, "clip.mov"))
    assert layer.info.codec == "prores"
    assert_colour(pixel_at(engine, 0.45), frame_colour(4), 4)


# -- fit modes and images -----------------------------------------------------------------------

STRIPES = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)]


def stripes_image(path: Path, size=(32, 16), codec: str = "png", pix_fmt: str = "rgba") -> Path:
    """Four vertical stripes, 8 px each: red, green, blue, white."""
    w, h = size
    img = np.zeros((h, w, 4), np.uint8)
    for k, c in enumerate(STRIPES):
        img[:, k * w // 4:(k + 1) * w // 4] = (*c, 255)
    with av.open(str(path), "w", format="image2") as container:
        stream = container.add_stream(codec, rate=1)
        stream.width, stream.height = w, h
        stream.pix_fmt = pix_fmt
        frame = av.VideoFrame.from_ndarray(img, format="rgba")
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def expected_fit(mode: str, layer=SIZE, picture=(32, 16)) -> np.ndarray:
    """The stripes as each fit mode should place them, computed pixel by pixel (centres)."""
    ex, ey = fit_extent(mode, picture, layer)
    out = np.zeros((layer[1], layer[0], 3))
    for y in range(layer[1]):
        for x in range(layer[0]):
            u = ((x + 0.5) / layer[0] - 0.5) / ex + 0.5
            v = ((y + 0.5) / layer[1] - 0.5) / ey + 0.5
            if 0 <= u <= 1 and 0 <= v <= 1:
                out[y, x] = STRIPES[min(int(u * 4), 3)]
    return out


@pytest.mark.parametrize("mode", ["cover", "contain", "stretch"])
def test_image_fit_modes_place_the_picture(engine, tmp_path, mode):
    stripes_image(tmp_path / "stripes.png")
    load(engine, media_scene(tmp_path, "stripes.png", kind="image", params=f'fit = "{mode}"'))
    engine.tick()
    got = engine.read_rgba()[..., :3].astype(float)
    want = expected_fit(mode)
    # Pixels next to a stripe edge mix two stripes (linear filtering); the rest are exact.
    close = np.abs(got - want).max(axis=2) <= 3
    assert close.mean() >= 0.75, f"{mode}: only {close.mean():.0%} of pixels match"
    if mode == "contain":  # transparent bars over black, rows 0-7 and 24-31
        assert got[:7].max() == 0 and got[25:].max() == 0
        assert got[9:23].max(axis=2).min() > 0  # no black pixel inside the picture
    if mode == "cover":  # only the green and blue stripes are visible
        assert_colour(got[16, 4], STRIPES[1], 3)
        assert_colour(got[16, 28], STRIPES[2], 3)
    if mode == "stretch":
        assert_colour(got[2, 2], STRIPES[0], 3)
        assert_colour(got[29, 29], STRIPES[3], 3)


def test_video_fit_contain_leaves_transparent_bars(engine, tmp_path):
    encode_video(tmp_path / "wide.mp4", size=(64, 32))
    below = '[[layers]]\nid = "bg"\nkind = "shader"\nsource = "e/solid"\nparams = { color = [0.0, 0.0, 1.0, 1.0] }\n'
    load(engine, media_scene(tmp_path, "wide.mp4", params='fit = "contain"', below=below))
    assert_colour(pixel_at(engine, 0.05, (16, 2)), (0, 0, 255), 1)  # the bar shows the layer below
    assert_colour(pixel_at(engine, 0.05, (16, 16)), frame_colour(0), LOSSY_TOL)


@pytest.mark.parametrize("ext, codec, pix_fmt, tol", [
    ("png", "png", "rgba", 0), ("jpg", "mjpeg", "yuvj444p", 6), ("webp", "libwebp", "yuv420p", 12)])
def test_image_formats_decode(engine, tmp_path, ext, codec, pix_fmt, tol):
    if not have_codec(codec, "w"):
        pytest.skip(f"PyAV's FFmpeg has no {codec} encoder to make the test file")
    stripes_image(tmp_path / f"s.{ext}", size=(32, 32), codec=codec, pix_fmt=pix_fmt)
    load(engine, media_scene(tmp_path, f"s.{ext}", kind="image"))
    engine.tick()
    got = engine.read_rgba().astype(int)
    for k, c in enumerate(STRIPES):
        assert_colour(got[16, k * 8 + 4], c, tol, f"{ext} stripe {k}")


def test_image_alpha_composites_over_the_layer_below(engine, tmp_path):
    img = np.zeros((8, 8, 4), np.uint8)
    img[...] = (255, 0, 0, 64)
    with av.open(str(tmp_path / "a.png"), "w", format="image2") as c:
        s = c.add_stream("png", rate=1)
        s.width = s.height = 8
        s.pix_fmt = "rgba"
        for p in s.encode(av.VideoFrame.from_ndarray(img, format="rgba")):
            c.mux(p)
    below = '[[layers]]\nid = "bg"\nkind = "shader"\nsource = "e/solid"\nparams = { color = [0.0, 1.0, 0.0, 1.0] }\n'
    load(engine, media_scene(tmp_path, "a.png", kind="image", below=below))
    engine.tick()
    a = 64 / 255
    assert_colour(engine.read_rgba()[16, 16].astype(int), (255 * a, 255 * (1 - a), 0), 2)


def test_upload_size_scales_large_pictures_down_only():
    assert upload_size((3840, 2160), (640, 360)) == (640, 360)
    assert upload_size((1000, 1000), (640, 360)) == (640, 640)  # cover needs 640 px across
    assert upload_size((320, 180), (640, 360)) == (320, 180)


# -- bad files ----------------------------------------------------------------------------------

def load_error(engine: Engine, spec) -> SceneError:
    with pytest.raises(SceneError) as info:
        engine.load_scene(spec)
    return info.value


def test_missing_file_is_a_scene_error_with_file_key_and_line(engine, tmp_path):
    err = load_error(engine, media_scene(tmp_path, "nope.mp4"))
    assert err.key == "layers[0].source" and err.line == 7
    assert str(tmp_path / "nope.mp4") in str(err) and "no such file" in str(err)
    assert engine.scene is None


@pytest.mark.parametrize("content, reason", [
    (b"this is not a video\n" * 50, "not a video or image FFmpeg can read"),
    (b"", "not a video or image FFmpeg can read"),
])
def test_a_file_that_is_not_media_is_a_scene_error(engine, tmp_path, content, reason):
    (tmp_path / "fake.mp4").write_bytes(content)
    err = load_error(engine, media_scene(tmp_path, "fake.mp4"))
    assert err.key == "layers[0].source" and reason in str(err) and "fake.mp4" in str(err)


def test_an_audio_file_is_refused_as_video(engine, tmp_path):
    with av.open(str(tmp_path / "tone.wav"), "w") as c:
        s = c.add_stream("pcm_s16le", rate=8000)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 800), np.int16), format="s16", layout="mono")
        frame.sample_rate = 8000
        for p in s.encode(frame):
            c.mux(p)
    err = load_error(engine, media_scene(tmp_path, "tone.wav"))
    assert "has no picture stream (it holds: audio)" in str(err)


def test_a_truncated_video_is_a_scene_error(engine, tmp_path):
    path = encode_video(tmp_path / "clip.mp4")
    path.write_bytes(path.read_bytes()[:200])  # the moov box is gone
    err = load_error(engine, media_scene(tmp_path, "clip.mp4"))
    assert err.key == "layers[0].source" and "clip.mp4" in str(err)


def test_start_after_the_end_is_a_scene_error_on_the_param(engine, tmp_path):
    encode_video(tmp_path / "clip.mp4")
    err = load_error(engine, media_scene(tmp_path, "clip.mp4", params="start = 2.0"))
    assert err.key == "layers[0].params.start" and "at or after the end" in str(err)


def test_an_image_folder_or_missing_image_is_a_scene_error(engine, tmp_path):
    (tmp_path / "dir.png").mkdir()
    assert "is a folder" in str(load_error(engine, media_scene(tmp_path, "dir.png", kind="image")))
    assert "no such file" in str(load_error(engine, media_scene(tmp_path, "x.png", kind="image")))


def test_a_mapping_to_a_media_param_other_than_rate_is_refused(engine, tmp_path):
    encode_video(tmp_path / "clip.mp4")
    spec = parse_scene('schema = 1\n[scene]\nname = "m"\n[[layers]]\nid = "m"\nkind = "video"\n'
                       'source = "clip.mp4"\n[[mappings]]\nsource = "audio.bass"\ntarget = "layers.m.fit"\n',
                       tmp_path / "scene.toml")
    err = load_error(engine, spec)
    assert err.key == "mappings[0].target" and "mappable: rate" in str(err)


# -- breaking during the show -------------------------------------------------------------------

class FailingDecoder:
    """Wraps a codec context: after `good` packets, every decode raises `error`."""

    def __init__(self, inner, good: int, error: Exception) -> None:
        self.inner, self.good, self.error, self.name = inner, good, error, inner.name

    def decode(self, packet):
        if self.good <= 0:
            raise self.error
        self.good -= 1
        return self.inner.decode(packet)

    def flush_buffers(self):
        self.inner.flush_buffers()


def break_after(monkeypatch, good: int, error: Exception) -> None:
    real = video_mod._decoder_for
    monkeypatch.setattr(video_mod, "_decoder_for", lambda stream: FailingDecoder(real(stream), good, error))


def test_a_read_error_mid_show_keeps_the_last_frame_and_reports_failed(engine, tmp_path, monkeypatch):
    # PNG in mov: one packet per frame and no decoder delay, so 3 good packets = frames 0-2.
    encode_video(tmp_path / "clip.mov", codec="png", pix_fmt="rgba")
    # The disk goes away after three packets: the decoder thread hits an I/O error.
    break_after(monkeypatch, 3, av.error.OSError(5, "Input/output error"))
    layer = load(engine, media_scene(tmp_path, "clip.mov"))
    layer.parts = engine.parts
    shown = [pixel_at(engine, t) for t in (0.05, 0.15, 0.25, 0.35, 0.45, 0.55)]
    state = engine.parts.get("layer.m")
    assert state.state == State.FAILED and "Input/output error" in state.reason
    assert "clip.mov" in state.reason and "last good frame" in state.reason
    for got, i in zip(shown, [0, 1, 2, 2, 2, 2]):  # the last good frame stays on screen
        assert_colour(got, frame_colour(i), EXACT_TOL)
    assert engine.scene.failed == set()  # the layer itself keeps rendering


def test_the_engine_hands_media_layers_its_registry_and_layers_below_keep_rendering(engine, tmp_path, monkeypatch):
    encode_video(tmp_path / "clip.mov", codec="png", pix_fmt="rgba")
    break_after(monkeypatch, 2, av.error.OSError(5, "Input/output error"))
    below = '[[layers]]\nid = "bg"\nkind = "shader"\nsource = "e/solid"\nparams = { color = [0.0, 0.0, 1.0, 1.0] }\n'
    layer = load(engine, media_scene(tmp_path, "clip.mov", below=below))
    assert layer.parts is engine.parts  # set by the engine when it builds the layer
    for k in range(8):
        pixel_at(engine, k * 0.1)
    assert engine.parts.get("layer.m").state == State.FAILED
    assert engine.scene.failed == set()  # the video keeps its last good frame on screen
    assert engine.scene.layers[0].id == "bg" and engine.scene.layers[0].output is not None


def test_a_file_deleted_mid_show_fails_when_the_loop_reopens_it(engine, tmp_path):
    # A raw H.264 stream cannot seek, so every loop opens the file again; FFmpeg plays raw
    # streams (no timing in the file) at 25 fps.
    path = encode_video(tmp_path / "clip.h264")
    layer = load(engine, media_scene(tmp_path, "clip.h264"))
    layer.parts = engine.parts
    assert_colour(pixel_at(engine, 0.01), frame_colour(0), LOSSY_TOL)
    path.unlink()  # the USB stick is pulled
    last = None
    for k in range(1, 40):
        last = pixel_at(engine, k * 0.04 + 0.01)
    state = engine.parts.get("layer.m")
    assert state.state == State.FAILED and "no such file" in state.reason and "clip.h264" in state.reason
    assert_colour(last, frame_colour(9), LOSSY_TOL)  # the last frame decoded stays
    assert engine.scene.failed == set()


def test_damaged_packets_are_skipped_and_reported_degraded(engine, tmp_path, monkeypatch):
    encode_video(tmp_path / "clip.mov", codec="png", pix_fmt="rgba")  # every frame a keyframe
    real = video_mod._decoder_for

    class Flaky(FailingDecoder):
        def decode(self, packet):
            if packet.size and round(packet.pts * packet.time_base * FPS) in (3, 4):
                raise av.InvalidDataError(1094995529, "Invalid data found when processing input")
            return self.inner.decode(packet)

    monkeypatch.setattr(video_mod, "_decoder_for", lambda s: Flaky(real(s), 0, None))
    parts = PartRegistry()
    layer = load(engine, media_scene(tmp_path, "clip.mov"))
    layer.parts = parts
    got = {t: pixel_at(engine, t) for t in (0.25, 0.35, 0.45, 0.55)}
    assert_colour(got[0.35], frame_colour(2), EXACT_TOL)  # frame 3 lost: frame 2 stays
    assert_colour(got[0.55], frame_colour(5), EXACT_TOL)  # and playback goes on
    assert parts.get("layer.m").state == State.DEGRADED
    assert layer.decoder.bad_packets >= 2 and layer.decoder.error is None


def test_fractions_of_frame_times_stay_exact(engine, tmp_path):
    # 30 fps clip rendered at 30 fps: frame i must show at t = i/30 despite float sums.
    encode_video(tmp_path / "clip.mp4", n=30, fps=30)
    load(engine, media_scene(tmp_path, "clip.mp4"))
    for i in range(30):
        t = float(Fraction(i, 30))
        want = frame_colour(i)
        assert_colour(pixel_at(engine, t), want, LOSSY_TOL, f"frame {i}")
