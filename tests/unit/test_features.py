"""The streaming feature extractor: levels, auto-gain, smoothing, onsets, textures."""

from __future__ import annotations

import dataclasses
import threading

import numpy as np
import pytest

from live.audio.features import (
    BAND_EDGES_HZ,
    FFT_TEXTURE_SIZE,
    STALL_S,
    WAVE_TEXTURE_SIZE,
    AudioFrame,
    FeatureExtractor,
    HopAnalysis,
)

SR = 48000
HOP = 512


def tone(freq: float, seconds: float, amp: float = 0.5, sr: int = SR) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def kick_hat_pattern(seconds: float, bpm: float = 120.0, seed: int = 0) -> np.ndarray:
    """Kicks (decaying 55 Hz) on the beat and noise hats on the offbeat, peak about 0.9."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    x = np.zeros(n)
    period = 60.0 / bpm
    kick_t = np.arange(int(0.25 * SR)) / SR
    kick = np.sin(2 * np.pi * 55.0 * kick_t) * np.exp(-kick_t / 0.08)
    hat = rng.standard_normal(int(0.04 * SR)) * np.exp(-np.arange(int(0.04 * SR)) / (0.01 * SR))
    hat = np.diff(hat, prepend=0.0)  # a crude high-pass
    for k in range(int(seconds / period)):
        s = int(k * period * SR)
        x[s:s + kick.size] += 0.8 * kick[: n - s]
        h = int((k + 0.5) * period * SR)
        if h < n:
            x[h:h + hat.size] += 0.3 * hat[: n - h]
    return x.astype(np.float32)


def run_frames(fx: FeatureExtractor, x: np.ndarray, fps: float) -> list[tuple[float, AudioFrame]]:
    """Feed `x` the way the engine does at `fps`: everything up to each frame time, then frame()."""
    frames = []
    fed = 0
    n_frames = int(len(x) / SR * fps)
    for i in range(1, n_frames + 1):
        t = i / fps
        upto = min(len(x), int(round(t * SR)))
        fx.feed(x[fed:upto])
        fed = upto
        frames.append((t, fx.frame(1.0 / fps)))
    return frames


def collect_hops(fx: FeatureExtractor) -> list[HopAnalysis]:
    hops: list[HopAnalysis] = []
    fx.add_hop_listener(hops.append)
    return hops


# ----------------------------------------------------------------------------- levels
def test_silence_gives_zero_levels_and_rest_textures():
    fx = FeatureExtractor()
    fx.feed(np.zeros(2 * SR, np.float32))
    f = fx.frame(1 / 60)
    levels = [f.rms, f.peak, f.bass, f.mid, f.treb, f.bass_att, f.mid_att, f.treb_att]
    assert levels == [0.0] * 8
    assert not f.bands.any()
    assert f.onset == 0.0 and f.onset_strength == 0.0
    assert not f.fft.any()
    assert np.all(f.wave == 0.5)


def test_noise_below_the_gate_is_not_amplified():
    rng = np.random.default_rng(3)
    hiss = (10 ** (-85 / 20) * rng.standard_normal(3 * SR)).astype(np.float32)  # -85 dBFS
    fx = FeatureExtractor()
    fx.feed(hiss)
    f = fx.frame(1 / 60)
    assert max(f.rms, f.bass, f.mid, f.treb, float(f.bands.max())) < 0.02


@pytest.mark.parametrize("amp", [0.9, 0.01])  # -1 dBFS and -40 dBFS
def test_steady_tone_sits_at_half_after_auto_gain(amp):
    fx = FeatureExtractor()
    fx.feed(tone(80.0, 4.0, amp))
    f = fx.frame(1 / 60)
    assert f.bass == pytest.approx(0.5, abs=0.03)
    assert f.bass_att == pytest.approx(0.5, abs=0.03)
    assert f.rms == pytest.approx(0.5, abs=0.03)
    # A pure 80 Hz tone leaves the treble band under the gate.
    assert f.treb < 0.01


def test_tones_light_their_own_band_and_leave_far_bands_dark():
    for freq in (60.0, 440.0, 2500.0, 9000.0):
        fx = FeatureExtractor()
        fx.feed(tone(freq, 2.0, 0.5))
        f = fx.frame(1 / 60)
        band = int(np.searchsorted(BAND_EDGES_HZ, freq)) - 1
        assert f.bands[band] == pytest.approx(0.5, abs=0.03), freq
        far = [i for i in range(16) if abs(i - band) > 3]
        assert f.bands[far].max() < 0.02, freq  # leakage is not auto-gained up
        levels = {"bass": f.bass, "mid": f.mid, "treb": f.treb}
        expected = "bass" if freq < 250 else "mid" if freq < 4000 else "treb"
        assert levels[expected] == pytest.approx(0.5, abs=0.03), freq
        others = [v for k, v in levels.items() if k != expected]
        assert max(others) < 0.02, (freq, levels)


def test_a_band_rises_when_its_frequency_enters_the_mix():
    rng = np.random.default_rng(5)
    bed = (0.05 * rng.standard_normal(4 * SR)).astype(np.float32)  # steady broadband bed
    burst = np.zeros_like(bed)
    burst[3 * SR:] = tone(2500.0, 1.0, 0.1)
    fx = FeatureExtractor()
    fx.feed(bed[: 3 * SR])
    before = fx.frame(1 / 60).bands.copy()
    fx.feed((bed + burst)[3 * SR: int(3.1 * SR)])
    after = fx.frame(1 / 60).bands
    rise = after - before
    assert int(np.argmax(rise)) == 11  # 1975-2998 Hz
    assert after[11] > 0.85 and np.delete(rise, 11).max() < 0.15


def test_quiet_and_loud_mixes_move_the_visuals_alike():
    loud = kick_hat_pattern(8.0)
    quiet = loud * np.float32(10 ** (-30 / 20))
    curves = []
    for x in (loud, quiet):
        frames = run_frames(FeatureExtractor(), x, fps=60)
        curves.append(np.array([[f.bass, f.rms, f.treb] for t, f in frames if t > 3.0]))
    loud_c, quiet_c = curves
    assert np.abs(loud_c[:, :2] - quiet_c[:, :2]).max() < 0.03  # bass and rms: the same curve
    # Treble: the hats' tails reach the gate's knee sooner in the quiet mix, so compare the hits.
    beat = 30  # frames per beat at 120 bpm and 60 fps
    hits = [c[: len(c) // beat * beat, 2].reshape(-1, beat).max(axis=1) for c in curves]
    np.testing.assert_allclose(hits[0], hits[1], atol=0.05)
    # and they do move: the bass pumps on every kick, the treble on every hat
    assert loud_c[:, 0].max() > 0.75 and loud_c[:, 0].min() < 0.3
    assert hits[1].min() > 0.6


def test_fast_level_reacts_faster_than_att_twin():
    x = np.concatenate([np.zeros(SR // 2, np.float32), tone(70.0, 0.5, 0.5), np.zeros(SR, np.float32)])
    # Start from a steady average so the burst is judged against something.
    x = np.concatenate([tone(70.0, 3.0, 0.5), x])
    frames = run_frames(FeatureExtractor(), x, fps=60)
    burst_start = 3.5
    after = [f for t, f in frames if burst_start + 0.03 <= t <= burst_start + 0.05]
    assert all(f.bass > f.bass_att for f in after)
    end = burst_start + 0.5
    decay = [f for t, f in frames if end + 0.15 <= t <= end + 0.2]
    assert all(f.bass < f.bass_att for f in decay)


def test_smoothing_is_frame_rate_independent():
    # An 80 Hz tone whose envelope rises, holds, falls and pulses: what visuals follow.
    n = 4 * SR
    t = np.arange(n) / SR
    env = np.clip(t / 0.5, 0, 1) * np.where(t < 2.0, 1.0, 0.3 + 0.7 * (np.sin(2 * np.pi * 3 * t) > 0))
    x = (0.5 * env * np.sin(2 * np.pi * 80 * t)).astype(np.float32)
    at30 = dict(run_frames(FeatureExtractor(), x, fps=30))
    at144 = dict(run_frames(FeatureExtractor(), x, fps=144))
    common = [k / 6 for k in range(1, 24)]  # times that both frame rates hit exactly
    diffs = []
    for tc in common:
        a = min(at30, key=lambda k: abs(k - tc))
        b = min(at144, key=lambda k: abs(k - tc))
        fa, fb = at30[a], at144[b]
        diffs.append(abs(fa.bass - fb.bass) + abs(fa.bass_att - fb.bass_att) + abs(fa.rms - fb.rms))
    assert max(diffs) < 1e-6
    values = [at30[min(at30, key=lambda k: abs(k - tc))].bass for tc in common]
    assert max(values) - min(values) > 0.3  # the curve really moves


def test_block_size_does_not_change_results():
    def analyse(data: np.ndarray, block: int):
        fx = FeatureExtractor()
        hops = collect_hops(fx)
        for i in range(0, len(data), block):
            fx.feed(data[i:i + block])
        f = fx.frame(1 / 60)
        values = (f.time, f.rms, f.peak, f.bass, f.mid, f.treb, f.bass_att, f.onset_strength)
        arrays = np.concatenate([f.bands, f.fft, f.wave])
        return values, arrays, [(h.onset, h.flux) for h in hops]

    x = kick_hat_pattern(3.0)
    cases = [(x, 37), (x, 512), (x, 5000), (x[: SR // 2], 1)]  # one sample at a time is slow
    for data, block in cases:
        values, arrays, hops = analyse(data, block)
        ref_values, ref_arrays, ref_hops = analyse(data, len(data))
        assert values == ref_values, block
        assert np.array_equal(arrays, ref_arrays), block
        assert hops == ref_hops, block


def test_peak_is_the_raw_sample_peak():
    fx = FeatureExtractor()
    fx.feed(tone(200.0, 1.0, 0.3))
    assert fx.frame(1 / 60).peak == pytest.approx(0.3, abs=0.005)


# ----------------------------------------------------------------------------- onsets
def click_train(seconds: float, times: np.ndarray, amp: float = 0.5, bed: np.ndarray | None = None):
    x = np.zeros(int(seconds * SR), np.float32) if bed is None else bed.copy()
    idx = np.round(times * SR).astype(int)
    x[idx] += amp
    return x, idx / SR


@pytest.mark.parametrize("bed", ["silence", "noise", "tone"])
def test_each_click_is_detected_once_within_one_hop(bed):
    rng = np.random.default_rng(7)
    times = np.arange(0.5, 5.5, 0.37) + rng.uniform(0, 0.011, size=14)  # random positions in hops
    n = 6 * SR
    beds = {
        "silence": None,
        "noise": (0.01 * rng.standard_normal(n)).astype(np.float32),
        "tone": tone(220.0, 6.0, 0.2),
    }
    x, click_times = click_train(6.0, times, bed=beds[bed])
    fx = FeatureExtractor()
    hops = collect_hops(fx)
    frames = run_frames(fx, x, fps=60)
    found = np.array([h.onset_time for h in hops if h.onset])
    assert len(found) == len(click_times)
    assert np.abs(found - click_times).max() <= HOP / SR
    # The frame-level trigger: one frame per click.
    assert sum(f.onset for _, f in frames) == len(click_times)
    strengths = [f.onset_strength for _, f in frames]
    assert 0.0 <= min(strengths) and max(strengths) <= 1.0


@pytest.mark.parametrize("before_end", [6, 12, 17, 49, 200])
def test_a_click_near_the_end_of_a_hop_is_reported_by_that_hop(before_end):
    # The onset window falls only over its newest 32 samples, so a click 6 samples (0.125 ms)
    # before the end of a hop already fires in that hop; later ones fire one hop later.
    x = np.zeros(2 * SR, np.float32)
    hop_end = 150 * HOP
    x[hop_end - before_end:hop_end - before_end + 24] = 0.5 * np.exp(-np.arange(24) / 6.0)
    fx = FeatureExtractor()
    hops = collect_hops(fx)
    fx.feed(x)
    reported = [h for h in hops if h.onset]
    assert len(reported) == 1
    assert reported[0].time == pytest.approx(hop_end / SR)


def _chord(freqs, seconds, amp):
    return sum(tone(f, seconds, amp) for f in freqs).astype(np.float32)


@pytest.mark.parametrize(
    "name, signal",
    [
        ("silence", lambda: np.zeros(5 * SR, np.float32)),
        ("bass tone", lambda: tone(55.0, 5.0, 0.9)),
        ("mid tone", lambda: tone(1000.3, 5.0, 0.5)),
        ("quiet treble tone", lambda: tone(6000.0, 5.0, 0.01)),
        ("A minor chord", lambda: _chord((220.0, 261.6, 329.6), 5.0, 0.2)),
        ("close partials", lambda: _chord((220.0, 277.2, 329.6), 5.0, 0.2)),
        ("white noise", lambda: (0.2 * np.random.default_rng(1).standard_normal(5 * SR)).astype(np.float32)),
        # A low buzz: each pitch period is a small transient that drifts against the hop grid.
        ("55 Hz saw bass", lambda: (0.2 * sum(tone(55.0 * k, 5.0, 1.0) / k for k in range(1, 290))).astype(np.float32)),
    ],
)
def test_steady_signals_have_no_onsets(name, signal):
    fx = FeatureExtractor()
    hops = collect_hops(fx)
    frames = run_frames(fx, signal(), fps=60)
    assert sum(h.onset for h in hops) == 0, name
    assert sum(f.onset for _, f in frames) == 0, name


def test_onset_flag_is_cleared_after_the_frame_that_reported_it():
    x, _ = click_train(2.0, np.array([1.0]))
    fx = FeatureExtractor()
    fx.feed(x[: int(1.05 * SR)])
    assert fx.frame(1 / 60).onset == 1.0
    assert fx.frame(1 / 60).onset == 0.0


# ----------------------------------------------------------------------------- textures
def test_fft_texture_db_scale():
    bin_hz = SR / 2048
    f0 = 44 * bin_hz  # a bin-centred 1031.25 Hz
    for amp, expected in ((1.0, 1.0), (0.01, 0.5)):  # 0 dB -> 1.0, -40 dB -> 0.5 (-80..0 dB)
        fx = FeatureExtractor()
        fx.feed(tone(f0, 1.0, amp))
        fft = fx.frame(1 / 60).fft
        assert fft.shape == (FFT_TEXTURE_SIZE,) and fft.dtype == np.float32
        assert int(np.argmax(fft)) == 44
        assert fft[44] == pytest.approx(expected, abs=0.01)
        assert fft[:30].max() < 0.1 and fft[60:].max() < 0.1  # a sine is a narrow peak


def test_fft_texture_falls_at_a_limited_rate_after_the_sound_stops():
    f0 = 44 * SR / 2048
    fx = FeatureExtractor()
    fx.feed(tone(f0, 1.0, 1.0))
    fx.feed(np.zeros(int(0.2 * SR), np.float32))
    after_200ms = fx.frame(1 / 60).fft[44]
    assert 0.6 < after_200ms < 0.8  # 120 dB/s of an 80 dB range: about 0.7 after 0.2 s
    fx.feed(np.zeros(SR, np.float32))
    assert fx.frame(1 / 60).fft[44] == 0.0


def test_wave_texture_is_the_newest_samples():
    x = tone(300.0, 0.5, 0.6)
    fx = FeatureExtractor()
    fx.feed(x[: 20 * HOP])
    wave = fx.frame(1 / 60).wave
    assert wave.shape == (WAVE_TEXTURE_SIZE,)
    np.testing.assert_allclose(wave, 0.5 + 0.5 * x[20 * HOP - WAVE_TEXTURE_SIZE:20 * HOP], atol=1e-6)


# ----------------------------------------------------------------------------- frames and time
def test_frame_time_is_the_end_of_the_newest_hop():
    fx = FeatureExtractor()
    assert fx.feed(np.zeros(1000, np.float32)) == 1
    assert fx.samples_consumed == 1000
    assert fx.frame(1 / 60).time == HOP / SR
    assert fx.feed(np.zeros(100, np.float32)) == 1  # 1100 samples: the second hop completes
    assert fx.frame(1 / 60).time == 2 * HOP / SR
    assert fx.samples_consumed == 1100


def test_frame_is_immutable_and_has_every_signal():
    fx = FeatureExtractor()
    fx.feed(kick_hat_pattern(1.0))
    f = fx.frame(1 / 60)
    with pytest.raises(dataclasses.FrozenInstanceError):
        f.bass = 1.0  # type: ignore[misc]
    for arr in (f.bands, f.fft, f.wave):
        with pytest.raises(ValueError):
            arr[0] = 1.0
    sig = f.signals()
    expected = {"audio.rms", "audio.peak", "audio.onset"}
    for name in ("bass", "mid", "treb"):
        expected |= {f"audio.{name}", f"audio.{name}_att"}
    expected |= {f"audio.band.{i}" for i in range(16)}
    assert set(sig) == expected
    assert all(isinstance(v, float) and 0.0 <= v <= 1.0 for v in sig.values())


def test_silent_frame():
    f = AudioFrame.silent(2.5)
    assert f.time == 2.5 and f.bass == 0.0 and f.onset == 0.0
    assert f.bands.shape == (16,) and np.all(f.wave == 0.5) and not f.fft.any()


def test_stalled_input_lets_levels_fall_instead_of_freezing():
    fx = FeatureExtractor()
    fx.feed(kick_hat_pattern(3.0) + tone(70.0, 3.0, 0.3))
    start = fx.frame(1 / 60).bass
    assert start > 0.3
    for _ in range(int(STALL_S * 60)):  # within the stall allowance nothing changes
        same = fx.frame(1 / 60)
    assert same.bass == start
    for _ in range(60):
        late = fx.frame(1 / 60)
    assert late.bass < 0.05
    fx.feed(tone(70.0, 0.1, 0.3))  # audio back: the analysis state takes over again
    assert fx.frame(1 / 60).bass > 0.3


def test_reset_forgets_everything():
    fx = FeatureExtractor()
    fx.feed(kick_hat_pattern(1.0))
    fx.reset()
    f = fx.frame(1 / 60)
    assert fx.samples_consumed == 0 and f.time == 0.0 and f.bass == 0.0
    fx.feed(np.zeros(HOP, np.float32))
    assert fx.frame(1 / 60).time == HOP / SR


def test_non_finite_samples_do_not_poison_the_analysis():
    x = tone(100.0, 1.0, 0.5)
    x[1000:1100] = np.nan
    x[2000] = np.inf
    fx = FeatureExtractor()
    fx.feed(x)
    f = fx.frame(1 / 60)
    values = [f.rms, f.peak, f.bass, f.mid, f.treb, f.onset_strength]
    assert all(np.isfinite(values)) and np.isfinite(f.fft).all() and np.isfinite(f.bands).all()
    assert f.bass == pytest.approx(0.5, abs=0.05)


def test_bad_arguments_are_rejected_with_clear_messages():
    with pytest.raises(ValueError, match="mono"):
        FeatureExtractor().feed(np.zeros((100, 2), np.float32))
    with pytest.raises(ValueError, match="float samples"):
        FeatureExtractor().feed(np.zeros(100, np.int16))
    with pytest.raises(ValueError, match="32000"):
        FeatureExtractor(sr=16000)
    with pytest.raises(ValueError, match="power of two"):
        FeatureExtractor(fft_size=1500)
    with pytest.raises(ValueError, match="dt"):
        FeatureExtractor().frame(-1.0)


def test_other_sample_rates_and_sizes_work():
    fx = FeatureExtractor(sr=44100, hop=441, fft_size=2048)
    fx.feed(tone(60.0, 2.0, 0.5, sr=44100))
    f = fx.frame(1 / 60)
    assert f.time == pytest.approx(int(2 * 44100 / 441) * 441 / 44100)
    assert f.bass == pytest.approx(0.5, abs=0.05) and f.treb < 0.02


def test_feeding_thread_and_render_thread_run_together():
    fx = FeatureExtractor()
    x = kick_hat_pattern(4.0)
    errors: list[BaseException] = []
    stop = threading.Event()

    def feeder():
        try:
            for i in range(0, len(x), 256):  # audio-callback sized blocks
                fx.feed(x[i:i + 256])
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            stop.set()

    thread = threading.Thread(target=feeder)
    thread.start()
    times = []
    while not stop.is_set():
        f = fx.frame(1 / 240)
        times.append(f.time)
        assert f.bands.shape == (16,) and 0.0 <= f.bass <= 1.0
    thread.join()
    assert not errors
    assert times == sorted(times)
    assert fx.frame(0.0).time == (len(x) // HOP) * HOP / SR
