"""The audio analysis the engine runs, live and offline alike: features, drum onsets, beat tracking.

`AudioAnalysis` wraps the `FeatureExtractor` (levels, bands, onsets, textures), a
`BandOnsetDetector` (onset strength, kick/snare/hats) and a `BeatTracker` (tempo, beat, bars).
Audio goes in through `feed` in blocks of any size; every 512-sample hop is analysed by all three,
stamped with its sample time, so a file rendered offline and the same file played live give the
same results. The render thread takes an `AnalysisFrame` per frame with `frame` (an `AudioFrame`
plus drum onsets and the tracker's tempo, phase and confidence) and keeps the engine's
`BeatClock` in step with the tracker through `drive`.

`analyse_samples` / `analyse_file` run a whole recording through the same objects in 256-sample
blocks (as an audio callback would deliver it); `echoel beats`, `echoel analyze` and the
benchmarks use them, so they all report exactly what the live show would have done.

Threading: `feed`, `reset`, `seed_tempo` run on the feeding thread (the audio analysis thread
live, the render thread offline); `frame`, `drive` and `drain_beats` on the render thread. They
share a small published state under a lock held only to copy it.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from live.audio.decode import ANALYSIS_RATE, load_audio, to_mono
from live.audio.features import AudioFrame, FeatureExtractor, HopAnalysis
from live.audio.onsets import DRUMS, BandOnsetDetector, BandOnsets, OnsetConfig
from live.audio.tracker import (
    BeatClockDriver,
    BeatEvent,
    BeatTracker,
    TrackerConfig,
    TrackerState,
)
from live.clock import BeatClock

#: Block size (samples) in which whole recordings are fed, as an audio callback would deliver them.
FILE_BLOCK = 256
#: At most this many fired beats wait for `drain_beats` (the oldest are dropped beyond it).
MAX_PENDING_BEATS = 256


@dataclass(frozen=True)
class AnalysisFrame(AudioFrame):
    """An `AudioFrame` plus drum onsets and the tracker's view, for one render frame. Immutable.

    The drum onsets are triggers (1.0 if any hop since the previous frame had one). Tempo, phase
    and bar values are the tracker's, at the frame's audio `time`; the engine's beat clock (which
    the tracker drives) publishes its own `beat.phase`, `bar.phase`, `bar.beat` and `tempo.bpm`
    over them, shifted by the visual offset.
    """

    onset_kick: float = 0.0
    onset_snare: float = 0.0
    onset_hats: float = 0.0
    beat: float = 0.0  # 1.0 if the tracker fired a beat since the previous frame
    tempo_bpm: float = 120.0
    tempo_confidence: float = 0.0
    beat_phase: float = 0.0
    bar_phase: float = 0.0
    bar_beat: int = 1
    tracker: TrackerState | None = None

    def signals(self) -> dict[str, float]:
        """The frame's values under their signal-bus names (ARCHITECTURE "Names")."""
        out = super().signals()
        out["audio.onset.kick"] = self.onset_kick
        out["audio.onset.snare"] = self.onset_snare
        out["audio.onset.hats"] = self.onset_hats
        out["tempo.bpm"] = self.tempo_bpm
        out["tempo.confidence"] = self.tempo_confidence
        out["beat.phase"] = self.beat_phase
        out["bar.phase"] = self.bar_phase
        out["bar.beat"] = float(self.bar_beat)
        return out


HopCallback = Callable[[HopAnalysis, BandOnsets, list[BeatEvent]], None]


class AudioAnalysis:
    """Features, per-band onsets and the causal beat tracker behind one `feed`.

    Args:
        sr: sample rate of the fed audio (48000: resample sources first).
        hop: hop size in samples.
        fft_size: spectrum window in samples.
        seed_bpm: the scene's tempo: the tracker's prior is centred on it.
        beats_per_bar: the scene's bar length.
        tracker_config: beat tracker parameters.
        onset_config: drum onset detector parameters.
        visual_offset_s: shift of the driven beat clock (negative: visuals fire earlier).
    """

    def __init__(self, sr: int = ANALYSIS_RATE, hop: int = 512, fft_size: int = 2048, *,
                 seed_bpm: float = 120.0, beats_per_bar: int = 4,
                 tracker_config: TrackerConfig | None = None,
                 onset_config: OnsetConfig | None = None, visual_offset_s: float = 0.0) -> None:
        self.features = FeatureExtractor(sr=sr, hop=hop, fft_size=fft_size)
        self.onsets = BandOnsetDetector(sr=sr, hop=hop, fft_size=fft_size, config=onset_config)
        self.tracker = BeatTracker(hop / sr, tracker_config, seed_bpm=seed_bpm,
                                   beats_per_bar=beats_per_bar, onset_delay_s=self.onsets.delay_s)
        self.driver = BeatClockDriver(visual_offset_s)
        self.features.add_hop_listener(self._on_hop)
        self._callbacks: list[HopCallback] = []
        self._lock = threading.Lock()
        self._reset_published()

    # ------------------------------------------------------------------ properties
    @property
    def sr(self) -> int:
        """Sample rate of the fed audio (Hz)."""
        return self.features.sr

    @property
    def hop(self) -> int:
        """Hop size in samples."""
        return self.features.hop

    @property
    def latency_s(self) -> float:
        """Declared analysis latency (s): a sound reaches the tracker's state within this."""
        return self.tracker.latency_s

    # ------------------------------------------------------------------ feeding thread
    def add_hop_callback(self, callback: HopCallback) -> None:
        """Call `callback(hop, band_onsets, beats_fired)` after every hop, on the feeding thread.

        For tools and benchmarks that want per-hop results; it must be quick.
        """
        self._callbacks.append(callback)

    def feed(self, samples: np.ndarray) -> int:
        """Analyse a block of mono float samples of any length; return the hops completed.

        Feeding thread. Raises ValueError for non-mono or non-float input (see
        `FeatureExtractor.feed`).
        """
        return self.features.feed(samples)

    def seed_tempo(self, bpm: float) -> None:
        """Centre the tracker's tempo prior on `bpm` (the scene's tempo). Feeding thread."""
        self.tracker.seed(bpm)

    def reset(self) -> None:
        """Forget all audio (time back to 0). Feeding thread; not while `frame` runs elsewhere."""
        self.features.reset()
        self.onsets.reset()
        self.tracker.reset()
        self._reset_published()

    def _reset_published(self) -> None:
        with self._lock:
            self._pending_onsets = [False] * len(DRUMS)
            self._pending_beat = False
            self._beats: deque[BeatEvent] = deque(maxlen=MAX_PENDING_BEATS)
            self._state = self.tracker.state()

    def _on_hop(self, hop: HopAnalysis) -> None:
        bands = self.onsets.process(hop.spectrum, hop.time)
        fired = self.tracker.process(bands.strength, hop.time, bands.flux[0], bands.levels)
        state = self.tracker.state()
        with self._lock:
            for i, flag in enumerate(bands.onsets):
                if flag:
                    self._pending_onsets[i] = True
            if fired:
                self._pending_beat = True
                self._beats.extend(fired)
            self._state = state
        for callback in self._callbacks:
            callback(hop, bands, fired)

    # ------------------------------------------------------------------ render thread
    def frame(self, dt: float) -> AnalysisFrame:
        """The analysis for one render frame; `dt` is the time since the previous frame.

        Render thread. Raises ValueError for a negative or non-finite `dt`.
        """
        audio = self.features.frame(dt)
        with self._lock:
            onsets = self._pending_onsets
            self._pending_onsets = [False] * len(DRUMS)
            beat = self._pending_beat
            self._pending_beat = False
            state = self._state
        t = audio.time
        base = {f.name: getattr(audio, f.name) for f in AudioFrame.__dataclass_fields__.values()}
        return AnalysisFrame(
            **base,
            onset_kick=1.0 if onsets[0] else 0.0,
            onset_snare=1.0 if onsets[1] else 0.0,
            onset_hats=1.0 if onsets[2] else 0.0,
            beat=1.0 if beat else 0.0,
            tempo_bpm=state.bpm,
            tempo_confidence=state.confidence,
            beat_phase=state.beat_phase(t) if state.locked else 0.0,
            bar_phase=state.bar_phase(t) if state.locked else 0.0,
            bar_beat=state.bar_beat(t) if state.locked else 1,
            tracker=state,
        )

    def state(self) -> TrackerState:
        """The tracker's latest published state. Any thread."""
        with self._lock:
            return self._state

    def drain_beats(self) -> list[BeatEvent]:
        """Beats fired since the last call, oldest first. Any thread."""
        with self._lock:
            beats = list(self._beats)
            self._beats.clear()
        return beats

    def drive(self, clock: BeatClock, now: float, audio_to_clock_s: float = 0.0) -> bool:
        """Steer the engine's beat clock towards the tracker (see `BeatClockDriver.apply`).

        Render thread; call it before the engine's tick for the frame at clock time `now`.
        Returns True if the clock was steered (False while tap tempo is in charge or unlocked).
        """
        return self.driver.apply(clock, self.state(), now, audio_to_clock_s)


# --------------------------------------------------------------------------- whole recordings
@dataclass
class RecordingAnalysis:
    """Everything the analysis found in one recording, fed as a live stream would be.

    Attributes:
        path: the file analysed (None for samples given directly).
        sr: analysis sample rate.
        duration_s: length of the audio.
        latency_s: the tracker's declared latency.
        beats: every beat the tracker fired, in order.
        onsets: onset times (s) of the overall detector ("all") and per drum.
        tempo_curve: (time, bpm, confidence) once per second of audio after the tracker locked.
        levels: per-hop rms, bass, mid, treb (auto-gained, unsmoothed) for level summaries.
        hops: the per-hop band results, when asked for (benchmarks re-run the tracker on them).
    """

    path: str | None
    sr: int
    duration_s: float
    latency_s: float
    beats: list[BeatEvent]
    onsets: dict[str, list[float]]
    tempo_curve: list[tuple[float, float, float]]
    levels: np.ndarray
    hops: list[BandOnsets] = field(default_factory=list)

    @property
    def beat_times(self) -> np.ndarray:
        """The fired beat times (s) as an array: the tracker's estimate."""
        return np.array([b.time for b in self.beats], dtype=np.float64)


def analyse_samples(mono: np.ndarray, sr: int = ANALYSIS_RATE, *, path: str | None = None,
                    block: int = FILE_BLOCK, seed_bpm: float = 120.0, beats_per_bar: int = 4,
                    tracker_config: TrackerConfig | None = None,
                    onset_config: OnsetConfig | None = None,
                    keep_hops: bool = False) -> RecordingAnalysis:
    """Stream mono samples through `AudioAnalysis` in `block`-sized pieces and collect the results.

    Runs on the calling thread (a tool or benchmark, never the render thread: it takes about as
    long as the analysis of the whole recording).
    """
    analysis = AudioAnalysis(sr, seed_bpm=seed_bpm, beats_per_bar=beats_per_bar,
                             tracker_config=tracker_config, onset_config=onset_config)
    beats: list[BeatEvent] = []
    onsets: dict[str, list[float]] = {"all": [], **{name: [] for name in DRUMS}}
    tempo_curve: list[tuple[float, float, float]] = []
    levels: list[np.ndarray] = []
    hops: list[BandOnsets] = []
    next_curve = [1.0]

    def on_hop(hop: HopAnalysis, bands: BandOnsets, fired: list[BeatEvent]) -> None:
        beats.extend(fired)
        if hop.onset and hop.onset_time is not None:
            onsets["all"].append(hop.onset_time)
        for name, flag in zip(DRUMS, bands.onsets):
            if flag:
                onsets[name].append(bands.onset_time)
        levels.append(hop.levels[:4])
        if keep_hops:
            hops.append(bands)
        if hop.time >= next_curve[0]:
            state = analysis.tracker.state()
            if state.locked:
                tempo_curve.append((hop.time, state.bpm, state.confidence))
            next_curve[0] += 1.0

    analysis.add_hop_callback(on_hop)
    x = np.asarray(mono)
    if x.ndim != 1:
        raise ValueError(f"analyse_samples expects mono samples shaped (n,), got shape {x.shape}")
    block = int(block)
    if block < 1:
        raise ValueError(f"block must be a positive number of samples, got {block!r}")
    for start in range(0, len(x), block):
        analysis.feed(x[start:start + block])
    return RecordingAnalysis(
        path=path, sr=int(sr), duration_s=len(x) / sr, latency_s=analysis.latency_s,
        beats=beats, onsets=onsets, tempo_curve=tempo_curve,
        levels=np.array(levels, np.float32).reshape(-1, 4), hops=hops)


def analyse_file(path: str | os.PathLike, **kwargs) -> RecordingAnalysis:
    """Decode `path` (any format `load_audio` reads), mix to mono and `analyse_samples` it.

    Keyword arguments go to `analyse_samples`. Calling thread (see there).

    Raises:
        AudioFileError: the file is missing, unreadable, empty or holds no audio.
    """
    audio, sr = load_audio(path, ANALYSIS_RATE)
    return analyse_samples(to_mono(audio), sr, path=str(path), **kwargs)


def median_tempo(result: RecordingAnalysis) -> float | None:
    """Median of the tempo curve (bpm), or None if the tracker never locked."""
    if not result.tempo_curve:
        return None
    return float(np.median([bpm for _, bpm, _ in result.tempo_curve]))
