"""The synthesised demo track: format, determinism, and a structure the analysis can hear."""

from __future__ import annotations

import os

import numpy as np
import pytest
import soundfile as sf

import live.audio.demo_track as demo_track
from live.audio.decode import to_mono
from live.audio.demo_track import DEMO_TRACK_NAME, ensure_demo_track, synthesize_demo_track
from live.audio.features import FeatureExtractor, HopAnalysis

SR = 48000


@pytest.fixture(scope="module")
def track() -> np.ndarray:
    return synthesize_demo_track(sr=SR, seed=0)


@pytest.fixture(scope="module")
def hops(track) -> list[HopAnalysis]:
    """Every hop of the project's own analysis of the track (what the engine will hear)."""
    fx = FeatureExtractor(sr=SR)
    out: list[HopAnalysis] = []
    fx.add_hop_listener(out.append)
    fx.feed(to_mono(track))
    return out


def section_span(name: str) -> tuple[float, float]:
    """Start and end (s) of a section, from the synthesiser's private arrangement (tests only)."""
    arr = demo_track._arrangement()
    for nm, b0, b1 in arr.sections:
        if nm == name:
            return float(arr.beat_times[b0]), float(arr.beat_times[b1])
    raise KeyError(name)


def test_format_length_and_level(track):
    assert track.dtype == np.float32 and track.ndim == 2 and track.shape[1] == 2
    assert 60.0 <= track.shape[0] / SR <= 75.0
    peak = float(np.abs(track).max())
    assert 20 * np.log10(peak) == pytest.approx(-1.0, abs=0.01)  # normalised to -1 dBFS, no clip
    assert np.isfinite(track).all()
    assert not np.array_equal(track[:, 0], track[:, 1])  # real stereo, not two copies


def test_deterministic_for_a_seed(track):
    again = synthesize_demo_track(sr=SR, seed=0)
    assert np.array_equal(track, again)
    other = synthesize_demo_track(sr=SR, seed=1)
    assert other.shape == track.shape and not np.array_equal(other, track)


def test_the_beat_times_are_not_exported():
    public = [n for n in dir(demo_track) if not n.startswith("_")]
    assert not [n for n in public if "beat" in n.lower() or "arrangement" in n.lower()]


def _tempo_from_flux(hops: list[HopAnalysis], t0: float, t1: float) -> float:
    """Tempo (bpm, 100..160) from the autocorrelation of the onset detection function."""
    flux = np.array([h.flux for h in hops if t0 <= h.time < t1])
    flux = flux - flux.mean()
    hop_s = hops[1].time - hops[0].time
    ac = np.correlate(flux, flux, mode="full")[len(flux) - 1:]
    lo, hi = int(60 / 160 / hop_s), int(60 / 100 / hop_s) + 1
    k = lo + int(np.argmax(ac[lo:hi]))
    # Parabolic interpolation around the peak for sub-hop precision.
    a, b, c = ac[k - 1], ac[k], ac[k + 1]
    k_fine = k + 0.5 * (a - c) / (a - 2 * b + c)
    return 60.0 / (k_fine * hop_s)


def test_tempo_changes_from_120_to_128_as_heard_by_the_analysis(hops):
    t0, t1 = section_span("drop")
    assert _tempo_from_flux(hops, t0, t1) == pytest.approx(120.0, abs=1.0)
    t0, t1 = section_span("drop2")
    assert _tempo_from_flux(hops, t0, t1) == pytest.approx(128.0, abs=1.0)


def test_breakdown_drops_the_drums_and_the_drops_have_them(hops):
    def onsets_per_second(name):
        t0, t1 = section_span(name)
        return sum(h.onset for h in hops if t0 + 0.5 <= h.time < t1 - 0.1) / (t1 - t0 - 0.6)

    assert onsets_per_second("breakdown") < 0.3
    for name in ("drop", "drop2"):
        assert onsets_per_second(name) > 4.0  # kicks, claps and hats: several per beat


def test_kicks_land_on_the_beats_in_the_drops(hops):
    arr = demo_track._arrangement()
    onsets = np.array([h.onset_time for h in hops if h.onset])
    for name in ("drop", "drop2"):
        _, b0, b1 = next(s for s in arr.sections if s[0] == name)
        beats = arr.beat_times[b0:b1]
        nearest = np.abs(onsets[None, :] - beats[:, None]).min(axis=1)
        assert np.mean(nearest <= 0.03) > 0.9, name


def test_breakdown_is_quieter_in_the_bass_than_the_drops(track):
    def bass_rms(name):
        t0, t1 = section_span(name)
        x = to_mono(track[int(t0 * SR):int(t1 * SR)])
        spec = np.fft.rfft(x)
        f = np.fft.rfftfreq(len(x), 1 / SR)
        return np.sqrt(np.sum(np.abs(spec[(f > 30) & (f < 150)]) ** 2)) / len(x)

    assert bass_rms("breakdown") < 0.3 * bass_rms("drop")


def test_ensure_demo_track_writes_once_and_regenerates(tmp_path, track):
    path = ensure_demo_track(tmp_path)
    assert path == tmp_path / DEMO_TRACK_NAME == tmp_path / "demo-track-v1.flac"
    info = sf.info(str(path))
    assert (info.samplerate, info.channels, info.format) == (SR, 2, "FLAC")
    audio, _ = sf.read(str(path), dtype="float32")
    np.testing.assert_allclose(audio, track, atol=2.0**-22)  # 24-bit quantisation only

    # A second call reuses the file.
    stamp = path.stat().st_mtime_ns
    os.utime(path, ns=(stamp - 10**9, stamp - 10**9))
    assert ensure_demo_track(tmp_path) == path
    assert path.stat().st_mtime_ns == stamp - 10**9

    # Missing: made again. Corrupt: made again.
    path.unlink()
    assert ensure_demo_track(tmp_path).is_file()
    path.write_bytes(b"fLaC truncated")
    ensure_demo_track(tmp_path)
    assert sf.info(str(path)).frames == track.shape[0]
    assert [p.name for p in tmp_path.iterdir()] == [DEMO_TRACK_NAME]  # no temporary files left


def test_default_cache_dir_follows_xdg(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert demo_track.default_cache_dir() == tmp_path / "echoel"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert demo_track.default_cache_dir() == tmp_path / "home" / ".cache" / "echoel"


def test_rejects_low_sample_rates():
    with pytest.raises(ValueError, match="32000"):
        synthesize_demo_track(sr=22050)
