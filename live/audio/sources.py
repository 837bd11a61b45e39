"""Audio sources: live capture, files in real time and offline, silence, and the supervisor.

Every source hands out `AudioChunk`s: float32 frames at 48 kHz (the analysis rate) stamped with
the index of their first frame, after the same conditioning chain (`live.audio.resample`:
sanitise, select or downmix, resample, DC block). So the analysis cannot tell a live input from a
file, and a file gives the same features live and offline.

* `SoundDeviceSource`: a PortAudio input chosen by device *name* (ALSA, JACK through PortAudio's
  JACK host API, ...). The PortAudio callback only copies into a preallocated `RingBuffer`;
  everything else happens when the analysis thread calls `read`. A device that refuses the asked
  rate or block size is opened at its default and resampled, and the fallback is recorded in
  `notes` and logged.
* `FileSource`: a file played in real time, paced by an injected `Clock`, or, with monitoring
  output, by the output device's own callback, through the same ring buffer path as live input.
* `OfflineFileSource`: a file consumed sample-accurately (offline renders, `echoel beats`).
* `NullSource`: silence paced by the clock; never raises; its state is "no audio input".
* `InputSupervisor`: keeps the show's input alive. A lost device (stream aborted or no audio for
  a while) is replaced by a `NullSource`, so the analysis keeps running on silence and the beat
  clock free-runs; every few seconds PortAudio rescans and the device is looked up by name again,
  and the supervisor switches back when it returns.

Threads: callbacks run on PortAudio's thread; `read`, `start`, `stop` and the supervisor run on the
analysis thread (or the render thread offline). `stats()` may be called from any thread.
"""

from __future__ import annotations

import enum
import logging
import math
import os
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from live.audio.decode import ANALYSIS_RATE, AudioFileError, load_audio
from live.audio.devices import AudioDeviceError, DeviceInfo, find_device, import_sounddevice
from live.audio.resample import InputConditioner, normalise_channel_selection
from live.audio.ringbuffer import RingBuffer
from live.clock import Clock

log = logging.getLogger(__name__)

#: The part-state reason (prefix) while the show runs without audio input.
NO_AUDIO_INPUT = "no audio input"
#: Default block size of live callbacks (frames). JACK with Python clients on 2 cores needs >= 256.
DEFAULT_BLOCKSIZE = 256
#: Default ring buffer length (seconds of the native rate): how long the analysis may stall
#: before the oldest audio is dropped.
DEFAULT_RING_SECONDS = 2.0
#: Sample rates tried, in order, after the asked one and the device's default.
FALLBACK_RATES = (48000.0, 44100.0)
#: Seconds to wait for PortAudio to release a stream before leaving it to a background thread.
RELEASE_TIMEOUT_S = 2.0


class SourceState(str, enum.Enum):
    """What a source is doing (its `state`)."""

    IDLE = "idle"  # created, not started
    RUNNING = "running"
    FINISHED = "finished"  # a file source that has delivered its last frame
    STOPPED = "stopped"
    LOST = "lost"  # the device went away or stopped delivering audio
    NO_INPUT = NO_AUDIO_INPUT  # the null source


@dataclass(frozen=True)
class AudioChunk:
    """Conditioned audio from a source: (n, channels) float32 at `sample_rate` (48 kHz).

    `start_frame` is the index of the first frame in the source's timeline (at `sample_rate`), so
    every feature computed from it can be stamped with its sample time. Immutable by convention;
    any thread.
    """

    samples: np.ndarray
    start_frame: int
    sample_rate: int = ANALYSIS_RATE

    @property
    def frames(self) -> int:
        """Number of frames."""
        return int(self.samples.shape[0])

    @property
    def start_time(self) -> float:
        """Time (s) of the first frame in the source's timeline."""
        return self.start_frame / self.sample_rate

    @property
    def end_time(self) -> float:
        """Time (s) just after the last frame."""
        return (self.start_frame + self.frames) / self.sample_rate

    def mono(self) -> np.ndarray:
        """The samples as one (n,) float32 channel (the channel mean), ready for the analysis."""
        if self.samples.shape[1] == 1:
            return self.samples[:, 0]
        return self.samples.mean(axis=1, dtype=np.float64).astype(np.float32)

    @staticmethod
    def empty(start_frame: int = 0, channels: int = 1) -> AudioChunk:
        """A chunk of zero frames."""
        return AudioChunk(np.zeros((0, channels), np.float32), int(start_frame))


@dataclass(frozen=True)
class SourceStats:
    """Counters and settings of a source (a snapshot; any thread).

    Attributes:
        name / kind / state: what the source is and does.
        native_rate: the rate the device or file runs at (before resampling to 48 kHz).
        channels: output channels (1 after downmix).
        frames_captured: native frames that reached the ring buffer (or were decoded).
        frames_out: 48 kHz frames handed out by `read`.
        xruns: callbacks whose status flags were set; input_overflows / input_underflows split them.
        ring_overflows / frames_dropped: writes that overran the reader, and frames lost to them.
        nonfinite_samples / denormal_samples: samples sanitised to 0.
        device_latency_s: PortAudio's reported input latency (0 for files).
        latency_s: total input latency used for compensation (device + resampler).
        notes: human-readable remarks, e.g. settings the device refused and what was used instead.
    """

    name: str
    kind: str
    state: str
    native_rate: float
    channels: int
    frames_captured: int = 0
    frames_out: int = 0
    xruns: int = 0
    input_overflows: int = 0
    input_underflows: int = 0
    ring_overflows: int = 0
    frames_dropped: int = 0
    nonfinite_samples: int = 0
    denormal_samples: int = 0
    device_latency_s: float = 0.0
    latency_s: float = 0.0
    notes: tuple[str, ...] = ()


@runtime_checkable
class AudioSource(Protocol):
    """What the analysis reads audio from (live device, file, silence).

    `read` is non-blocking and runs on the analysis thread (the render thread offline).
    """

    name: str
    sample_rate: int  # always ANALYSIS_RATE
    channels: int

    def start(self) -> None:
        """Begin delivering audio (opens the device / starts the pacing)."""
        ...

    def stop(self) -> None:
        """Stop and release the device; safe to call twice."""
        ...

    def read(self, max_frames: int | None = None) -> AudioChunk:
        """The conditioned audio that arrived since the previous read (never blocks)."""
        ...

    @property
    def state(self) -> SourceState:
        """Current state."""
        ...

    @property
    def latency_s(self) -> float:
        """Seconds between a sound at the input and its first sample leaving `read`, as known."""
        ...

    def stats(self) -> SourceStats:
        """Counters and settings."""
        ...


# ---------------------------------------------------------------------------------------------
class _ConditionedReader:
    """Shared consumer half: ring buffer -> conditioner -> 48 kHz chunks with a frame counter."""

    def __init__(self, ring: RingBuffer, conditioner: InputConditioner) -> None:
        self._ring = ring
        self._cond = conditioner
        self._scratch = np.zeros((ring.capacity, ring.channels), np.float32)
        self._backlog: list[np.ndarray] = []
        self._backlog_frames = 0
        self.frames_out = 0

    def read(self, max_frames: int | None, last: bool = False) -> AudioChunk:
        n, _ = self._ring.read_into(self._scratch)
        if n or last:
            out = self._cond.process(self._scratch[:n], last=last)
            if out.shape[0]:
                # The scratch buffer is reused: keep a copy when the conditioner passed it through.
                self._backlog.append(out.copy() if np.shares_memory(out, self._scratch) else out)
                self._backlog_frames += out.shape[0]
        return self._take(max_frames)

    def _take(self, max_frames: int | None) -> AudioChunk:
        channels = self._cond.out_channels
        start = self.frames_out
        if not self._backlog_frames:
            return AudioChunk.empty(start, channels)
        data = self._backlog[0] if len(self._backlog) == 1 else np.concatenate(self._backlog)
        if max_frames is not None and data.shape[0] > max_frames:
            out, rest = data[:max_frames], data[max_frames:]
            self._backlog, self._backlog_frames = [rest], rest.shape[0]
        else:
            out = data
            self._backlog, self._backlog_frames = [], 0
        self.frames_out += out.shape[0]
        return AudioChunk(out, start)

    @property
    def pending(self) -> int:
        return self._backlog_frames


class SoundDeviceSource:
    """Live input from a PortAudio device chosen by name (sounddevice).

    JACK goes through the same path: ``SoundDeviceSource("system", host_api="JACK")`` (the stream
    rate must equal the JACK server's; anything else falls back to it).

    Args:
        device: the device name (exact, or a unique case-insensitive substring); None = default.
        host_api: narrow the device search by host API name ("JACK", "ALSA").
        samplerate: rate to ask for (Hz); None = the device's default. Refused rates fall back to
            the default, then 48000 and 44100; the result is resampled to 48 kHz either way.
        blocksize: frames per callback (0 lets PortAudio choose); refused sizes fall back to 0.
        channels: 1-based input channels to use (e.g. ``[3, 4]``); None = all of the device's.
        downmix: mix the used channels to mono (what the analysis needs).
        dc_block: remove DC before the analysis (off only for bit-exact capture checks).
        latency: PortAudio's latency request ("low", "high" or seconds).
        ring_seconds: ring buffer length.
        backend: the sounddevice module or a stand-in (tests); imported lazily when None.

    Threads: `start`, `stop`, `read`, `stats` on the analysis thread; `_callback` on PortAudio's.
    """

    kind = "device"

    def __init__(self, device: str | None = None, *, host_api: str | None = None,
                 samplerate: float | None = None, blocksize: int = DEFAULT_BLOCKSIZE,
                 channels: Sequence[int] | None = None, downmix: bool = True, dc_block: bool = True,
                 latency: str | float = "low", ring_seconds: float = DEFAULT_RING_SECONDS,
                 backend: Any = None) -> None:
        if samplerate is not None and not (math.isfinite(samplerate) and samplerate > 0):
            raise ValueError(f"samplerate must be a positive number of Hz, got {samplerate!r}")
        if int(blocksize) != blocksize or blocksize < 0:
            raise ValueError(f"blocksize must be a whole number of frames >= 0, got {blocksize!r}")
        if not ring_seconds > 0:
            raise ValueError(f"ring_seconds must be positive, got {ring_seconds!r}")
        self.device = device
        self.host_api = host_api
        self.requested_rate = samplerate
        self.blocksize = int(blocksize)
        self.channel_selection = tuple(channels) if channels is not None else None
        self.downmix = downmix
        self.dc_block = dc_block
        self.latency_request = latency
        self.ring_seconds = float(ring_seconds)
        self._backend = backend
        self.name = device or "default input"
        self.sample_rate = ANALYSIS_RATE
        self.channels = 1 if downmix else len(self.channel_selection or ()) or 1
        self.native_rate = 0.0
        self.device_info: DeviceInfo | None = None
        self.notes: list[str] = []
        self._stream = None
        self._ring: RingBuffer | None = None
        self._reader: _ConditionedReader | None = None
        self._cond: InputConditioner | None = None
        self._state = SourceState.IDLE
        self._stopping = False
        self._device_latency = 0.0
        # Written by the callback only.
        self._xruns = 0
        self._in_over = 0
        self._in_under = 0

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        """Find the device by name and open the input stream (falling back where refused).

        Raises:
            AudioDeviceError: no such device, PortAudio missing, a channel the device lacks, or
                no setting the device accepts (the message lists what was tried).
        """
        if self._state == SourceState.RUNNING:
            return
        sd = self._backend if self._backend is not None else import_sounddevice()
        info = find_device(self.device, "input", self.host_api, sd)
        self.device_info = info
        self.name = info.name
        try:
            select = normalise_channel_selection(self.channel_selection, info.input_channels)
        except ValueError as exc:
            raise AudioDeviceError(f"input device '{info.name}': {exc}") from None
        # Open only as many channels as the highest one selected (PortAudio opens 1..n).
        n_open = max(select)
        self.channels = 1 if self.downmix else len(select)
        stream, rate = self._open(sd, info, n_open)
        self._ring = RingBuffer(max(int(rate * self.ring_seconds), 4 * max(self.blocksize, 1024)), n_open)
        self._cond = InputConditioner(rate, n_open, select, downmix=self.downmix, dc_block=self.dc_block)
        self._reader = _ConditionedReader(self._ring, self._cond)
        self.native_rate = rate
        self._stream = stream
        self._stopping = False
        self._state = SourceState.RUNNING
        stream.start()
        self._device_latency = _input_latency(stream)
        log.info("audio input '%s' (%s): %g Hz, %d channel(s), block %s, reported latency %.1f ms",
                 info.name, info.host_api, rate, n_open, self.blocksize or "auto",
                 1e3 * self._device_latency)

    def _open(self, sd: Any, info: DeviceInfo, n_open: int) -> tuple[Any, float]:
        asked = float(self.requested_rate) if self.requested_rate else info.default_rate
        rates = list(dict.fromkeys([asked, info.default_rate, *FALLBACK_RATES]))
        sizes = list(dict.fromkeys([self.blocksize, 0]))
        errors: list[str] = []
        for size in sizes:
            for rate in rates:
                try:
                    sd.check_input_settings(device=info.index, channels=n_open, dtype="float32",
                                            samplerate=rate)
                    stream = sd.InputStream(
                        device=info.index, channels=n_open, samplerate=rate, blocksize=size,
                        dtype="float32", latency=self.latency_request, callback=self._callback,
                        finished_callback=self._on_finished)
                except (sd.PortAudioError, ValueError) as exc:
                    errors.append(f"{rate:g} Hz, block {size or 'auto'}: {exc}")
                    continue
                if (rate, size) != (asked, self.blocksize):
                    note = (f"input device '{info.name}' refused {asked:g} Hz with block "
                            f"{self.blocksize or 'auto'}; using {rate:g} Hz with block "
                            f"{size or 'auto'}, resampled to {ANALYSIS_RATE} Hz")
                    self.notes.append(note)
                    log.warning("%s (%s)", note, "; ".join(errors))
                self.blocksize = size
                return stream, rate
        raise AudioDeviceError(f"input device '{info.name}' ({info.host_api}) accepted none of the "
                               f"settings tried: {'; '.join(errors)}")

    def stop(self) -> None:
        """Stop and close the stream; safe to call twice and after the device was lost."""
        self._stopping = True
        stream, self._stream = self._stream, None
        if stream is not None:
            # A stream that died with its device or server may never confirm: do not wait long.
            lost = self._state == SourceState.LOST
            release_stream(stream, f"input '{self.name}'", 0.25 if lost else RELEASE_TIMEOUT_S)
        if self._state == SourceState.RUNNING:
            self._state = SourceState.STOPPED

    # ------------------------------------------------------------------ PortAudio's thread
    def _callback(self, indata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        # Only counting and one copy: no allocation, no logging, no lock (see RingBuffer).
        if status:
            self._xruns += 1
            if status.input_overflow:
                self._in_over += 1
            if status.input_underflow:
                self._in_under += 1
        self._ring.write(indata)

    def _on_finished(self) -> None:
        # PortAudio calls this when the stream ends, by our stop or by the device going away.
        if not self._stopping:
            self._state = SourceState.LOST

    # ------------------------------------------------------------------ analysis thread
    def read(self, max_frames: int | None = None) -> AudioChunk:
        """Conditioned 48 kHz audio captured since the previous read (empty before `start`)."""
        if self._reader is None:
            return AudioChunk.empty(0, self.channels)
        stream = self._stream
        if self._state == SourceState.RUNNING and stream is not None and not _is_active(stream):
            self._state = SourceState.LOST
        return self._reader.read(max_frames)

    @property
    def state(self) -> SourceState:
        """running, lost (the stream ended without `stop`), stopped or idle."""
        return self._state

    @property
    def frames_captured(self) -> int:
        """Native frames the callback has delivered so far (the supervisor watches it move)."""
        return self._ring.frames_written if self._ring is not None else 0

    @property
    def device_latency_s(self) -> float:
        """PortAudio's reported input latency of the open stream (seconds)."""
        return self._device_latency

    @property
    def latency_s(self) -> float:
        """Device latency plus what the resampler holds back (seconds)."""
        return self._device_latency + (self._cond.delay_s if self._cond is not None else 0.0)

    def stats(self) -> SourceStats:
        """Counters and settings (any thread)."""
        ring, cond = self._ring, self._cond
        return SourceStats(
            name=self.name, kind=self.kind, state=self._state.value, native_rate=self.native_rate,
            channels=self.channels, frames_captured=self.frames_captured,
            frames_out=self._reader.frames_out if self._reader else 0,
            xruns=self._xruns, input_overflows=self._in_over, input_underflows=self._in_under,
            ring_overflows=ring.overflows if ring else 0,
            frames_dropped=ring.frames_dropped if ring else 0,
            nonfinite_samples=cond.stats.nonfinite_samples if cond else 0,
            denormal_samples=cond.stats.denormal_samples if cond else 0,
            device_latency_s=self._device_latency, latency_s=self.latency_s, notes=tuple(self.notes))


def release_stream(stream: Any, what: str, timeout_s: float = RELEASE_TIMEOUT_S) -> bool:
    """Abort and close a PortAudio stream without letting a dead device hang the caller.

    The work runs on a helper thread; after `timeout_s` it is left there (PortAudio's JACK host
    API never returns from abort when the JACK server died). Returns True when it finished.
    Analysis or supervisor thread.
    """
    done = threading.Event()

    def work() -> None:
        for op in ("abort", "close"):
            try:
                getattr(stream, op)()
            except Exception as exc:  # a dead server or device: nothing left to release
                log.debug("releasing %s: %s failed: %s", what, op, exc)
        done.set()

    threading.Thread(target=work, name="echoel-stream-release", daemon=True).start()
    if done.wait(timeout_s):
        return True
    log.warning("releasing the audio stream of %s did not finish within %g s; left to a "
                "background thread", what, timeout_s)
    return False


def _input_latency(stream: Any) -> float:
    lat = getattr(stream, "latency", 0.0)
    if isinstance(lat, (tuple, list)):
        lat = lat[0]
    try:
        lat = float(lat)
    except (TypeError, ValueError):
        return 0.0
    return lat if math.isfinite(lat) and lat > 0 else 0.0


def _is_active(stream: Any) -> bool:
    try:
        return bool(stream.active)
    except Exception:  # PortAudio errors on a stream whose server died
        return False


# ---------------------------------------------------------------------------------------------
def decode_native(path: str | os.PathLike) -> tuple[np.ndarray, int]:
    """Decode an audio file at its own sample rate: ((n, channels) float32, rate).

    The streaming resampler of the source then converts it, exactly as it converts a device.
    Loader thread (reads the whole file).

    Raises:
        AudioFileError: missing, empty, truncated or unreadable file (from `load_audio`).
    """
    rate = _probe_rate(Path(path))
    return load_audio(path, target_sr=rate) if rate else load_audio(path)


def _probe_rate(p: Path) -> int | None:
    try:
        import soundfile as sf

        return int(sf.info(str(p)).samplerate)
    except Exception:  # not a libsndfile format (or not a file): let PyAV or load_audio say why
        pass
    try:
        import av

        with av.open(str(p)) as container:
            if container.streams.audio:
                return int(container.streams.audio[0].sample_rate) or None
    except Exception:  # load_audio reports the real problem with the file's name
        pass
    return None


def _check_array(samples: np.ndarray, sr: float, what: str) -> np.ndarray:
    x = np.asarray(samples)
    if x.ndim == 1:
        x = x.reshape(-1, 1)
    if x.ndim != 2 or x.shape[1] < 1:
        raise ValueError(f"{what}: samples must be shaped (n,) or (n, channels), got {np.shape(samples)}")
    if x.dtype.kind != "f":
        raise ValueError(f"{what}: samples must be floating point in -1..1, got dtype {x.dtype}")
    if not (math.isfinite(sr) and sr > 0):
        raise ValueError(f"{what}: sample rate must be a positive number of Hz, got {sr!r}")
    return np.ascontiguousarray(x, dtype=np.float32)


class FileSource:
    """A file (or array) played in real time through the live path: ring buffer, conditioning.

    Without monitoring, the injected `clock` paces it: at each `read`, everything up to
    ``clock.now() - start time`` is pushed into the ring buffer in `block_frames` pieces (as a
    device callback would), then read back like live input. With `monitor` (an output device
    name), the file plays on that device and the output callback's progress paces the analysis,
    so what is analysed is what is heard.

    Args:
        path: the audio file (None with `samples`).
        clock: time source for pacing (the engine's Clock; a ManualClock feeds it faster than
            real time in tests).
        samples / sr: play this array at this rate instead of a file (`from_array`).
        channels / downmix / dc_block: as for `SoundDeviceSource`.
        monitor: output device name for monitoring; None = silent.
        monitor_host_api: narrows the monitor device search.
        block_frames: frames per simulated callback.
        backend: sounddevice or a stand-in, for monitoring.

    Raises:
        AudioFileError: the file cannot be used (missing, empty, unreadable).

    Threads: `read`, `start`, `stop` on the analysis thread; the monitor callback on PortAudio's.
    """

    kind = "file"

    def __init__(self, path: str | os.PathLike | None = None, *, clock: Clock,
                 samples: np.ndarray | None = None, sr: float | None = None,
                 channels: Sequence[int] | None = None, downmix: bool = True, dc_block: bool = True,
                 monitor: str | None = None, monitor_host_api: str | None = None,
                 block_frames: int = DEFAULT_BLOCKSIZE, ring_seconds: float = DEFAULT_RING_SECONDS,
                 backend: Any = None, name: str | None = None) -> None:
        if samples is None:
            if path is None:
                raise ValueError("FileSource needs a path or samples")
            data, rate = decode_native(path)
        else:
            data = _check_array(samples, sr if sr is not None else float("nan"), "FileSource")
            rate = sr
        if int(block_frames) != block_frames or block_frames < 1:
            raise ValueError(f"block_frames must be a positive integer, got {block_frames!r}")
        self.name = name or (str(path) if path is not None else "array")
        self.clock = clock
        self.native_rate = float(rate)
        self.sample_rate = ANALYSIS_RATE
        self._data = data
        self._cond = InputConditioner(rate, data.shape[1], channels, downmix=downmix, dc_block=dc_block)
        self.channels = self._cond.out_channels
        self._ring = RingBuffer(max(int(rate * ring_seconds), 4 * int(block_frames)), data.shape[1])
        self._reader = _ConditionedReader(self._ring, self._cond)
        self.block_frames = int(block_frames)
        self.monitor = monitor
        self.monitor_host_api = monitor_host_api
        self._backend = backend
        self._monitor_stream = None
        self._monitor_data: np.ndarray | None = None
        self._monitor_rate = 0.0
        self._played = 0  # monitor frames played (written by the monitor callback only)
        self._pushed = 0  # native frames pushed into the ring
        self._t0: float | None = None
        self._flushed = False
        self._state = SourceState.IDLE
        self.notes: list[str] = []

    @classmethod
    def from_array(cls, samples: np.ndarray, sr: float, *, clock: Clock, **kwargs: Any) -> FileSource:
        """A FileSource playing `samples` ((n,) or (n, channels) float) recorded at `sr` Hz."""
        return cls(None, clock=clock, samples=samples, sr=sr, **kwargs)

    @property
    def duration_s(self) -> float:
        """Length of the file in seconds."""
        return self._data.shape[0] / self.native_rate

    def start(self) -> None:
        """Start playing now (by the clock), and open the monitor output if asked.

        Raises:
            AudioDeviceError: the monitor device cannot be found or opened.
        """
        if self._state == SourceState.RUNNING:
            return
        if self.monitor is not None:
            self._open_monitor()
        self._t0 = self.clock.now()
        self._state = SourceState.RUNNING

    def _open_monitor(self) -> None:
        sd = self._backend if self._backend is not None else import_sounddevice()
        info = find_device(self.monitor, "output", self.monitor_host_api, sd)
        ch = min(self._data.shape[1], info.output_channels)
        data = self._data[:, :ch]
        rate = self.native_rate
        try:
            sd.check_output_settings(device=info.index, channels=ch, dtype="float32", samplerate=rate)
        except (sd.PortAudioError, ValueError) as exc:
            # The device wants another rate: play a copy resampled once, here, not in the callback.
            import soxr

            note = (f"monitor device '{info.name}' refused {rate:g} Hz ({exc}); playing at its "
                    f"default {info.default_rate:g} Hz")
            self.notes.append(note)
            log.warning("%s", note)
            data = soxr.resample(data, rate, info.default_rate, quality="HQ").astype(np.float32)
            rate = info.default_rate
        self._monitor_data = np.ascontiguousarray(data, dtype=np.float32)
        self._monitor_rate = float(rate)
        try:
            stream = sd.OutputStream(device=info.index, channels=ch, samplerate=rate,
                                     blocksize=self.block_frames, dtype="float32",
                                     callback=self._monitor_callback)
            stream.start()
        except (sd.PortAudioError, ValueError) as exc:
            raise AudioDeviceError(f"monitor device '{info.name}' could not be opened: {exc}") from None
        self._monitor_stream = stream

    def _monitor_callback(self, outdata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        # PortAudio's thread: one copy out of the preallocated array and a counter update.
        data = self._monitor_data
        pos = self._played
        n = max(0, min(frames, data.shape[0] - pos))
        outdata[:n] = data[pos:pos + n]
        if n < frames:
            outdata[n:] = 0.0
        self._played = pos + n

    def stop(self) -> None:
        """Stop playing and close the monitor output; safe to call twice."""
        stream, self._monitor_stream = self._monitor_stream, None
        if stream is not None:
            release_stream(stream, f"monitor '{self.monitor}'")
        if self._state == SourceState.RUNNING:
            self._state = SourceState.STOPPED

    def _due_frames(self) -> int:
        """Native frames that should have played by now."""
        total = self._data.shape[0]
        if self._t0 is None:
            return 0
        if self._monitor_data is not None:
            due = self._played * self.native_rate / self._monitor_rate
        else:
            due = (self.clock.now() - self._t0) * self.native_rate
        return min(total, max(0, int(math.floor(due + 1e-9))))

    def read(self, max_frames: int | None = None) -> AudioChunk:
        """Conditioned 48 kHz audio of the part of the file that has played since the last read."""
        if self._state == SourceState.RUNNING:
            due = self._due_frames()
            bf = self.block_frames
            while self._pushed < due:  # the stand-in for the device callback
                n = min(bf, due - self._pushed)
                self._ring.write(self._data[self._pushed:self._pushed + n])
                self._pushed += n
        at_end = self._pushed >= self._data.shape[0] and self._state == SourceState.RUNNING
        # The ring holds at most `capacity` frames and one read takes them all, so the resampler
        # can be flushed on the read that drains the file's last frames.
        last = at_end and not self._flushed
        if last:
            self._flushed = True
        chunk = self._reader.read(max_frames, last=last)
        if at_end and self._flushed and not self._reader.pending and not self._ring.available():
            self._state = SourceState.FINISHED
        return chunk

    @property
    def state(self) -> SourceState:
        """idle, running, finished (everything delivered) or stopped."""
        return self._state

    @property
    def frames_captured(self) -> int:
        """Native frames pushed so far."""
        return self._pushed

    @property
    def latency_s(self) -> float:
        """What the resampler holds back (seconds); files have no device latency."""
        return self._cond.delay_s

    def stats(self) -> SourceStats:
        """Counters and settings (any thread)."""
        return SourceStats(
            name=self.name, kind=self.kind, state=self._state.value, native_rate=self.native_rate,
            channels=self.channels, frames_captured=self._pushed, frames_out=self._reader.frames_out,
            ring_overflows=self._ring.overflows, frames_dropped=self._ring.frames_dropped,
            nonfinite_samples=self._cond.stats.nonfinite_samples,
            denormal_samples=self._cond.stats.denormal_samples, latency_s=self.latency_s,
            notes=tuple(self.notes))


class OfflineFileSource:
    """A file (or array) consumed sample-accurately: offline renders and `echoel beats`.

    `read(n)` returns exactly n frames at 48 kHz (fewer only at the end of the file);
    `read_until(frame)` returns everything up to an absolute frame index. The samples are the same
    as a `FileSource` of the same file gives live, for any block sizes (bit-identical).

    Args:
        path / samples / sr / channels / downmix / dc_block: as for `FileSource`.
        chunk_frames: native frames decoded per conditioning step.

    Raises:
        AudioFileError: the file cannot be used.

    Thread: whichever reads it (the render thread offline).
    """

    kind = "offline-file"

    def __init__(self, path: str | os.PathLike | None = None, *, samples: np.ndarray | None = None,
                 sr: float | None = None, channels: Sequence[int] | None = None,
                 downmix: bool = True, dc_block: bool = True, chunk_frames: int = 4096,
                 name: str | None = None) -> None:
        if samples is None:
            if path is None:
                raise ValueError("OfflineFileSource needs a path or samples")
            data, rate = decode_native(path)
        else:
            data = _check_array(samples, sr if sr is not None else float("nan"), "OfflineFileSource")
            rate = sr
        if int(chunk_frames) != chunk_frames or chunk_frames < 1:
            raise ValueError(f"chunk_frames must be a positive integer, got {chunk_frames!r}")
        self.name = name or (str(path) if path is not None else "array")
        self.native_rate = float(rate)
        self.sample_rate = ANALYSIS_RATE
        self._data = data
        self._cond = InputConditioner(rate, data.shape[1], channels, downmix=downmix, dc_block=dc_block)
        self.channels = self._cond.out_channels
        self.chunk_frames = int(chunk_frames)
        self._pos = 0  # native frames conditioned
        self._eof = False
        self._backlog: list[np.ndarray] = []
        self._backlog_frames = 0
        self._out = 0
        self._state = SourceState.IDLE

    @classmethod
    def from_array(cls, samples: np.ndarray, sr: float, **kwargs: Any) -> OfflineFileSource:
        """An OfflineFileSource over `samples` ((n,) or (n, channels) float) recorded at `sr` Hz."""
        return cls(None, samples=samples, sr=sr, **kwargs)

    @property
    def duration_s(self) -> float:
        """Length in seconds."""
        return self._data.shape[0] / self.native_rate

    @property
    def frames_total(self) -> int:
        """Frames the whole file gives at 48 kHz (the resampled length, rounded)."""
        return int(round(self._data.shape[0] * self.sample_rate / self.native_rate))

    @property
    def position(self) -> int:
        """Index of the next frame `read` returns."""
        return self._out

    def start(self) -> None:
        """Mark the source running (nothing to open)."""
        if self._state == SourceState.IDLE:
            self._state = SourceState.RUNNING

    def stop(self) -> None:
        """Mark the source stopped."""
        if self._state == SourceState.RUNNING:
            self._state = SourceState.STOPPED

    def _produce(self) -> bool:
        if self._eof:
            return False
        end = min(self._pos + self.chunk_frames, self._data.shape[0])
        last = end >= self._data.shape[0]
        out = self._cond.process(self._data[self._pos:end], last=last)
        self._pos = end
        self._eof = last
        if out.shape[0]:
            self._backlog.append(out)
            self._backlog_frames += out.shape[0]
        return True

    def read(self, max_frames: int | None = None) -> AudioChunk:
        """The next `max_frames` frames (the rest of the file when None)."""
        if self._state == SourceState.IDLE:
            self.start()
        want = math.inf if max_frames is None else max(0, int(max_frames))
        while self._backlog_frames < want and self._produce():
            pass
        start = self._out
        if not self._backlog_frames:
            if self._eof:
                self._state = SourceState.FINISHED
            return AudioChunk.empty(start, self.channels)
        data = self._backlog[0] if len(self._backlog) == 1 else np.concatenate(self._backlog)
        if data.shape[0] > want:
            out, rest = data[: int(want)], data[int(want):]
            self._backlog, self._backlog_frames = [rest], rest.shape[0]
        else:
            out = data
            self._backlog, self._backlog_frames = [], 0
        self._out += out.shape[0]
        if self._eof and not self._backlog_frames:
            self._state = SourceState.FINISHED
        return AudioChunk(out, start)

    def read_until(self, frame: int) -> AudioChunk:
        """Everything from the current position up to (not including) absolute frame `frame`."""
        return self.read(max(0, int(frame) - self._out))

    def read_until_time(self, t: float) -> AudioChunk:
        """Everything up to time `t` seconds (frame ``round(t * 48000)``), as offline renders step."""
        return self.read_until(int(round(t * self.sample_rate)))

    @property
    def state(self) -> SourceState:
        """idle, running, finished or stopped."""
        return self._state

    @property
    def latency_s(self) -> float:
        """0: offline, samples are consumed by their own timestamps."""
        return 0.0

    def stats(self) -> SourceStats:
        """Counters and settings."""
        return SourceStats(
            name=self.name, kind=self.kind, state=self._state.value, native_rate=self.native_rate,
            channels=self.channels, frames_captured=self._pos, frames_out=self._out,
            nonfinite_samples=self._cond.stats.nonfinite_samples,
            denormal_samples=self._cond.stats.denormal_samples)


class NullSource:
    """No audio input: silence paced by the clock. Never raises; state "no audio input".

    Delivering silence (rather than nothing) keeps the analysis running on its sample clock, so
    levels fall to rest naturally and the beat tracker sees a breakdown and holds its phase.

    Args:
        clock: pacing; None gives empty chunks (nothing arrives, the analysis sees a stall).
        channels: output channels.
        reason: why there is no input (shown in the part state).
        max_chunk_s: at most this much silence per read (after a long stall, no huge arrays).

    Thread: the analysis thread.
    """

    kind = "null"

    def __init__(self, clock: Clock | None = None, channels: int = 1, reason: str = "",
                 max_chunk_s: float = 0.5) -> None:
        self.clock = clock
        self.channels = max(1, int(channels))
        self.reason = reason
        self.name = "null"
        self.sample_rate = ANALYSIS_RATE
        self.max_chunk = max(1, int(max_chunk_s * ANALYSIS_RATE))
        self._t0: float | None = None
        self._out = 0

    def start(self) -> None:
        """Start pacing from the clock's current time."""
        if self._t0 is None and self.clock is not None:
            try:
                self._t0 = float(self.clock.now())
            except Exception:  # never raise: a broken clock just means no silence is produced
                self._t0 = None

    def stop(self) -> None:
        """Nothing to release."""

    def read(self, max_frames: int | None = None) -> AudioChunk:
        """Silence for the time elapsed since the previous read (or an empty chunk)."""
        if self._t0 is None:
            self.start()
            if self._t0 is None:
                return AudioChunk.empty(self._out, self.channels)
        try:
            due = int((float(self.clock.now()) - self._t0) * ANALYSIS_RATE)
        except Exception:
            due = self._out
        n = due - self._out
        if n > self.max_chunk:  # a long stall: skip ahead rather than allocate a huge block
            self._out = due - self.max_chunk
            n = self.max_chunk
        if max_frames is not None:
            n = min(n, int(max_frames))
        n = max(0, n)
        start = self._out
        self._out += n
        return AudioChunk(np.zeros((n, self.channels), np.float32), start)

    @property
    def state(self) -> SourceState:
        """Always "no audio input"."""
        return SourceState.NO_INPUT

    @property
    def latency_s(self) -> float:
        """0."""
        return 0.0

    def stats(self) -> SourceStats:
        """Counters (frames of silence handed out)."""
        return SourceStats(name=self.name, kind=self.kind, state=self.state.value,
                           native_rate=float(ANALYSIS_RATE), channels=self.channels,
                           frames_out=self._out, notes=(self.reason,) if self.reason else ())


# ---------------------------------------------------------------------------------------------
@dataclass
class SupervisorEvent:
    """One switch of the supervisor (for logs, the HUD and tests)."""

    time: float
    kind: str  # "lost", "reconnected", "open-failed"
    detail: str


class InputSupervisor:
    """Keeps audio flowing: a lost device is replaced by silence and reconnected when it returns.

    `read` never raises. It returns chunks on one continuous 48 kHz timeline (`start_frame`
    counts across switches), so the analysis' sample times stay meaningful through a loss. A
    device counts as lost when its stream ends without `stop` (state LOST), when `read` raises,
    or when no frame arrives for `stall_s` of clock time. Then the `NullSource` takes over, the part
    state becomes degraded with the reason "no audio input: ...", and every `retry_s` the
    supervisor rescans PortAudio (`rescan`) and calls `open_source` again (which looks the device up
    by name, since indexes shift).

    Nothing here touches the beat clock: while the input is silent the clock free-runs at its
    last tempo (and the tracker holds its phase), which is what a show needs.

    Args:
        open_source: makes and starts a new source (e.g. ``lambda: started(SoundDeviceSource("X"))``);
            may raise when the device is not there.
        clock: the engine clock (pacing of the null source, stall and retry timing).
        parts: the part-state registry to report to (optional).
        part: the part name ("audio").
        retry_s: seconds between reconnection attempts.
        stall_s: seconds without audio that count as a loss.
        rescan: called before each reconnection attempt after the old source is closed
            (`live.audio.devices.rescan` for PortAudio devices); None = no rescan.

    Thread: the analysis thread (all methods).
    """

    def __init__(self, open_source: Callable[[], AudioSource], *, clock: Clock, parts: Any = None,
                 part: str = "audio", retry_s: float = 2.0, stall_s: float = 0.5,
                 rescan: Callable[[], None] | None = None, background_rescan: bool = True) -> None:
        if not retry_s > 0 or not stall_s > 0:
            raise ValueError(f"retry_s and stall_s must be positive, got {retry_s!r}, {stall_s!r}")
        self._open = open_source
        self.clock = clock
        self.parts = parts
        self.part = part
        self.retry_s = float(retry_s)
        self.stall_s = float(stall_s)
        self._rescan = rescan
        self._background_rescan = background_rescan
        self._rescan_job: threading.Thread | None = None
        self._rescan_error: list[BaseException] = []
        self.source: AudioSource = NullSource(clock, reason="not started")
        self.losses = 0
        self.reconnects = 0
        self.events: deque[SupervisorEvent] = deque(maxlen=64)  # the latest switches
        self.last_error = ""
        self._out = 0  # next frame index on the continuous timeline
        self._next_retry = 0.0
        self._last_count = -1
        self._last_progress = 0.0
        self._live = False

    @property
    def state(self) -> str:
        """"running" while a real source delivers, else "no audio input"."""
        return "running" if self._live else NO_AUDIO_INPUT

    @property
    def latency_s(self) -> float:
        """The current source's input latency (0 on silence)."""
        return self.source.latency_s

    def start(self) -> None:
        """Open the source, or fall back to silence (never raises)."""
        self._try_open(first=True)

    def stop(self) -> None:
        """Close the current source."""
        self._close_current()
        self._live = False

    def read(self, max_frames: int | None = None) -> AudioChunk:
        """Audio since the previous read, on the supervisor's continuous timeline (never raises)."""
        self.poll()
        try:
            chunk = self.source.read(max_frames)
        except Exception as exc:  # a device failing mid-read must not stop the show
            self._lose(f"read failed: {exc}")
            chunk = self.source.read(max_frames)
        if self._live and self.source.state in (SourceState.LOST, SourceState.STOPPED):
            self._lose("the input stream stopped")
        out = AudioChunk(chunk.samples, self._out, chunk.sample_rate)
        self._out += chunk.frames
        return out

    def poll(self) -> None:
        """Check the live source and retry a lost one when due (called by `read`)."""
        now = self._now()
        if self._live:
            src = self.source
            if src.state in (SourceState.LOST, SourceState.STOPPED):
                self._lose("the input stream stopped")
                return
            count = getattr(src, "frames_captured", None)
            if count is None:
                return
            if count != self._last_count:
                self._last_count = count
                self._last_progress = now
            elif now - self._last_progress > self.stall_s:
                self._lose(f"no audio for {now - self._last_progress:.1f} s")
        elif self._rescan_job is not None:
            if not self._rescan_job.is_alive():  # the background rescan has finished
                self._rescan_job = None
                self._after_rescan()
        elif now >= self._next_retry:
            self._retry()

    # ------------------------------------------------------------------ internals
    def _now(self) -> float:
        try:
            return float(self.clock.now())
        except Exception:
            return 0.0

    def _close_current(self) -> None:
        try:
            self.source.stop()
        except Exception as exc:
            log.debug("stopping audio source failed: %s", exc)

    def _lose(self, why: str) -> None:
        name = getattr(self.source, "name", "audio input")
        self.losses += 1
        self._close_current()
        self._to_null(f"'{name}' lost ({why})", "lost")

    def _to_null(self, reason: str, kind: str) -> None:
        was_live = self._live
        self._live = False
        now = self._now()
        self.events.append(SupervisorEvent(now, kind, reason))
        if was_live or not isinstance(self.source, NullSource):
            # Keep the silent timeline running across failed retries; restart it after a loss.
            self.source = NullSource(self.clock, reason=reason)
            self.source.start()
        else:
            self.source.reason = reason
            self.source.start()  # no-op when already pacing
        self._next_retry = now + self.retry_s
        message = f"{NO_AUDIO_INPUT}: {reason}; retrying every {self.retry_s:g} s"
        if reason != self.last_error:  # one line per new problem, not one per retry
            log.warning("%s", message)
        self.last_error = reason
        if self.parts is not None:
            self.parts.degraded(self.part, message)

    def _retry(self) -> None:
        self._close_current()
        if self._rescan is None:
            self._try_open(first=False)
            return
        self._rescan_error = []
        if not self._background_rescan:
            self._run_rescan()
            self._after_rescan()
            return
        # A rescan can take seconds (or hang, see devices.rescan): keep reading silence meanwhile.
        self._rescan_job = threading.Thread(target=self._run_rescan, name="echoel-input-rescan",
                                            daemon=True)
        self._rescan_job.start()

    def _run_rescan(self) -> None:
        try:
            self._rescan()
        except Exception as exc:  # handed to _after_rescan on the supervisor's thread
            self._rescan_error.append(exc)

    def _after_rescan(self) -> None:
        if self._rescan_error:
            # A stuck PortAudio: opening a stream now could crash the process.
            self._to_null(f"cannot rescan the audio devices ({self._rescan_error[0]})", "open-failed")
            return
        self._try_open(first=False)

    def _try_open(self, first: bool) -> None:
        self._close_current()
        try:
            src = self._open()
            if getattr(src, "state", SourceState.RUNNING) == SourceState.IDLE:
                src.start()
        except Exception as exc:  # AudioDeviceError above all; never let it stop the show
            self._to_null(f"cannot open the input ({exc})", "open-failed")
            return
        self.source = src
        self._live = True
        self._last_count = -1
        self._last_progress = self._now()
        if not first:
            self.reconnects += 1
            self.events.append(SupervisorEvent(self._now(), "reconnected", src.name))
            log.warning("audio input '%s' is back", src.name)
        if self.parts is not None:
            self.parts.ok(self.part, f"{src.name}")


def open_input(device: str | None = None, **kwargs: Any) -> SoundDeviceSource:
    """Create and start a `SoundDeviceSource` (a convenient `open_source` for the supervisor).

    Raises:
        AudioDeviceError: as `SoundDeviceSource.start`.
    """
    src = SoundDeviceSource(device, **kwargs)
    src.start()
    return src


__all__ = [
    "NO_AUDIO_INPUT", "AudioChunk", "AudioDeviceError", "AudioFileError", "AudioSource",
    "FileSource", "InputSupervisor", "NullSource", "OfflineFileSource", "SoundDeviceSource",
    "SourceState", "SourceStats", "SupervisorEvent", "decode_native", "open_input",
]
