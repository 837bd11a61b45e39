"""Companion-app bio signals: the RR rules, HRV maths against independent references, the signals
a mapping reads (per device, app and computed values), staleness and decay.

Figures on real recordings use ../shared/corpus/bio and skip with the reason when it is absent.
The independent HRV reference is the hrv-analysis package (a dev extra).
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest

from live.control.bio import (
    NEUTRAL,
    BioError,
    BioHub,
    RrAnalysis,
    breath_rate,
    coherence_ratio,
    natural_cubic_spline,
    resample_rr,
    rmssd,
    rr_spectrum,
    sdnn,
)
from live.modulation.signals import SignalBus

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "bio"


def corpus_file(rel: str) -> Path:
    path = CORPUS / rel
    if not path.exists():
        pytest.skip(f"bio corpus file absent: {path}")
    return path


def modulated_rr(n: int, *, f: float = 0.1, depth_ms: float = 50.0, noise_ms: float = 10.0,
                 base: float = 1000.0, seed: int = 0) -> np.ndarray:
    """RR intervals whose rhythm swings at `f` Hz (time measured along the beats)."""
    rng = np.random.default_rng(seed)
    t, out = 0.0, []
    for _ in range(n):
        v = base + depth_ms * math.sin(2 * math.pi * f * t) + rng.normal(0.0, noise_ms)
        out.append(v)
        t += v / 1000.0
    return np.asarray(out)


def feed(rr) -> tuple[RrAnalysis, list[float], list[float]]:
    """Feed intervals one by one; returns the analysis and every coherence and breath rate seen."""
    a = RrAnalysis()
    coh, br = [], []
    for v in rr:
        a.add(float(v))
        if math.isfinite(a.coherence):
            coh.append(a.coherence)
            br.append(a.breath_rate)
    return a, coh, br


# -- RR rules ---------------------------------------------------------------------------------


def test_out_of_range_and_jumpy_intervals_are_rejected_and_counted():
    a = RrAnalysis()
    assert a.add(800)
    assert not a.add(250)          # below 300 ms
    assert not a.add(2100)         # above 2000 ms
    assert not a.add(1000)         # +25 % from 800
    assert a.add(900)              # +12.5 %
    assert a.rejected == {"rr outside 300-2000 ms": 2, "rr changed > 20 %": 1}
    assert a.accepted == 2


def test_a_real_change_of_rhythm_is_followed_after_three_rejections():
    a = RrAnalysis()
    for _ in range(5):
        a.add(1000)
    results = [a.add(600) for _ in range(4)]
    assert results == [False, False, True, True]
    assert a.last_rr == 600


def test_no_successive_difference_is_taken_across_a_rejected_beat():
    a = RrAnalysis()
    rr = [800, 820] * 15
    for v in rr[:10]:
        a.add(v)
    a.add(400)                      # an ectopic beat: rejected
    for v in rr[10:]:
        a.add(v)
    assert a.rmssd == pytest.approx(20.0)  # |800-820| everywhere; the gap adds nothing


# -- HRV maths --------------------------------------------------------------------------------


def test_rmssd_and_sdnn_formulas_on_hand_computed_values():
    rr = np.array([800.0, 810.0, 790.0, 805.0])
    assert rmssd(rr) == pytest.approx(math.sqrt((100 + 400 + 225) / 3))
    assert sdnn(rr) == pytest.approx(np.std(rr, ddof=1))
    assert math.isnan(rmssd(rr[:1])) and math.isnan(sdnn(rr[:1]))


def test_time_domain_needs_20_intervals_in_the_last_60_seconds():
    a = RrAnalysis()
    for _ in range(19):
        a.add(1000)
    assert math.isnan(a.rmssd)
    a.add(1000)
    assert a.rmssd == 0.0 and a.sdnn == 0.0


def test_the_window_is_the_last_60_seconds_of_beat_time():
    a = RrAnalysis()
    for v in [700.0, 1300.0] * 30:  # 60 s of a wild rhythm...
        a.add(v)
    for _ in range(70):             # ...then 70 s of a steady one
        a.add(1000.0)
    assert a.sdnn == pytest.approx(0.0) and a.rmssd == pytest.approx(0.0)


@pytest.mark.parametrize("rel, kind", [
    ("hrvanalysis/test_nn_intervals.txt", "txt"),
    ("pyhrv/SampleNNISeriesShort.npy", "npy"),
    ("wfdb_mitbih100/100_rr_intervals.csv", "csv"),
])
def test_rmssd_and_sdnn_agree_with_hrv_analysis_on_corpus_series(rel, kind):
    hrv = pytest.importorskip("hrvanalysis", reason="hrv-analysis (dev extra) not installed")
    path = corpus_file(rel)
    if kind == "txt":
        rr = np.loadtxt(path)
    elif kind == "npy":
        rr = np.load(path).astype(float)
    else:
        with path.open() as f:
            rr = np.array([float(r["rr_s"]) * 1000 for r in csv.DictReader(f)])
    rr = rr[:600]
    beat_t = np.cumsum(rr) / 1000.0
    a = RrAnalysis()
    accepted = []
    checked = 0
    for k, v in enumerate(rr):
        accepted.append(a.add(v))
        if k % 25 or beat_t[k] < 60 or not math.isfinite(a.sdnn):
            continue
        window = (beat_t[: k + 1] > beat_t[k] - 60) & np.array(accepted)
        nn = list(rr[: k + 1][window])
        ref = hrv.get_time_domain_features(nn)
        # SDNN of the accepted intervals: the same statistic, computed independently.
        assert a.sdnn == pytest.approx(ref["sdnn"], rel=1e-9)
        # RMSSD: equal when no beat was rejected; otherwise ours leaves out the differences
        # across the gap, the library's includes them, so they stay close, not equal.
        if all(accepted[-len(nn):]) and len(nn) == int(window.sum()):
            assert a.rmssd == pytest.approx(ref["rmssd"], rel=0.35)
        checked += 1
    assert checked >= 3


# -- spectrum ---------------------------------------------------------------------------------


def test_natural_cubic_spline_passes_through_points_and_is_linear_for_lines():
    x = np.array([0.0, 0.8, 1.7, 2.5, 3.6])
    assert natural_cubic_spline(x, 2 * x + 1, np.linspace(0, 3.6, 50)) == pytest.approx(
        2 * np.linspace(0, 3.6, 50) + 1)
    y = np.sin(x)
    assert natural_cubic_spline(x, y, x) == pytest.approx(y)


def test_coherence_of_rr_modulated_at_0_1_hz_is_above_0_5():
    for seed in range(5):
        _, coh, br = feed(modulated_rr(200, seed=seed))
        assert coh and min(coh) > 0.5
        assert np.median(br) == pytest.approx(6.0, abs=0.5)  # 0.1 Hz = 6 breaths/min


def test_coherence_of_white_noise_rr_is_below_0_2():
    means = []
    for seed in range(10):
        rng = np.random.default_rng(100 + seed)
        _, coh, _ = feed(1000.0 + rng.normal(0.0, 50.0, 200))
        means.append(np.mean(coh))
    assert np.mean(means) < 0.2


def test_breath_rate_follows_the_modulation_frequency():
    for per_minute in (8.0, 12.0, 18.0):
        _, _, br = feed(modulated_rr(220, f=per_minute / 60.0, depth_ms=40.0, noise_ms=5.0, base=800.0))
        assert np.median(br) == pytest.approx(per_minute, abs=1.0)


def test_uneven_breathing_is_read_at_its_fundamental_not_a_harmonic():
    # A ventilator-like rhythm at 6/min: a deep dip and a shallow one per breath put more power at
    # 12/min (the second harmonic) than at the breathing rate itself.
    rng = np.random.default_rng(3)
    t, rr = 0.0, []
    for _ in range(260):
        phase = (t / 10.0) % 1.0
        v = (580.0 - 14.0 * math.exp(-0.5 * ((phase - 0.15) / 0.05) ** 2)
             - 3.0 * math.exp(-0.5 * ((phase - 0.65) / 0.05) ** 2) + rng.normal(0.0, 1.0))
        rr.append(v)
        t += v / 1000.0
    _, _, br = feed(rr)
    assert np.median(br) == pytest.approx(6.0, abs=0.7)


def test_flat_rr_has_no_coherence_or_breath():
    freqs, power = rr_spectrum(resample_rr(np.arange(1, 80.0), np.full(79, 1000.0), 79.0))
    assert math.isnan(coherence_ratio(freqs, power)) and math.isnan(breath_rate(freqs, power))


def breath_reference(resp: np.ndarray, fs: float) -> float:
    """Breaths per minute of a respiration channel: the period of its autocorrelation (the first
    peak reaching 80 % of the highest one, so a multiple of the period is not taken)."""
    from scipy import signal as sps
    x = sps.medfilt(np.nan_to_num(resp), 2 * int(0.05 * fs) + 1)  # pacing spikes out
    y = sps.sosfiltfilt(sps.butter(2, [0.05, 1.0], "bandpass", fs=fs, output="sos"), x)
    y = y - y.mean()
    spec = np.fft.rfft(y, 2 * len(y))
    ac = np.fft.irfft(spec * np.conj(spec))[: len(y)]  # autocorrelation by FFT
    lo, hi = int(1.5 * fs), int(20 * fs)
    peaks, _ = sps.find_peaks(ac[lo:hi])
    peaks += lo
    best = peaks[np.argmax(ac[peaks])]
    first = next(p for p in peaks if ac[p] >= 0.8 * ac[best])
    return 60.0 * fs / first


@pytest.mark.parametrize("record, ecg, resp", [
    ("wfdb_challenge2015_ppg/v102s", 0, 3),
    ("wfdb_mimic_mixedsignals/mixedsignals", 0, 5),
])
def test_breath_rate_from_rr_matches_the_respiration_channel(record, ecg, resp):
    wfdb = pytest.importorskip("wfdb", reason="wfdb (dev extra) not installed")
    from live.control.rpeaks import detect_rpeaks
    corpus_file(record + ".hea")
    rec = wfdb.rdrecord(str(CORPUS / record), smooth_frames=False)
    fs_ecg = rec.fs * rec.samps_per_frame[ecg]
    fs_resp = rec.fs * rec.samps_per_frame[resp]
    beats = detect_rpeaks(rec.e_p_signal[ecg], fs_ecg)
    _, _, br = feed(beats.rr_ms())
    reference = breath_reference(rec.e_p_signal[resp], fs_resp)
    assert len(br) > 50
    assert np.median(br) == pytest.approx(reference, abs=2.0)


# -- the hub and the bus ----------------------------------------------------------------------


def send_rr(hub: BioHub, device: str, rr, t0: float = 0.0) -> float:
    t = t0
    for v in rr:
        t += v / 1000.0
        hub.handle(f"/echoel/bio/{device}/rr", (int(round(v)),), t)
    return t


def test_neutral_and_stale_before_any_device():
    hub, bus = BioHub(), SignalBus()
    hub.publish(bus, 0.0)
    assert bus.get("bio.stale") == 1.0
    for name, value in NEUTRAL.items():
        assert bus.get(f"bio.{name}") == value


def test_app_values_and_computed_values_are_both_on_the_bus():
    hub, bus = BioHub(), SignalBus()
    t = send_rr(hub, "watch", modulated_rr(120, noise_ms=5.0))
    hub.handle("/echoel/bio/watch/rmssd", (55.0,), t)
    hub.handle("/echoel/bio/watch/hr", (61.5,), t)
    hub.handle("/echoel/bio/watch/breath/phase", (0.25,), t)
    hub.publish(bus, t)
    calc = bus.get("bio.rmssd.calc")
    assert bus.get("bio.rmssd.app") == 55.0
    assert calc > 0 and calc != 55.0
    assert bus.get("bio.rmssd") == calc            # computed wins when there are enough beats
    assert bus.get("bio.hr") == 61.5                # the app's heart rate wins
    sent = np.round(modulated_rr(120, noise_ms=5.0))  # /rr carries whole milliseconds
    assert bus.get("bio.hr.calc") == pytest.approx(60000 / np.mean(sent[-3:]))
    assert bus.get("bio.breath.phase") == 0.25
    assert bus.get("bio.rmssd.watch") == calc and bus.get("bio.stale.watch") == 0.0
    assert bus.get("bio.coherence") > 0.5


def test_each_rr_message_fires_one_pulse_frame():
    hub, bus = BioHub(), SignalBus()
    hub.handle("/echoel/bio/w/rr", (800,), 0.8)
    hub.publish(bus, 0.8)
    assert bus.get("bio.pulse") == 1.0 and bus.get("bio.pulse.w") == 1.0
    bus.end_frame()
    hub.publish(bus, 0.816)
    assert bus.get("bio.pulse") == 0.0


def test_pulses_follow_heart_rate_when_no_intervals_arrive():
    hub, bus = BioHub(), SignalBus()
    pulses = 0
    t = 0.0
    while t < 2.9:  # 120 bpm for 2.9 s of 60 fps frames, kept fresh by /hr messages
        hub.handle("/echoel/bio/band/hr", (120.0,), t)
        hub.publish(bus, t)
        pulses += bus.get("bio.pulse") == 1.0
        bus.end_frame()
        t += 1 / 60
    assert pulses == 5


def test_a_quiet_device_goes_stale_and_decays_to_neutral_in_the_configured_time():
    hub, bus = BioHub(stale_after=2.0, decay=4.0), SignalBus()
    hub.handle("/echoel/bio/w/hr", (100.0,), 0.0)
    hub.publish(bus, 1.9)
    assert bus.get("bio.stale") == 0.0 and bus.get("bio.hr") == 100.0
    hub.publish(bus, 2.0)
    assert bus.get("bio.stale") == 1.0 and bus.get("bio.hr") == 100.0
    hub.publish(bus, 4.0)                           # halfway through the decay
    assert bus.get("bio.hr") == pytest.approx((100.0 + NEUTRAL["hr"]) / 2)
    hub.publish(bus, 6.0)
    assert bus.get("bio.hr") == NEUTRAL["hr"] and bus.get("bio.hr.w") == NEUTRAL["hr"]
    hub.handle("/echoel/bio/w/hr", (90.0,), 7.0)    # it speaks again
    hub.publish(bus, 7.0)
    assert bus.get("bio.stale") == 0.0 and bus.get("bio.hr") == 90.0


def test_several_devices_and_the_primary_one():
    hub, bus = BioHub(stale_after=3.0), SignalBus()
    hub.handle("/echoel/bio/alice/hr", (70.0,), 0.0)
    hub.handle("/echoel/bio/bob/hr", (90.0,), 0.0)
    hub.publish(bus, 0.1)
    assert (bus.get("bio.hr.alice"), bus.get("bio.hr.bob"), bus.get("bio.hr")) == (70.0, 90.0, 70.0)
    hub.handle("/echoel/bio/bob/hr", (91.0,), 3.5)  # alice went quiet: bob becomes primary
    hub.publish(bus, 3.5)
    assert bus.get("bio.hr") == 91.0 and bus.get("bio.stale") == 0.0
    fixed = BioHub(primary="bob")
    fixed.handle("/echoel/bio/alice/hr", (70.0,), 0.0)
    fixed.handle("/echoel/bio/bob/hr", (90.0,), 0.0)
    fixed.publish(bus, 0.1)
    assert bus.get("bio.hr") == 90.0


def test_app_and_computed_values_are_published_for_every_device_and_usable_in_scenes():
    from live.scene import source_name_problem

    hub, bus = BioHub(), SignalBus()
    hub.handle("/echoel/bio/alice/rmssd", (42.0,), 0.0)
    hub.handle("/echoel/bio/bob/rmssd", (55.0,), 0.0)
    hub.publish(bus, 0.1)
    assert bus.get("bio.rmssd.app.alice") == 42.0 and bus.get("bio.rmssd.app.bob") == 55.0
    assert "bio.rmssd.calc.bob" in bus  # no RR yet: neutral until enough beats arrive
    for name in ("bio.rmssd.app.bob", "bio.hr.calc.alice", "bio.hr.app", "bio.coherence.bob"):
        assert source_name_problem(name) is None, name
    assert source_name_problem("bio.hr.app.bob.extra") is not None


@pytest.mark.parametrize("address, args, cause", [
    ("/echoel/bio/w/hr", (0.0,), "bio: impossible value"),
    ("/echoel/bio/w/hr", (400.0,), "bio: impossible value"),
    ("/echoel/bio/w/coherence", (1.5,), "bio: impossible value"),
    ("/echoel/bio/w/rr", (60000,), "bio: impossible value"),
    ("/echoel/bio/w/hr", ("fast",), "bio: wrong type"),
    ("/echoel/bio/w/hr", (True,), "bio: wrong type"),
    ("/echoel/bio/w/hr", (), "bio: wrong type"),
    ("/echoel/bio/w/temperature", (36.6,), "bio: unknown address"),
    ("/echoel/bio/calc/hr", (60.0,), "bio: bad device id"),
    ("/echoel/bio/a b/hr", (60.0,), "bio: bad device id"),
])
def test_impossible_or_malformed_messages_are_refused_with_a_cause(address, args, cause):
    hub = BioHub()
    with pytest.raises(BioError) as info:
        hub.handle(address, args, 0.0)
    assert info.value.cause == cause
    assert not hub.devices


def test_the_number_of_devices_is_bounded():
    hub = BioHub(max_devices=2)
    hub.handle("/echoel/bio/a/hr", (60.0,), 0.0)
    hub.handle("/echoel/bio/b/hr", (60.0,), 0.0)
    with pytest.raises(BioError, match="too many devices"):
        hub.handle("/echoel/bio/c/hr", (60.0,), 0.0)
