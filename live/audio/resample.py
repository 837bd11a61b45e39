"""Input conditioning: what every source's samples pass through on the way to the analysis.

Live capture, files played in real time and offline renders all use the same chain, so they give
the same numbers (item 6 of the audio issue):

1. sanitise: NaN and +/-inf become 0, denormals (tiny values that make filters crawl on some CPUs)
   become 0; both are counted;
2. channel selection or downmix (the mean of the chosen channels, as `decode.to_mono` does);
3. streaming resampling to 48 kHz with libsoxr's `ResampleStream` at low-latency quality (skipped
   when the rate already matches, which keeps a 48 kHz capture bit-exact);
4. a gentle DC-blocking high-pass (first order, 5 Hz): an offset from a cheap interface would
   otherwise sit in the bass band and the auto-gain averages.

Every step is independent of how the stream is cut into blocks, down to the last bit: libsoxr's
stream gives the same samples for any chunking, and the DC filter works on a fixed grid of
absolute sample positions (see `DCBlocker`). So a file fed in 256-frame callbacks and the same file
read in render-frame slices give identical input to the analysis.

All classes here run on the consumer thread (the analysis thread live, the render thread offline),
never in an audio callback: they allocate.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from live.audio.decode import ANALYSIS_RATE

#: Cut-off of the DC-blocking high-pass (Hz): -0.3 dB at 20 Hz, the bottom of the bass band.
DC_CUTOFF_HZ = 5.0
#: The DC filter restarts its scaled running sum every this many samples (see `DCBlocker`).
DC_GRID = 1024
#: float32 values below this magnitude (the smallest normal float32) are flushed to zero.
DENORMAL_LIMIT = float(np.finfo(np.float32).tiny)
#: libsoxr quality used for every stream. "LQ" is flat within 0.1 dB up to 16 kHz (the top of the
#: analysis) from 44.1 kHz and above, and holds back about 0.5 ms of audio in 256-frame streaming
#: at 44.1 kHz, where "HQ" holds about 12 ms on average: live latency matters more here than
#: resampling fidelity beyond what the analysis looks at. Live and offline use the same setting.
RESAMPLE_QUALITY = "LQ"


class StreamResampler:
    """Streaming sample-rate conversion of (n, channels) float32 blocks to `out_rate`.

    Consumer thread. Passes blocks through untouched when the rates are equal. The output of a
    stream does not depend on how its input was split into blocks.

    Args:
        in_rate: input sample rate in Hz (any positive rate: 8000, 22050, 44100, 96000, ...).
        out_rate: output rate in Hz (48 kHz, the analysis rate, by default).
        channels: channels per frame.

    Raises:
        ValueError: a rate or the channel count is not a positive number.
    """

    def __init__(self, in_rate: float, out_rate: int = ANALYSIS_RATE, channels: int = 1) -> None:
        if not (isinstance(in_rate, (int, float)) and math.isfinite(in_rate) and in_rate > 0):
            raise ValueError(f"StreamResampler: in_rate must be a positive sample rate, got {in_rate!r}")
        if int(out_rate) != out_rate or out_rate <= 0:
            raise ValueError(f"StreamResampler: out_rate must be a positive integer, got {out_rate!r}")
        if int(channels) != channels or channels < 1:
            raise ValueError(f"StreamResampler: channels must be a positive integer, got {channels!r}")
        self.in_rate = float(in_rate)
        self.out_rate = int(out_rate)
        self.channels = int(channels)
        self.passthrough = self.in_rate == self.out_rate
        self._stream = None
        if not self.passthrough:
            import soxr

            self._stream = soxr.ResampleStream(self.in_rate, self.out_rate, self.channels,
                                               dtype="float32", quality=RESAMPLE_QUALITY)

    @property
    def delay_s(self) -> float:
        """Audio held inside the resampler right now, in seconds (0 when passing through)."""
        if self._stream is None:
            return 0.0
        return float(self._stream.delay()) / self.out_rate

    def process(self, block: np.ndarray, last: bool = False) -> np.ndarray:
        """Resample a (n, channels) float32 block; `last=True` also flushes the filter's tail."""
        if self._stream is None:
            return block
        if block.shape[0] == 0 and not last:
            return block
        x = np.ascontiguousarray(block, dtype=np.float32)
        if self.channels == 1:
            y = self._stream.resample_chunk(x.reshape(-1), last=last)
            return y.reshape(-1, 1)
        return self._stream.resample_chunk(x, last=last)

    def reset(self) -> None:
        """Forget the stream (a new recording starts)."""
        if self._stream is not None:
            self._stream.clear()


class DCBlocker:
    """First-order DC-blocking high-pass, ``y[n] = x[n] - x[n-1] + r * y[n-1]``, vectorised.

    Consumer thread. The recursion is evaluated block-wise in closed form,
    ``y[n] = r**(n-g) * (r * y[g-1] + sum_{k=g..n} r**(g-k) * d[k])`` with ``d = diff(x)``, where
    ``g`` is the start of the current `DC_GRID`-sample cell of the *absolute* sample index. The
    running sum restarts at every cell boundary (so ``r**-k`` stays below about 2) and carries
    over between calls inside a cell as the same sequence of additions, which makes the output
    bit-identical for any block sizes.

    Args:
        rate: sample rate (Hz). cutoff_hz: the -3 dB corner. channels: channels per frame.
    """

    def __init__(self, rate: int = ANALYSIS_RATE, cutoff_hz: float = DC_CUTOFF_HZ,
                 channels: int = 1) -> None:
        if not 0.0 < cutoff_hz < rate / 4:
            raise ValueError(f"DCBlocker: cutoff_hz must be between 0 and {rate / 4:g}, got {cutoff_hz!r}")
        self.channels = int(channels)
        r = math.exp(-2.0 * math.pi * cutoff_hz / rate)
        k = np.arange(DC_GRID + 1, dtype=np.float64)
        self._up = (r ** -k)[:, None]  # r**-(k) for the scaled running sum
        self._down = (r ** k)[:, None]  # r**(k) to unscale
        self._r = r
        self.reset()

    def reset(self) -> None:
        """Forget the filter state (the next sample is treated as the first)."""
        self._pos = 0  # absolute index of the next input sample
        self._prev_x = np.zeros((1, self.channels), np.float64)
        self._y_before_cell = np.zeros((1, self.channels), np.float64)  # y[g-1]
        self._cell_sum = np.zeros((1, self.channels), np.float64)  # running sum inside the cell
        self._started = False

    def process(self, block: np.ndarray) -> np.ndarray:
        """Filter a (n, channels) float32 block; returns a new float32 array of the same shape."""
        n = block.shape[0]
        if n == 0:
            return block
        x = block.astype(np.float64)
        if not self._started:
            # Start from the first sample's value: a signal that begins with an offset does not
            # open with a step (the offset then decays with the filter's time constant).
            self._prev_x[0] = x[0]
            self._started = True
        d = np.empty_like(x)
        d[0] = x[0] - self._prev_x[0]
        np.subtract(x[1:], x[:-1], out=d[1:])
        self._prev_x[0] = x[-1]
        y = np.empty_like(x)
        done = 0
        while done < n:
            off = self._pos % DC_GRID  # position inside the current cell
            take = min(n - done, DC_GRID - off)
            seg = d[done:done + take] * self._up[off:off + take]
            # The same additions as one cumsum over the whole cell: carry first, then the terms.
            acc = np.cumsum(np.concatenate((self._cell_sum, seg)), axis=0)[1:]
            y[done:done + take] = self._down[off:off + take] * (self._r * self._y_before_cell + acc)
            self._cell_sum = acc[-1:]
            self._pos += take
            done += take
            if self._pos % DC_GRID == 0:  # the cell is complete: the next one starts from y[g-1]
                self._y_before_cell = y[done - 1:done].copy()
                self._cell_sum = np.zeros_like(self._cell_sum)
        return y.astype(np.float32)


@dataclass
class ConditionerStats:
    """Counters of what the conditioning chain repaired (consumer thread writes, any thread reads)."""

    nonfinite_samples: int = 0
    denormal_samples: int = 0


class InputConditioner:
    """The whole chain: sanitise, select or downmix channels, resample to 48 kHz, remove DC.

    Consumer thread.

    Args:
        in_rate: the source's native sample rate (Hz).
        in_channels: channels in the source's frames.
        select: 1-based channel numbers to keep, or None for all.
        downmix: mix the kept channels into one (the analysis needs mono).
        dc_block: apply the DC-blocking high-pass (off only for bit-exact capture checks).
        out_rate: output rate (48 kHz).

    Raises:
        ValueError: a selected channel does not exist (the message lists the valid numbers).
    """

    def __init__(self, in_rate: float, in_channels: int, select: Sequence[int] | None = None,
                 downmix: bool = True, dc_block: bool = True, out_rate: int = ANALYSIS_RATE) -> None:
        self.in_channels = int(in_channels)
        self.select = normalise_channel_selection(select, self.in_channels)
        self.downmix = bool(downmix)
        self.out_channels = 1 if self.downmix else len(self.select)
        self.out_rate = int(out_rate)
        self.stats = ConditionerStats()
        self._index = np.array([c - 1 for c in self.select], np.intp)
        self._all = self.select == tuple(range(1, self.in_channels + 1))
        self._resampler = StreamResampler(in_rate, self.out_rate, self.out_channels)
        self._dc = DCBlocker(self.out_rate, channels=self.out_channels) if dc_block else None

    @property
    def delay_s(self) -> float:
        """Audio held in the resampler (seconds): part of the input latency."""
        return self._resampler.delay_s

    def process(self, block: np.ndarray, last: bool = False) -> np.ndarray:
        """Condition a (n, in_channels) block; returns (m, out_channels) float32 at `out_rate`.

        `last=True` flushes the resampler at the end of a file. Blocks may be empty.
        """
        x = block
        if x.shape[0]:
            x = self._sanitise(x)
            if not self._all:
                x = x[:, self._index]
            if self.downmix and x.shape[1] > 1:
                x = x.mean(axis=1, dtype=np.float64).astype(np.float32).reshape(-1, 1)
        x = self._resampler.process(np.ascontiguousarray(x, dtype=np.float32), last=last)
        if self._dc is not None and x.shape[0]:
            x = self._dc.process(x)
        return x

    def reset(self) -> None:
        """Start a new stream (after a reconnect): filter and resampler state are cleared."""
        self._resampler.reset()
        if self._dc is not None:
            self._dc.reset()

    def _sanitise(self, x: np.ndarray) -> np.ndarray:
        finite = np.isfinite(x)
        tiny = np.abs(x) < DENORMAL_LIMIT
        tiny &= x != 0.0
        bad = not finite.all()
        has_tiny = bool(tiny.any())
        if not (bad or has_tiny):
            return x
        x = np.array(x, dtype=np.float32, copy=True)
        if bad:
            self.stats.nonfinite_samples += int(x.size - np.count_nonzero(finite))
            x[~finite] = 0.0
        if has_tiny:
            self.stats.denormal_samples += int(np.count_nonzero(tiny))
            x[tiny] = 0.0
        return x


def normalise_channel_selection(select: Sequence[int] | None, available: int) -> tuple[int, ...]:
    """Check 1-based channel numbers against the `available` channels; None means all of them.

    Any thread.

    Raises:
        ValueError: empty selection, a duplicate, or a channel outside 1..available.
    """
    if select is None:
        return tuple(range(1, available + 1))
    chosen = tuple(select)
    if not chosen:
        raise ValueError("channel selection is empty: give at least one channel number (1-based)")
    for c in chosen:
        if int(c) != c or not 1 <= c <= available:
            raise ValueError(f"channel {c!r} does not exist: this input has channels 1..{available}")
    if len(set(chosen)) != len(chosen):
        raise ValueError(f"channel selection {list(chosen)} names a channel twice")
    return tuple(int(c) for c in chosen)
