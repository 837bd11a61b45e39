"""Heart and breath signals from the companion app: its OSC schema and the engine's own HRV maths.

The phone app streams what a watch measures, one device per `<device_id>`::

    /echoel/bio/<device_id>/hr            f   heart rate, beats per minute
    /echoel/bio/<device_id>/rr            i   interval since the previous beat, ms (at each beat)
    /echoel/bio/<device_id>/rmssd         f   the app's RMSSD, ms
    /echoel/bio/<device_id>/sdnn          f   the app's SDNN, ms
    /echoel/bio/<device_id>/coherence     f   the app's coherence, 0..1
    /echoel/bio/<device_id>/breath/rate   f   breaths per minute
    /echoel/bio/<device_id>/breath/phase  f   0 at the start of an inhalation .. 1

From the RR intervals the engine computes its own values (`RrAnalysis`): RMSSD and SDNN over the
last 60 s (at least 20 intervals), coherence and breath rate from the spectrum of 64 s of RR
resampled at 4 Hz (natural cubic spline, isolated ectopic beats left out), and a pulse trigger at
each beat. Intervals outside 300-2000 ms, or more than
20 % away from the previous accepted one, are rejected and counted (ectopic beats, missed or
doubled detections).

Signals on the bus (ARCHITECTURE.md "Names"; units, not 0..1 levels: map them with an input
range). For each signal in `SIGNALS`:

- ``bio.<signal>.<device_id>``: that device's value: the engine's computed value when it has
  enough RR data, otherwise the value the app sent (for ``hr`` the app's value first).
- ``bio.<signal>``: the same for the primary device (configured, else the first device heard
  that is not stale).
- ``bio.<signal>.app`` and ``bio.<signal>.calc``: the primary device's value as sent by the app
  and as computed by the engine, side by side. "app" and "calc" are therefore not allowed as
  device ids.

``bio.pulse`` fires for one frame at each heartbeat (an ``/rr`` message; from ``/hr`` alone when
no intervals arrive). ``bio.stale`` is 1.0 once a device has sent nothing for `stale_after`
seconds (and while no device is known); its values then move linearly to `NEUTRAL` over `decay`
seconds.

Threads: `BioHub` belongs to the render thread (the OSC input drains its queue there); the
functions of the RR maths are pure and run on any thread.
"""

from __future__ import annotations

import collections
import math
import re
from dataclasses import dataclass, field

import numpy as np

from live.modulation.signals import SignalBus

#: OSC address prefix of the companion app's messages.
BIO_PREFIX = "/echoel/bio/"
#: The signals each device has, in the order of ARCHITECTURE.md.
SIGNALS = ("hr", "rr", "rmssd", "sdnn", "coherence", "breath.rate", "breath.phase", "pulse", "stale")
#: Device ids the engine uses for its own names (``bio.hr.app``, ``bio.hr.calc``).
RESERVED_DEVICE_IDS = ("app", "calc")
DEVICE_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")

#: What a quiet stream settles to: a calm resting adult (hr 60, rr 1000 ms, typical RMSSD and
#: SDNN), no coherence, no breath in progress.
NEUTRAL: dict[str, float] = {
    "hr": 60.0, "rr": 1000.0, "rmssd": 40.0, "sdnn": 50.0, "coherence": 0.0,
    "breath.rate": 12.0, "breath.phase": 0.0,
}


@dataclass(frozen=True)
class BioField:
    """One address of the schema: the signal it feeds, its unit and the values a body can have."""

    signal: str
    type_tag: str
    unit: str
    lo: float
    hi: float
    description: str


#: Address suffix (after /echoel/bio/<device_id>/) -> field. `lo`..`hi` are physiologically
#: possible values; anything outside is rejected as impossible (not clamped: a wrong value must
#: not move the show).
SCHEMA: dict[str, BioField] = {
    "hr": BioField("hr", "f", "bpm", 20.0, 300.0, "heart rate, beats per minute"),
    "rr": BioField("rr", "i", "ms", 150.0, 6000.0,
                   "interval since the previous heartbeat in ms, sent at each beat"),
    "rmssd": BioField("rmssd", "f", "ms", 0.0, 1000.0, "the app's RMSSD over its own window, ms"),
    "sdnn": BioField("sdnn", "f", "ms", 0.0, 1000.0, "the app's SDNN over its own window, ms"),
    "coherence": BioField("coherence", "f", "", 0.0, 1.0, "the app's coherence, 0..1"),
    "breath/rate": BioField("breath.rate", "f", "1/min", 0.0, 60.0, "breaths per minute"),
    "breath/phase": BioField("breath.phase", "f", "", 0.0, 1.0,
                             "breath phase: 0 at the start of an inhalation, rising to 1"),
}

# The RR rules of the issue (and of Malik's ectopic-beat rule).
RR_MIN_MS = 300.0
RR_MAX_MS = 2000.0
RR_MAX_CHANGE = 0.20
#: Time-domain window and the intervals it needs.
TIME_WINDOW_S = 60.0
TIME_MIN_INTERVALS = 20
#: Spectral analysis: seconds of RR resampled at `RESAMPLE_HZ` (256 samples), zero-padded to
#: `SPECTRUM_POINTS` so the 0.015 Hz coherence band spans several bins.
SPECTRUM_S = 64.0
RESAMPLE_HZ = 4.0
SPECTRUM_POINTS = 1024
SPECTRUM_MIN_BEATS = 32
#: Recompute coherence and breath rate at most this often (seconds of beat time).
SPECTRUM_EVERY_S = 1.0
COHERENCE_PEAK_BAND = (0.04, 0.26)
COHERENCE_PEAK_HALF_WIDTH = 0.015
COHERENCE_TOTAL_BAND = (0.0033, 0.4)
BREATH_BAND = (0.1, 0.5)
#: After this many rejections in a row, an in-range interval that agrees with the previous one is
#: taken as the new reference (the rhythm really changed, e.g. the watch re-locked).
REANCHOR_AFTER = 3
#: Beats kept per device: more than 64 s at 240 bpm.
HISTORY_BEATS = 320
#: Without /rr for this long, pulses follow /hr instead.
PULSE_FROM_HR_AFTER_S = 3.0
MAX_DEVICES = 16


# --------------------------------------------------------------------------------------------
# RR maths (pure functions)


def rmssd(rr_ms: np.ndarray, adjacent: np.ndarray | None = None) -> float:
    """Root mean square of successive differences, ms.

    Args:
        rr_ms: accepted intervals in order.
        adjacent: `adjacent[i]` says interval i directly follows interval i-1 (no rejected beat
            between them); differences across a gap are left out. None: all adjacent.

    Returns:
        RMSSD, or NaN when there is no pair of adjacent intervals.
    """
    rr = np.asarray(rr_ms, dtype=np.float64)
    if len(rr) < 2:
        return math.nan
    d = np.diff(rr)
    if adjacent is not None:
        d = d[np.asarray(adjacent, dtype=bool)[1:]]
    return float(np.sqrt(np.mean(d * d))) if len(d) else math.nan


def sdnn(rr_ms: np.ndarray) -> float:
    """Standard deviation of the intervals (sample SD, n-1), ms; NaN with fewer than 2."""
    rr = np.asarray(rr_ms, dtype=np.float64)
    return float(np.std(rr, ddof=1)) if len(rr) >= 2 else math.nan


def natural_cubic_spline(x: np.ndarray, y: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Evaluate the natural cubic spline through (x, y) at `at` (clamped to [x[0], x[-1]]).

    `x` must be strictly increasing. With fewer than 3 points this is linear interpolation.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    at = np.clip(np.asarray(at, dtype=np.float64), x[0], x[-1])
    n = len(x)
    if n < 3:
        return np.interp(at, x, y)
    h = np.diff(x)
    # Second derivatives m (m[0] = m[-1] = 0) from the tridiagonal continuity equations.
    a = np.zeros((n - 2, n - 2))
    idx = np.arange(n - 2)
    a[idx, idx] = 2.0 * (h[:-1] + h[1:])
    a[idx[1:], idx[:-1]] = h[1:-1]
    a[idx[:-1], idx[1:]] = h[1:-1]
    slopes = np.diff(y) / h
    m = np.zeros(n)
    m[1:-1] = np.linalg.solve(a, 6.0 * np.diff(slopes))
    i = np.clip(np.searchsorted(x, at, side="right") - 1, 0, n - 2)
    hi, dx_left, dx_right = h[i], at - x[i], x[i + 1] - at
    return (m[i] * dx_right ** 3 / (6.0 * hi) + m[i + 1] * dx_left ** 3 / (6.0 * hi)
            + (y[i] / hi - m[i] * hi / 6.0) * dx_right + (y[i + 1] / hi - m[i + 1] * hi / 6.0) * dx_left)


def drop_ectopic(beat_times: np.ndarray, rr_ms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Leave out intervals that stand out from their neighbours, for the spectral analysis.

    A premature beat and its compensatory pause can each differ from the rhythm by less than
    the 20 % acceptance rule, yet their spikes dominate the spectrum (MIMIC record mixedsignals).
    An interval is dropped when it differs from the median of its 7-beat neighbourhood by more
    than 4 robust standard deviations of those differences (and more than 1 %): a breathing
    rhythm, however deep, moves the neighbourhood with it and stays.
    """
    rr = np.asarray(rr_ms, dtype=np.float64)
    if len(rr) < 7:
        return beat_times, rr
    padded = np.pad(rr, 3, mode="edge")
    local = np.median(np.lib.stride_tricks.sliding_window_view(padded, 7), axis=1)
    residual = rr - local
    spread = 1.4826 * float(np.median(np.abs(residual - np.median(residual))))
    keep = np.abs(residual) <= max(0.01 * float(np.median(rr)), 4.0 * spread)
    return np.asarray(beat_times)[keep], rr[keep]


def resample_rr(beat_times: np.ndarray, rr_ms: np.ndarray, end: float,
                seconds: float = SPECTRUM_S, rate: float = RESAMPLE_HZ) -> np.ndarray:
    """The RR series as an evenly sampled signal over [end - seconds, end): a natural cubic spline
    through the beats (each interval placed at the time of the beat that ends it)."""
    n = int(round(seconds * rate))
    grid = end - seconds + np.arange(n) / rate
    return natural_cubic_spline(beat_times, rr_ms, grid)


def rr_spectrum(series: np.ndarray, rate: float = RESAMPLE_HZ,
                points: int = SPECTRUM_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """(frequencies in Hz, power) of an evenly sampled RR series: linear trend removed,
    zero-padded to `points`.

    No taper: on 64 s of white-noise intervals a Hann window raised the mean coherence of the
    highest noise peak from 0.17 to 0.21 (measured), and breathing peaks stay clear without one.
    """
    x = np.asarray(series, dtype=np.float64)
    t = np.arange(len(x))
    slope, intercept = np.polyfit(t, x, 1)
    x = x - (slope * t + intercept)
    if float(np.max(np.abs(x))) < 1e-9:
        x = np.zeros_like(x)  # no variation: rounding residue must not look like a spectrum
    size = max(points, len(x))
    spec = np.fft.rfft(x, size)
    freqs = np.fft.rfftfreq(size, 1.0 / rate)
    return freqs, spec.real * spec.real + spec.imag * spec.imag


def coherence_ratio(freqs: np.ndarray, power: np.ndarray) -> float:
    """Power within 0.015 Hz of the highest peak in 0.04-0.26 Hz over the power in 0.0033-0.4 Hz.

    0..1; NaN when the series has no variation.
    """
    search = (freqs >= COHERENCE_PEAK_BAND[0]) & (freqs <= COHERENCE_PEAK_BAND[1])
    total = (freqs >= COHERENCE_TOTAL_BAND[0]) & (freqs <= COHERENCE_TOTAL_BAND[1])
    denom = float(power[total].sum())
    if not search.any() or denom <= 0.0:
        return math.nan
    peak = freqs[search][int(np.argmax(power[search]))]
    near = total & (np.abs(freqs - peak) <= COHERENCE_PEAK_HALF_WIDTH)
    return float(power[near].sum()) / denom


#: A peak at 1/2 or 1/3 of the strongest breathing-band frequency with at least this share of its
#: power is taken as the breathing rate: the strongest peak was a harmonic.
SUBHARMONIC_SHARE = 0.25


def breath_rate(freqs: np.ndarray, power: np.ndarray) -> float:
    """Breaths per minute: the spectral peak of the RR series in 0.1-0.5 Hz (respiratory sinus
    arrhythmia), refined between bins with a parabola. NaN when the series has no variation.

    Uneven breathing (a ventilator's quick inhalation, a sigh) swings the heart rhythm in a shape
    whose second or third harmonic can outweigh the fundamental; a real peak at 1/2 or 1/3 of the
    strongest frequency, still inside the band, with at least `SUBHARMONIC_SHARE` of its power, is
    therefore taken instead (measured on MIMIC record mixedsignals: 6/min breathing read as 12 or
    18 otherwise).
    """
    band = np.flatnonzero((freqs >= BREATH_BAND[0]) & (freqs <= BREATH_BAND[1]))
    if len(band) == 0 or float(power[band].max()) <= 0.0:
        return math.nan
    k = int(band[np.argmax(power[band])])
    step = float(freqs[1] - freqs[0])
    for divisor in (3, 2):
        f_sub = float(freqs[k]) / divisor
        if f_sub < BREATH_BAND[0] - step:
            continue
        near = np.flatnonzero(np.abs(freqs - f_sub) <= max(0.01, 2 * step))
        near = near[(near > 0) & (near < len(power) - 1)]
        peaks = [j for j in near if power[j] >= power[j - 1] and power[j] >= power[j + 1]]
        if peaks:
            j = max(peaks, key=lambda i: power[i])
            if power[j] >= SUBHARMONIC_SHARE * power[k]:
                k = int(j)
                break
    f = float(freqs[k])
    if 0 < k < len(power) - 1:
        y0, y1, y2 = power[k - 1], power[k], power[k + 1]
        denom = y0 - 2.0 * y1 + y2
        if denom < 0.0:
            f += float(min(max(0.5 * (y0 - y2) / denom, -0.5), 0.5)) * step
    return min(max(f, BREATH_BAND[0]), BREATH_BAND[1]) * 60.0


@dataclass
class RrAnalysis:
    """The engine's computations from one device's RR intervals. Render thread (or any one thread).

    Beat times are the running sum of the intervals (physiological time), so the results do not
    depend on when the messages arrive (a simulator running faster than real time gives the same
    values).

    Attributes:
        rejected: rejected intervals by cause ("rr outside 300-2000 ms", "rr changed > 20 %").
        accepted: intervals accepted.
        hr, rmssd, sdnn, coherence, breath_rate: latest values; NaN until enough data.
    """

    rejected: collections.Counter = field(default_factory=collections.Counter)
    accepted: int = 0
    hr: float = math.nan
    rmssd: float = math.nan
    sdnn: float = math.nan
    coherence: float = math.nan
    breath_rate: float = math.nan
    last_rr: float = math.nan

    def __post_init__(self) -> None:
        self._time = 0.0                      # beat time of the last interval, s
        self._first_time: float | None = None  # beat time of the first accepted interval
        self._times: collections.deque[float] = collections.deque(maxlen=HISTORY_BEATS)
        self._rr: collections.deque[float] = collections.deque(maxlen=HISTORY_BEATS)
        self._adjacent: collections.deque[bool] = collections.deque(maxlen=HISTORY_BEATS)
        self._reference: float | None = None   # last accepted interval
        self._last_raw: float | None = None
        self._rejects_in_row = 0
        self._previous_accepted = False
        self._spectrum_due = 0.0

    def add(self, rr_ms: float) -> bool:
        """Take one interval (ms); returns whether it was accepted."""
        rr = float(rr_ms)
        self._time += rr / 1000.0
        cause = None
        if not RR_MIN_MS <= rr <= RR_MAX_MS:
            cause = "rr outside 300-2000 ms"
        elif self._reference is not None and abs(rr - self._reference) > RR_MAX_CHANGE * self._reference:
            agrees = self._last_raw is not None and abs(rr - self._last_raw) <= RR_MAX_CHANGE * self._last_raw
            if self._rejects_in_row >= REANCHOR_AFTER - 1 and agrees:
                self._previous_accepted = False  # a new reference: no difference across the jump
            else:
                cause = "rr changed > 20 %"
        self._last_raw = rr
        if cause is not None:
            self.rejected[cause] += 1
            self._rejects_in_row += 1
            self._previous_accepted = False
            if self._times:
                self._update()  # the 60 s window moves on even when this interval is left out
            return False
        self._times.append(self._time)
        self._rr.append(rr)
        self._adjacent.append(self._previous_accepted)
        self._previous_accepted = True
        self._rejects_in_row = 0
        self._reference = rr
        self.accepted += 1
        self.last_rr = rr
        if self._first_time is None:
            self._first_time = self._time
        self._update()
        return True

    def _update(self) -> None:
        times = np.fromiter(self._times, dtype=np.float64, count=len(self._times))
        rr = np.fromiter(self._rr, dtype=np.float64, count=len(self._rr))
        adjacent = np.fromiter(self._adjacent, dtype=bool, count=len(self._adjacent))
        now = self._time
        self.hr = 60000.0 / float(np.mean(rr[-3:]))  # the last three accepted beats
        recent = times > now - TIME_WINDOW_S
        if recent.sum() >= TIME_MIN_INTERVALS:
            window = rr[recent]
            adj = adjacent[recent].copy()
            adj[0] = False  # its predecessor is outside the window
            self.rmssd = rmssd(window, adj)
            self.sdnn = sdnn(window)
        else:
            self.rmssd = self.sdnn = math.nan
        if now >= self._spectrum_due and now - self._first_time >= SPECTRUM_S:
            self._spectrum_due = now + SPECTRUM_EVERY_S
            inside = times > now - SPECTRUM_S
            if inside.sum() >= SPECTRUM_MIN_BEATS:
                # One beat before the window anchors the interpolation at its start.
                first = max(0, int(np.argmax(inside)) - 1)
                series = resample_rr(*drop_ectopic(times[first:], rr[first:]), now)
                freqs, power = rr_spectrum(series)
                self.coherence = coherence_ratio(freqs, power)
                self.breath_rate = breath_rate(freqs, power)
            else:
                self.coherence = self.breath_rate = math.nan

    def computed(self) -> dict[str, float]:
        """The computed signals (NaN where not available yet): hr, rr, rmssd, sdnn, coherence,
        breath.rate."""
        return {"hr": self.hr, "rr": self.last_rr, "rmssd": self.rmssd, "sdnn": self.sdnn,
                "coherence": self.coherence, "breath.rate": self.breath_rate}


# --------------------------------------------------------------------------------------------
# Devices and the bus


class BioError(ValueError):
    """A companion-app message the engine cannot use. `cause` groups messages for counting."""

    def __init__(self, cause: str, detail: str) -> None:
        super().__init__(f"{cause}: {detail}")
        self.cause = cause
        self.detail = detail


class _Device:
    """One device's state (render thread)."""

    def __init__(self, device_id: str, now: float) -> None:
        self.id = device_id
        self.analysis = RrAnalysis()
        self.app: dict[str, float] = {}
        self.last_message = now
        self.last_rr_message: float | None = None
        self.pulses = 0
        self.hr_phase = 0.0
        self.held: dict[str, float] = {}  # values at the moment the stream went quiet

    def live_values(self) -> tuple[dict[str, float], dict[str, float], dict[str, float]]:
        """(best, app, calc) values of the level signals, without staleness applied."""
        calc = self.analysis.computed()
        best: dict[str, float] = {}
        for name in NEUTRAL:
            c, a = calc.get(name, math.nan), self.app.get(name, math.nan)
            if name == "hr":
                best[name] = a if math.isfinite(a) else c
            else:
                best[name] = c if math.isfinite(c) else a
        return best, dict(self.app), calc


class BioHub:
    """Every companion device's state, published onto the signals bus each frame. Render thread.

    Args:
        stale_after: seconds without a message after which a device is stale.
        decay: seconds a stale device's values take to reach `NEUTRAL`.
        primary: device id that the plain ``bio.<signal>`` names follow; None: the first device
            heard that is not stale.
        max_devices: devices tracked at once (a flood of made-up ids cannot grow memory).
    """

    def __init__(self, *, stale_after: float = 3.0, decay: float = 5.0,
                 primary: str | None = None, max_devices: int = MAX_DEVICES) -> None:
        if not (math.isfinite(stale_after) and stale_after > 0):
            raise ValueError(f"bio stale_after must be a positive number of seconds, got {stale_after!r}")
        if not (math.isfinite(decay) and decay >= 0):
            raise ValueError(f"bio decay must be a number of seconds >= 0, got {decay!r}")
        self.stale_after = float(stale_after)
        self.decay = float(decay)
        self.configured_primary = primary or None
        self.max_devices = int(max_devices)
        self.devices: dict[str, _Device] = {}
        self.primary: str | None = None
        self.messages = 0
        self._last_now: float | None = None
        self._published: set[str] = set()

    # -- input ----------------------------------------------------------------------------------
    def handle(self, address: str, args: tuple, now: float) -> None:
        """Apply one message addressed under `BIO_PREFIX` at clock time `now`.

        Raises:
            BioError: unknown address, bad device id, wrong argument type, impossible value, or
                too many devices. The message is then ignored.
        """
        rest = address[len(BIO_PREFIX):] if address.startswith(BIO_PREFIX) else ""
        device_id, _, suffix = rest.partition("/")
        field_ = SCHEMA.get(suffix)
        if field_ is None:
            raise BioError("bio: unknown address", f"{address}; known: " + ", ".join(
                f"{BIO_PREFIX}<device_id>/{s}" for s in SCHEMA))
        if not DEVICE_ID_RE.match(device_id) or device_id in RESERVED_DEVICE_IDS:
            raise BioError("bio: bad device id", f"'{device_id}' in {address}: use 1-32 letters, "
                           "digits, '_' or '-' (not 'app' or 'calc')")
        if len(args) != 1 or isinstance(args[0], (bool, str, bytes)) or not isinstance(args[0], (int, float)):
            raise BioError("bio: wrong type", f"{address} takes one number ({field_.type_tag}), "
                           f"got {_describe_args(args)}")
        value = float(args[0])
        if not (math.isfinite(value) and field_.lo <= value <= field_.hi):
            raise BioError("bio: impossible value", f"{address} = {value!r}; possible: "
                           f"{field_.lo:g} to {field_.hi:g} {field_.unit}".rstrip())
        device = self.devices.get(device_id)
        if device is None:
            if len(self.devices) >= self.max_devices:
                raise BioError("bio: too many devices", f"'{device_id}' ignored: already tracking "
                               f"{self.max_devices} devices")
            device = self.devices[device_id] = _Device(device_id, now)
        device.last_message = now
        device.held.clear()
        self.messages += 1
        if field_.signal == "rr":
            device.analysis.add(value)
            device.pulses += 1
            device.last_rr_message = now
        else:
            device.app[field_.signal] = value

    # -- output ---------------------------------------------------------------------------------
    def publish(self, bus: SignalBus, now: float) -> None:
        """Write every bio signal for this frame (call once per frame, before the mappings)."""
        dt = 0.0 if self._last_now is None else max(0.0, now - self._last_now)
        self._last_now = now
        self._choose_primary(now)
        for device in self.devices.values():
            values, stale, pulse = self._device_frame(device, now, dt)
            suffix = "." + device.id
            _, app, calc = device.live_values()
            for name, value in values.items():
                bus.set(f"bio.{name}{suffix}", value)
                # What the app sent and what the engine computed, for every device.
                bus.set(f"bio.{name}.app{suffix}", self._faded(device, f"app.{name}", app.get(name, math.nan), name, now))
                bus.set(f"bio.{name}.calc{suffix}", self._faded(device, f"calc.{name}", calc.get(name, math.nan), name, now))
            bus.set(f"bio.stale{suffix}", 1.0 if stale else 0.0)
            if pulse:
                bus.trigger(f"bio.pulse{suffix}")
            else:
                bus.set(f"bio.pulse{suffix}", 0.0)
            if device.id == self.primary:
                self._publish_primary(bus, device, values, stale, pulse, now)
        if self.primary is None:
            for name, value in NEUTRAL.items():
                bus.set(f"bio.{name}", value)
                bus.set(f"bio.{name}.app", value)
                bus.set(f"bio.{name}.calc", value)
            bus.set("bio.stale", 1.0)
            bus.set("bio.pulse", 0.0)

    def declare(self, bus: SignalBus) -> None:
        """Put the primary names on the bus at their neutral values (before any device speaks)."""
        self.publish(bus, self._last_now if self._last_now is not None else 0.0)

    def _publish_primary(self, bus: SignalBus, device: _Device, values: dict[str, float],
                         stale: bool, pulse: bool, now: float) -> None:
        _, app, calc = device.live_values()
        for name, value in values.items():
            bus.set(f"bio.{name}", value)
            bus.set(f"bio.{name}.app", self._faded(device, f"app.{name}", app.get(name, math.nan), name, now))
            bus.set(f"bio.{name}.calc", self._faded(device, f"calc.{name}", calc.get(name, math.nan), name, now))
        bus.set("bio.stale", 1.0 if stale else 0.0)
        if pulse:
            bus.trigger("bio.pulse")
        else:
            bus.set("bio.pulse", 0.0)

    def _device_frame(self, device: _Device, now: float, dt: float) -> tuple[dict[str, float], bool, bool]:
        best, _, _ = device.live_values()
        values = {name: self._faded(device, name, value, name, now) for name, value in best.items()}
        stale = now - device.last_message >= self.stale_after
        pulse = device.pulses > 0
        device.pulses = 0
        hr = device.app.get("hr", math.nan)
        rr_quiet = device.last_rr_message is None or now - device.last_rr_message > PULSE_FROM_HR_AFTER_S
        if not stale and rr_quiet and math.isfinite(hr):
            # No intervals arrive (an app or watch that only sends heart rate): beat at its rate.
            device.hr_phase += dt * hr / 60.0
            if device.hr_phase >= 1.0:
                device.hr_phase %= 1.0
                pulse = True
        return values, stale, pulse

    def _faded(self, device: _Device, key: str, value: float, name: str, now: float) -> float:
        """`value` while the device is live; once it is stale, a straight line from the value it
        had then to the neutral value over `decay` seconds. NaN (not known) reads as neutral."""
        neutral = NEUTRAL[name]
        if not math.isfinite(value):
            value = neutral
        quiet = now - device.last_message - self.stale_after
        if quiet < 0.0:
            return value
        held = device.held.setdefault(key, value)
        if self.decay <= 0.0 or quiet >= self.decay:
            return neutral
        return held + (neutral - held) * (quiet / self.decay)

    def _choose_primary(self, now: float) -> None:
        wanted = self.configured_primary
        if wanted is not None:
            self.primary = wanted if wanted in self.devices else None
            return
        current = self.devices.get(self.primary) if self.primary else None
        if current is not None and now - current.last_message < self.stale_after:
            return
        live = [d for d in self.devices.values() if now - d.last_message < self.stale_after]
        if live:
            self.primary = live[0].id  # devices keep the order they were first heard in
        elif current is None and self.devices:
            self.primary = next(iter(self.devices))

    # -- introspection --------------------------------------------------------------------------
    def rejected(self) -> dict[str, int]:
        """Rejected RR intervals by cause, summed over devices."""
        total: collections.Counter = collections.Counter()
        for device in self.devices.values():
            total.update(device.analysis.rejected)
        return dict(total)

    def signal_names(self) -> list[str]:
        """Every name this hub publishes now (for `echoel signals` and OSCQuery)."""
        names = [f"bio.{s}" for s in SIGNALS]
        names += [f"bio.{s}.{kind}" for s in NEUTRAL for kind in RESERVED_DEVICE_IDS]
        names += [f"bio.{s}.{d}" for d in self.devices for s in SIGNALS]
        return names


def _describe_args(args: tuple) -> str:
    if not args:
        return "no argument"
    kinds = {bool: "boolean", str: "string", bytes: "blob", int: "int", float: "float"}
    return ", ".join(kinds.get(type(a), type(a).__name__) for a in args)
