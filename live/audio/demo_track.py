"""The demo track: a short house-style piece synthesised by the project itself, in pure numpy.

`make demo` plays it, so it has to sound like music and give the visuals something to follow:
kick, clap, hats, a bass line, a chord pad and a pluck arpeggio, arranged as an intro, a drop, a
gradual tempo change from 120 to 128 bpm, a breakdown (drums out, pad only, then a riser) and a
second drop, then an outro. It is deterministic for a given seed and normalised to -1 dBFS peak.

The beat times live only inside this module (`_arrangement`, for this project's own tests): the
engine must find the beat in the audio, never read it from the synthesiser.

Everything here runs on the thread that calls it (a loader thread or the CLI before the show),
never the render thread: synthesis takes about a second and allocates the whole track.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: Bump when the music changes, so caches of the old version are not reused.
DEMO_TRACK_VERSION = 1
DEMO_TRACK_NAME = f"demo-track-v{DEMO_TRACK_VERSION}.flac"
PEAK_DBFS = -1.0

# (name, bars, bpm at the start, bpm at the end); 4/4 throughout.
_SECTIONS: tuple[tuple[str, int, float, float], ...] = (
    ("intro", 4, 120.0, 120.0),
    ("drop", 8, 120.0, 120.0),
    ("ramp", 4, 120.0, 128.0),
    ("breakdown", 8, 128.0, 128.0),
    ("drop2", 8, 128.0, 128.0),
    ("outro", 4, 128.0, 128.0),
)
_BEATS_PER_BAR = 4
_TAIL_S = 2.0

# A minor: Am F C G, one chord per bar. MIDI note numbers.
_CHORDS = ((57, 60, 64, 69), (53, 57, 60, 65), (55, 60, 64, 67), (55, 59, 62, 67))
_BASS_ROOTS = (33, 29, 36, 31)  # A1, F1, C2, G1


def _hz(note: float) -> float:
    return 440.0 * 2.0 ** ((note - 69) / 12.0)


@dataclass(frozen=True)
class _Arrangement:
    """Where every beat falls and which section it belongs to (internal, for tests only)."""

    beat_times: np.ndarray  # seconds, one per beat, plus the end time of the last beat
    sections: tuple[tuple[str, int, int], ...]  # (name, first beat, end beat)
    duration: float


def _arrangement() -> _Arrangement:
    """Beat times of the arrangement, with the tempo ramp integrated beat by beat."""
    times = [0.0]
    sections = []
    beat = 0
    for name, bars, bpm0, bpm1 in _SECTIONS:
        n = bars * _BEATS_PER_BAR
        for i in range(n):
            bpm = bpm0 + (bpm1 - bpm0) * (i + 0.5) / n
            times.append(times[-1] + 60.0 / bpm)
        sections.append((name, beat, beat + n))
        beat += n
    return _Arrangement(np.array(times), tuple(sections), times[-1] + _TAIL_S)


# --------------------------------------------------------------------------- instruments
def _env_exp(n: int, sr: int, decay_s: float, attack_s: float = 0.001) -> np.ndarray:
    t = np.arange(n) / sr
    return np.minimum(t / attack_s, 1.0) * np.exp(-t / decay_s)


def _band_noise(rng: np.random.Generator, n: int, sr: int, lo: float, hi: float) -> np.ndarray:
    """White noise limited to lo..hi Hz by a frequency-domain mask (smooth edges), unit RMS."""
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1.0 / sr)
    mask = 1.0 / (1.0 + (lo / np.maximum(f, 1.0)) ** 4) / (1.0 + (f / hi) ** 4)
    x = np.fft.irfft(spec * mask, n)
    return x / (np.sqrt(np.mean(x**2)) + 1e-12)


def _kick(sr: int) -> np.ndarray:
    n = int(0.45 * sr)
    t = np.arange(n) / sr
    freq = 48.0 + 120.0 * np.exp(-t / 0.028)  # pitch drop gives the "thump"
    body = np.sin(2 * np.pi * np.cumsum(freq) / sr) * _env_exp(n, sr, 0.16, 0.0015)
    click = np.sin(2 * np.pi * 2800.0 * t) * np.exp(-t / 0.002)
    return np.tanh(1.6 * (body + 0.25 * click)) / np.tanh(1.6)


def _clap(sr: int, rng: np.random.Generator) -> np.ndarray:
    n = int(0.35 * sr)
    t = np.arange(n) / sr
    noise = _band_noise(rng, n, sr, 900.0, 5000.0)
    # Three quick bursts, then a tail: the clap's "flam".
    env = sum(np.where(t >= d, np.exp(-(t - d) / 0.006), 0.0) for d in (0.0, 0.011, 0.022))
    env = env * 0.5 + np.where(t >= 0.022, np.exp(-(t - 0.022) / 0.09), 0.0)
    body = np.sin(2 * np.pi * 185.0 * t) * np.exp(-t / 0.05)
    return 0.55 * noise * env + 0.35 * body


def _hat(sr: int, rng: np.random.Generator, open_: bool) -> np.ndarray:
    n = int((0.35 if open_ else 0.08) * sr)
    return _band_noise(rng, n, sr, 7000.0, 16000.0) * _env_exp(n, sr, 0.12 if open_ else 0.018)


def _wavetable(harmonics: np.ndarray, size: int = 4096) -> np.ndarray:
    """One period of a waveform with the given harmonic amplitudes (index 0 = fundamental)."""
    phase = np.arange(size) * (2 * np.pi / size)
    table = sum(a * np.sin((h + 1) * phase) for h, a in enumerate(harmonics) if a)
    return table / np.max(np.abs(table))


def _osc(table: np.ndarray, freq: float, n: int, sr: int, phase0: float = 0.0) -> np.ndarray:
    idx = (phase0 + np.arange(n) * (freq / sr)) * table.size
    return table[idx.astype(np.int64) % table.size]


# --------------------------------------------------------------------------- synthesis
def synthesize_demo_track(sr: int = 48000, seed: int = 0) -> np.ndarray:
    """Synthesise the demo track: stereo float32 of shape (n, 2), about 70 s, peak -1 dBFS.

    Deterministic: the same `sr` and `seed` give the same samples. The seed varies the noise of
    the drums and riser and the small timing and velocity variations, not the arrangement.

    Raises:
        ValueError: `sr` below 32000 Hz (the hats reach 16 kHz).
    """
    if int(sr) != sr or sr < 32000:
        raise ValueError(f"synthesize_demo_track: sr must be an integer >= 32000 Hz, got {sr!r}")
    sr = int(sr)
    rng = np.random.default_rng(seed)
    arr = _arrangement()
    n_total = int(np.ceil(arr.duration * sr))
    out = np.zeros((n_total, 2), np.float64)
    bt = arr.beat_times
    section_of = {}
    for name, b0, b1 in arr.sections:
        for b in range(b0, b1):
            section_of[b] = name

    def beat_time(b: float) -> float:
        """Time of a fractional beat position (linear within the beat)."""
        i = int(np.floor(b))
        return bt[i] + (b - i) * (bt[i + 1] - bt[i])

    def add(sample: np.ndarray, t: float, gain: float, pan: float = 0.0) -> None:
        start = max(0, int(round(t * sr)))  # timing jitter may put the very first hit before 0
        if start >= n_total:
            return
        s = sample[: n_total - start] * gain
        out[start:start + s.size, 0] += s * np.sqrt(0.5 * (1.0 - pan))
        out[start:start + s.size, 1] += s * np.sqrt(0.5 * (1.0 + pan))

    kick = _kick(sr)
    claps = [_clap(sr, rng) for _ in range(3)]
    closed = [_hat(sr, rng, False) for _ in range(4)]
    open_hat = _hat(sr, rng, True)

    drums_in = {"drop", "ramp", "drop2"}
    kick_times = []
    n_beats = len(bt) - 1
    for b in range(n_beats):
        sec = section_of[b]
        bar, beat_in_bar = divmod(b, _BEATS_PER_BAR)
        bar_in_sec = bar - next(b0 for nm, b0, _ in arr.sections if nm == sec) // _BEATS_PER_BAR
        t = bt[b]
        kick_on = sec in drums_in or (sec == "intro" and bar_in_sec >= 2) or (
            sec == "outro" and bar_in_sec < 3)
        if kick_on:
            add(kick, t, 0.9)
            kick_times.append(t)
        if sec in drums_in and beat_in_bar in (1, 3):
            add(claps[int(rng.integers(3))], t + rng.normal(0.0, 0.002), 0.5)
        if sec in drums_in or sec in ("intro", "outro"):
            fade = 1.0 if sec != "outro" else 1.0 - bar_in_sec / 4.0
            for k in range(4):  # sixteenths; the offbeat eighth gets the open hat
                tt = beat_time(b + k / 4.0) + rng.normal(0.0, 0.0015)
                if k == 2 and sec != "intro":
                    add(open_hat, tt, 0.16 * fade, pan=0.2)
                else:
                    vel = (0.13 if k % 2 == 0 else 0.08) * rng.uniform(0.85, 1.1)
                    add(closed[int(rng.integers(4))], tt, vel * fade, pan=-0.25)
        # A snare roll in the last bar of the ramp leads into the breakdown.
        if sec == "ramp" and bar_in_sec == 3:
            for k in range(4):
                add(claps[k % 3], beat_time(b + k / 4.0), 0.18 + 0.08 * beat_in_bar)

    # Sidechain "pump": pad and bass duck under every kick, the sound of the genre, and it gives
    # the visuals a clear pulse in the mid band too.
    duck = np.ones(n_total)
    tail = int(0.25 * sr)
    shape = 1.0 - 0.65 * np.exp(-np.arange(tail) / (0.07 * sr))
    for t in kick_times:
        s = int(round(t * sr))
        seg = duck[s:s + tail]
        np.minimum(seg, shape[: seg.size], out=seg)

    music = np.zeros((n_total, 2))
    _add_pad(music, arr, section_of, sr)
    _add_bass(music, arr, section_of, sr)
    _add_arp(music, arr, section_of, sr, rng)
    out += music * duck[:, None]
    _add_riser(out, arr, sr, rng)

    peak = float(np.max(np.abs(out)))
    out *= 10.0 ** (PEAK_DBFS / 20.0) / peak
    return out.astype(np.float32)


def _bar_span(arr: _Arrangement, bar: int) -> tuple[float, float]:
    b = bar * _BEATS_PER_BAR
    return float(arr.beat_times[b]), float(arr.beat_times[b + _BEATS_PER_BAR])


def _add_pad(music: np.ndarray, arr: _Arrangement, section_of: dict, sr: int) -> None:
    """Chord pad: soft triangle-like voices, detuned left and right, one chord per bar."""
    table = _wavetable(np.array([1.0, 0.0, 1 / 9, 0.0, 1 / 25, 0.0, 1 / 49]))
    n_bars = (len(arr.beat_times) - 1) // _BEATS_PER_BAR
    n_total = music.shape[0]
    for bar in range(n_bars):
        sec = section_of[bar * _BEATS_PER_BAR]
        level = {"breakdown": 0.16, "intro": 0.1, "outro": 0.1}.get(sec, 0.07)
        t0, t1 = _bar_span(arr, bar)
        release = 0.6
        start, n = int(round(t0 * sr)), int((t1 - t0 + release) * sr)
        n = min(n, n_total - start)
        t = np.arange(n) / sr
        env = np.minimum(t / 0.25, 1.0) * np.clip((t1 - t0 + release - t) / release, 0.0, 1.0)
        for note in _CHORDS[bar % 4]:
            f = _hz(note)
            for ch, cents in ((0, -7.0), (1, 7.0)):
                v = _osc(table, f * 2 ** (cents / 1200), n, sr, phase0=0.13 * note + ch * 0.37)
                music[start:start + n, ch] += level * env * v


def _add_bass(music: np.ndarray, arr: _Arrangement, section_of: dict, sr: int) -> None:
    """Offbeat bass: bright saw fading to dark as each note decays (a filter envelope)."""
    bright = _wavetable(1.0 / np.arange(1, 25))
    dark = _wavetable(np.array([1.0, 0.35, 0.1, 0.03]))
    n_total = music.shape[0]
    for b in range(len(arr.beat_times) - 1):
        if section_of[b] not in ("drop", "ramp", "drop2"):
            continue
        bar = b // _BEATS_PER_BAR
        root = _BASS_ROOTS[bar % 4] + (12 if b % 4 == 3 else 0)
        t0 = 0.5 * (arr.beat_times[b] + arr.beat_times[b + 1])  # the "and"
        dur = 0.45 * (arr.beat_times[b + 1] - arr.beat_times[b])
        start, n = int(round(t0 * sr)), int(dur * sr)
        n = min(n, n_total - start)
        t = np.arange(n) / sr
        f = _hz(root)
        tone = np.exp(-t / 0.06)
        v = _osc(dark, f, n, sr) * (1.0 - tone) + _osc(bright, f, n, sr) * tone
        env = np.minimum(t / 0.004, 1.0) * np.clip((dur - t) / 0.02, 0.0, 1.0)
        music[start:start + n, :] += (0.42 * env * v)[:, None]


def _add_arp(music: np.ndarray, arr: _Arrangement, section_of: dict, sr: int,
             rng: np.random.Generator) -> None:
    """Pluck arpeggio in sixteenths over the chord, in the second drop only."""
    table = _wavetable(np.array([1.0, 0.5, 0.3, 0.2, 0.12, 0.08]))
    n_total = music.shape[0]
    pattern = (0, 1, 2, 3, 2, 1, 3, 2)
    for b in range(len(arr.beat_times) - 1):
        if section_of[b] != "drop2":
            continue
        chord = _CHORDS[(b // _BEATS_PER_BAR) % 4]
        step = (arr.beat_times[b + 1] - arr.beat_times[b]) / 4
        for k in range(4):
            note = chord[pattern[(b * 4 + k) % len(pattern)]] + 12
            start = int(round((arr.beat_times[b] + k * step) * sr))
            n = min(int(0.2 * sr), n_total - start)
            t = np.arange(n) / sr
            v = _osc(table, _hz(note), n, sr) * np.exp(-t / 0.07) * np.minimum(t / 0.002, 1.0)
            pan = 0.5 if k % 2 else -0.5
            g = 0.075 * rng.uniform(0.8, 1.0)
            music[start:start + n, 0] += g * v * np.sqrt(0.5 * (1 - pan))
            music[start:start + n, 1] += g * v * np.sqrt(0.5 * (1 + pan))


def _add_riser(out: np.ndarray, arr: _Arrangement, sr: int, rng: np.random.Generator) -> None:
    """A rising sweep over the last two bars of the breakdown: noise plus a gliding tone."""
    b_end = next(b1 for nm, _, b1 in arr.sections if nm == "breakdown")
    t0 = float(arr.beat_times[b_end - 2 * _BEATS_PER_BAR])
    t1 = float(arr.beat_times[b_end])
    start, n = int(round(t0 * sr)), int(round((t1 - t0) * sr))
    x = np.linspace(0.0, 1.0, n)
    freq = 200.0 * (10.0 ** x)  # 200 Hz to 2 kHz, exponential glide
    tone = np.sin(2 * np.pi * np.cumsum(freq) / sr)
    noise = _band_noise(rng, n, sr, 2000.0, 12000.0)
    s = (0.08 * tone + 0.06 * noise) * x**2
    out[start:start + n, 0] += s
    out[start:start + n, 1] += s


# --------------------------------------------------------------------------- cache
def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/echoel`` or ``~/.cache/echoel``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "echoel"


def ensure_demo_track(cache_dir: Path | None = None) -> Path:
    """Return the path of the cached demo track, synthesising it first if missing or unreadable.

    The file is `<cache_dir>/demo-track-v1.flac` (24-bit FLAC, 48 kHz stereo); `cache_dir`
    defaults to `default_cache_dir()`. It is written to a temporary file and renamed, so a
    concurrent reader never sees half a file. Runs on the calling thread (about a second).
    """
    import soundfile as sf

    directory = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / DEMO_TRACK_NAME
    if path.is_file():
        try:
            if sf.info(str(path)).frames > 0:
                return path
        except (sf.SoundFileError, RuntimeError):
            pass  # unreadable (truncated, corrupted): make it again
    sr = 48000
    audio = synthesize_demo_track(sr=sr, seed=0)
    # A private name per writer (not mkstemp: its 0600 mode would stick to the final file).
    tmp = directory / f".{DEMO_TRACK_NAME}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp"
    try:
        sf.write(str(tmp), audio, sr, subtype="PCM_24", format="FLAC")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
