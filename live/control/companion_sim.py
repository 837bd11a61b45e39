"""`echoel companion-sim`: send exactly what the companion app sends, to rehearse without a phone.

Sources of heartbeats:

- ``--rr FILE[:column]``: RR intervals in ms, one per line (``#`` comments and blank lines
  skipped), a ``.npy`` array, or a CSV with a header (column ``rr_ms`` or ``rr_s``, or the one
  named after the colon);
- ``--ecg FILE[:column]``: an ECG recording (CSV with a header and a time column ``t``/``t_s``/
  ``time``, optionally gzipped; or ``.npy``/plain numbers with ``--fs``); R peaks are detected
  with `live.control.rpeaks` and their intervals sent;
- ``--synthetic --hr 70 --breath 6``: a heart at 70 bpm whose rhythm follows a breath at
  6 per minute (respiratory sinus arrhythmia), with a little beat-to-beat noise.

What is sent (the schema of docs/companion.md) to ``--host``:``--port`` as ``--device-id``: at each
beat ``/rr i`` and ``/hr f``; once a second ``/rmssd``, ``/sdnn``, ``/coherence`` and
``/breath/rate`` (the app's own estimates, computed like the engine's, once enough beats have
passed); ten times a second ``/breath/phase`` (the true phase in synthetic mode, else integrated
from the estimated breath rate). ``--speed`` plays faster or slower than real time; the values sent
stay those of real time.

Threads: the command's main thread; `schedule` and the loaders are pure.
"""

from __future__ import annotations

import argparse
import gzip
import math
import socket
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from live.control.bio import BIO_PREFIX, DEVICE_ID_RE, RESERVED_DEVICE_IDS, RrAnalysis
from live.control.osc_out import encode

TIME_COLUMNS = ("t", "t_s", "time", "time_s", "seconds")
#: Messages sent at these periods (seconds of recording time).
STATS_EVERY_S = 1.0
PHASE_EVERY_S = 0.1


class CompanionSimError(ValueError):
    """Bad simulator input (file, column, option); the message names the file or option."""


# --------------------------------------------------------------------------------------------
# Inputs


def split_spec(spec: str) -> tuple[Path, str | None]:
    """"rec.csv:II_mV" -> (Path("rec.csv"), "II_mV"); a colon that is part of an existing path
    (or a Windows drive) is not a column separator."""
    path = Path(spec)
    if path.exists() or ":" not in spec:
        return path, None
    head, _, column = spec.rpartition(":")
    return Path(head), column or None


def _read_text(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CompanionSimError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if path.suffix == ".gz":
        try:
            raw = gzip.decompress(raw)
        except OSError as exc:
            raise CompanionSimError(f"{path}: not a gzip file: {exc}") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise CompanionSimError(f"{path}: not UTF-8 text (expected numbers or a CSV)") from None


def _table(path: Path) -> tuple[list[str] | None, np.ndarray]:
    """(header or None, 2-D float array) of a text file of numbers, optionally with a header."""
    lines = [ln.strip() for ln in _read_text(path).splitlines()]
    lines = [ln for ln in lines if ln and not ln.startswith("#")]
    if not lines:
        raise CompanionSimError(f"{path}: no numbers in the file")
    sep = "," if "," in lines[0] else None
    header = None
    first = lines[0].split(sep)
    try:
        [float(v) for v in first]
    except ValueError:
        header = [h.strip() for h in first]
        lines = lines[1:]
    rows = []
    for i, ln in enumerate(lines, start=2 if header else 1):
        cells = ln.split(sep)
        try:
            rows.append([float(c) if c.strip() else math.nan for c in cells])
        except ValueError:
            raise CompanionSimError(f"{path}:{i}: not a number in {ln[:60]!r}") from None
    width = len(header) if header else len(rows[0])
    if any(len(r) != width for r in rows):
        raise CompanionSimError(f"{path}: rows have different numbers of columns")
    return header, np.asarray(rows, dtype=np.float64).reshape(len(rows), width)


def _column(path: Path, header: list[str] | None, data: np.ndarray, column: str | None,
            preferred: tuple[str, ...], skip: tuple[str, ...]) -> tuple[str, np.ndarray]:
    names = header or [str(i) for i in range(data.shape[1])]
    if column is not None:
        if column in names:
            i = names.index(column)
        elif column.isdigit() and int(column) < data.shape[1]:
            i = int(column)
        else:
            raise CompanionSimError(f"{path}: no column {column!r}; columns: {', '.join(names)} "
                                    "(or a 0-based index)")
        return names[i], data[:, i]
    for name in preferred:
        if name in names:
            return name, data[:, names.index(name)]
    for i, name in enumerate(names):
        if name.lower() not in skip:
            return name, data[:, i]
    raise CompanionSimError(f"{path}: no data column besides time; columns: {', '.join(names)}")


def load_rr(spec: str) -> np.ndarray:
    """RR intervals in ms from ``FILE[:column]``. Raises CompanionSimError."""
    path, column = split_spec(spec)
    if path.suffix == ".npy":
        try:
            arr = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise CompanionSimError(f"{path}: cannot read the .npy array: {exc}") from None
        rr = np.asarray(arr, dtype=np.float64).reshape(-1) if column is None else \
            np.asarray(arr, dtype=np.float64)[:, int(column)]
        name = "rr"
    else:
        header, data = _table(path)
        name, rr = _column(path, header, data, column, ("rr_ms", "rr", "rr_s"), TIME_COLUMNS
                           + ("beat_time_s",))
    rr = rr[np.isfinite(rr)]
    if len(rr) < 2:
        raise CompanionSimError(f"{path}: fewer than 2 intervals")
    if name.endswith("_s") or float(np.median(rr)) < 10.0:
        if name.endswith("_s"):
            rr = rr * 1000.0
        else:
            raise CompanionSimError(f"{path}: the intervals look like seconds (median "
                                    f"{np.median(rr):g}); give milliseconds, or a CSV column named "
                                    "rr_s")
    if np.any(rr <= 0):
        raise CompanionSimError(f"{path}: intervals must be positive milliseconds")
    return rr


def load_ecg(spec: str, fs: float | None = None) -> tuple[np.ndarray, float]:
    """(signal, sampling rate) from ``FILE[:column]``. The rate comes from a time column, or
    `fs` (``--fs``) when the file has none. Raises CompanionSimError."""
    path, column = split_spec(spec)
    if path.suffix == ".npy":
        try:
            arr = np.asarray(np.load(path, allow_pickle=False), dtype=np.float64)
        except (OSError, ValueError) as exc:
            raise CompanionSimError(f"{path}: cannot read the .npy array: {exc}") from None
        sig = arr.reshape(-1) if arr.ndim == 1 else arr[:, int(column or 0)]
        if fs is None:
            raise CompanionSimError(f"{path}: a .npy ECG has no time column: give --fs (Hz)")
        return sig, float(fs)
    header, data = _table(path)
    names = header or []
    time_col = next((names.index(n) for n in names if n.lower() in TIME_COLUMNS), None)
    _, sig = _column(path, header, data, column, (), TIME_COLUMNS)
    if fs is None:
        if time_col is None:
            raise CompanionSimError(f"{path}: no time column ({', '.join(TIME_COLUMNS)}): give "
                                    "--fs (Hz)")
        steps = np.diff(data[:, time_col])
        step = float(np.median(steps)) if len(steps) else 0.0
        if not step > 0:
            raise CompanionSimError(f"{path}: the time column does not increase")
        fs = 1.0 / step
    return sig, float(fs)


def rr_from_ecg(spec: str, fs: float | None = None) -> np.ndarray:
    """RR intervals (ms) of the R peaks detected in an ECG file."""
    from live.control.rpeaks import EcgError, detect_rpeaks
    sig, rate = load_ecg(spec, fs)
    try:
        peaks = detect_rpeaks(sig, rate)
    except EcgError as exc:
        raise CompanionSimError(f"{spec}: {exc}") from None
    if len(peaks) < 3:
        raise CompanionSimError(f"{spec}: found {len(peaks)} heartbeats; is this an ECG lead?")
    return peaks.rr_ms()


def synthetic_rr(hr: float, breath: float, seconds: float, *, depth: float = 0.06,
                 noise_ms: float = 8.0, seed: int = 0) -> tuple[np.ndarray, Callable[[float], float]]:
    """RR intervals of a heart at `hr` bpm swinging with a breath at `breath` per minute.

    Returns (intervals in ms, phase(t) of the breath, 0 at the start of an inhalation). The
    interval is shortest in mid-inhalation (the heart speeds up breathing in), by `depth` of its
    mean, plus Gaussian noise.
    """
    if not (20 <= hr <= 250):
        raise CompanionSimError(f"--hr {hr:g}: expected 20 to 250 beats per minute")
    if not (1 <= breath <= 40):
        raise CompanionSimError(f"--breath {breath:g}: expected 1 to 40 breaths per minute")
    rng = np.random.default_rng(seed)
    base = 60000.0 / hr
    f = breath / 60.0
    t, out = 0.0, []
    while t < seconds:
        rr = base * (1.0 - depth * math.sin(2 * math.pi * f * t)) + rng.normal(0.0, noise_ms)
        rr = min(max(rr, 250.0), 3000.0)
        out.append(rr)
        t += rr / 1000.0
    return np.asarray(out), lambda tt: (f * tt) % 1.0


# --------------------------------------------------------------------------------------------
# What is sent, when


@dataclass(frozen=True)
class Send:
    """One message due at `at` seconds of recording time."""

    at: float
    address: str
    args: tuple


def schedule(rr_ms: np.ndarray, device_id: str,
             breath_phase: Callable[[float], float] | None = None) -> Iterator[Send]:
    """Every message the app would send for these intervals, in time order. Pure.

    Args:
        rr_ms: intervals; beat k happens at the sum of the first k+1 intervals.
        device_id: the app's device id.
        breath_phase: the true breath phase at time t, if known (synthetic); otherwise the phase
            is integrated from the estimated breath rate and sent once one is known.
    """
    if not DEVICE_ID_RE.match(device_id) or device_id in RESERVED_DEVICE_IDS:
        raise CompanionSimError(f"--device-id {device_id!r}: use 1-32 letters, digits, '_' or '-' "
                                "(not 'app' or 'calc')")
    base = f"{BIO_PREFIX}{device_id}"
    analysis = RrAnalysis()
    t = 0.0
    next_stats = STATS_EVERY_S
    next_phase = 0.0
    phase = 0.0
    recent: list[float] = []
    for rr in rr_ms:
        beat_at = t + float(rr) / 1000.0
        while next_phase < beat_at:  # breath phase at 10 Hz between beats
            if breath_phase is not None:
                yield Send(next_phase, f"{base}/breath/phase", (float(breath_phase(next_phase)),))
            elif math.isfinite(analysis.breath_rate):
                phase = (phase + analysis.breath_rate / 60.0 * PHASE_EVERY_S) % 1.0
                yield Send(next_phase, f"{base}/breath/phase", (phase,))
            next_phase += PHASE_EVERY_S
        t = beat_at
        analysis.add(float(rr))
        recent = (recent + [float(rr)])[-5:]
        yield Send(t, f"{base}/rr", (int(round(float(rr))),))
        yield Send(t, f"{base}/hr", (round(60000.0 / (sum(recent) / len(recent)), 1),))
        if t >= next_stats:
            next_stats = t + STATS_EVERY_S
            for name, value in (("rmssd", analysis.rmssd), ("sdnn", analysis.sdnn),
                                ("coherence", analysis.coherence),
                                ("breath/rate", analysis.breath_rate)):
                if math.isfinite(value):
                    yield Send(t, f"{base}/{name}", (float(value),))


def play(sends: Iterator[Send], send: Callable[[bytes], None], *, speed: float = 1.0,
         clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep,
         duration: float | None = None) -> int:
    """Send each message at its time divided by `speed`; returns how many were sent."""
    if not (math.isfinite(speed) and speed > 0):
        raise CompanionSimError(f"--speed {speed!r}: expected a positive number (1 = real time)")
    start = clock()
    count = 0
    for item in sends:
        if duration is not None and item.at > duration:
            break
        wait = start + item.at / speed - clock()
        if wait > 0:
            sleep(wait)
        send(encode(item.address, *item.args))
        count += 1
    return count


# --------------------------------------------------------------------------------------------
# Command line


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register `echoel companion-sim` on the CLI's sub-parsers (main thread)."""
    p = subparsers.add_parser(
        "companion-sim", help="send heart and breath data like the companion app (no phone needed)",
        description="Send the companion app's OSC messages (docs/companion.md) from RR intervals, "
        "an ECG recording or a synthetic heart, paced in real time (or --speed times faster).")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--rr", metavar="FILE[:COLUMN]",
                     help="RR intervals in ms: one per line, .npy, or a CSV column (rr_ms / rr_s)")
    src.add_argument("--ecg", metavar="FILE[:COLUMN]",
                     help="an ECG recording (CSV with a time column, or .npy / plain numbers with "
                          "--fs); heartbeats are detected in it")
    src.add_argument("--synthetic", action="store_true",
                     help="a synthetic heart (--hr) breathing at --breath per minute")
    p.add_argument("--hr", type=float, default=70.0, help="synthetic heart rate, bpm (default 70)")
    p.add_argument("--breath", type=float, default=6.0,
                   help="synthetic breaths per minute (default 6: slow, coherent breathing)")
    p.add_argument("--fs", type=float, help="ECG sampling rate in Hz when the file has no time column")
    p.add_argument("--speed", type=float, default=1.0, help="playback speed (default 1 = real time)")
    p.add_argument("--host", default="127.0.0.1", help="engine address (default 127.0.0.1)")
    p.add_argument("--port", type=int, help="engine OSC port (default: osc.port of the configuration, 9000)")
    p.add_argument("--device-id", default="sim", help="device id in the addresses (default 'sim')")
    p.add_argument("--duration", type=float, metavar="SECONDS",
                   help="stop after this many seconds of recording time (synthetic default 300)")
    p.add_argument("--loop", action="store_true", help="start the file again at its end")
    p.add_argument("--seed", type=int, default=0, help="synthetic noise seed")
    p.set_defaults(func=cmd_companion_sim)
    return p


def cmd_companion_sim(args: argparse.Namespace) -> int:
    """Run the simulator until the data (or --duration) ends, or Ctrl+C."""
    port = args.port
    if port is None:
        from live.config import load_config
        port = int(load_config(getattr(args, "config", None)).get("osc.port", 9000))
    if not 1 <= port <= 65535:
        raise CompanionSimError(f"--port {port}: expected 1 to 65535")
    phase = None
    if args.synthetic:
        seconds = args.duration if args.duration is not None else 300.0
        rr, phase = synthetic_rr(args.hr, args.breath, seconds, seed=args.seed)
        what = f"synthetic heart {args.hr:g} bpm, breath {args.breath:g}/min"
    elif args.rr:
        rr = load_rr(args.rr)
        what = f"{len(rr)} intervals from {args.rr}"
    else:
        rr = rr_from_ecg(args.ecg, args.fs)
        what = f"{len(rr)} intervals detected in {args.ecg}"
    try:
        infos = socket.getaddrinfo(args.host, port, type=socket.SOCK_DGRAM)
    except socket.gaierror as exc:
        raise CompanionSimError(f"--host {args.host!r}: {exc}") from None
    family, _, _, _, addr = infos[0]
    sock = socket.socket(family, socket.SOCK_DGRAM)
    total = 0
    print(f"companion-sim: {what}; sending to {args.host}:{port} as device "
          f"'{args.device_id}' at {args.speed:g}x (Ctrl+C stops)", flush=True)
    try:
        while True:
            total += play(schedule(rr, args.device_id, phase), lambda b: sock.sendto(b, addr),
                          speed=args.speed, duration=args.duration)
            if not args.loop:
                break
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
    print(f"companion-sim: sent {total} messages", file=sys.stderr)
    return 0
