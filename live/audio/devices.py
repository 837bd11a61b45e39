"""Audio devices by name: listing, lookup, PortAudio rescans, and `echoel devices`.

Devices are always chosen by *name* (optionally narrowed by host API), never by index: PortAudio
numbers devices in the order it finds them, and the numbers shift when a device comes or goes or
a JACK server starts. PortAudio scans only when it is initialised, so finding a device that
appeared later needs `rescan()` (terminate and initialise again).

The sounddevice module is imported lazily through `import_sounddevice`, which also tells libjack
never to start a JACK server by itself (an engine that silently spawns jackd on a machine without
one would hang or grab the sound card). Everything here runs on the thread that calls it (the
main or supervisor thread), never in an audio callback.
"""

from __future__ import annotations

import argparse
import json
import os
import threading
from dataclasses import asdict, dataclass
from typing import Any


class AudioDeviceError(ValueError):
    """A device cannot be used as asked (not found, ambiguous, settings refused, no PortAudio).

    The message names the device and lists what is available.
    """


@dataclass(frozen=True)
class DeviceInfo:
    """One PortAudio device as the user sees it (any thread; immutable).

    Attributes:
        name: the device name (what `--device` and config files use).
        host_api: the host API's name (ALSA, JACK Audio Connection Kit, OSS, ...).
        input_channels / output_channels: channel counts.
        default_rate: the device's default sample rate in Hz.
        default_input_latency_s / default_output_latency_s: PortAudio's low-latency defaults.
        index: PortAudio's current index: valid only until the next rescan.
    """

    name: str
    host_api: str
    input_channels: int
    output_channels: int
    default_rate: float
    default_input_latency_s: float
    default_output_latency_s: float
    index: int


def import_sounddevice() -> Any:
    """Import and return the sounddevice module; JACK servers are never auto-started.

    Raises:
        AudioDeviceError: PortAudio (Debian `libportaudio2`) or sounddevice is not installed.
    """
    # libjack would otherwise try to launch jackd when no server runs.
    os.environ.setdefault("JACK_NO_START_SERVER", "1")
    try:
        import sounddevice
    except ImportError as exc:
        raise AudioDeviceError(f"the sounddevice package is not installed ({exc})") from None
    except OSError as exc:  # sounddevice raises OSError when libportaudio is missing
        raise AudioDeviceError(
            f"PortAudio is not available ({exc}); install the Debian package libportaudio2") from None
    return sounddevice


def list_devices(backend: Any = None) -> list[DeviceInfo]:
    """Every device PortAudio knows now (inputs and outputs), in PortAudio's order.

    Args:
        backend: the sounddevice module or a stand-in with `query_devices` and `query_hostapis`
            (tests); imported with `import_sounddevice` when None.

    Raises:
        AudioDeviceError: PortAudio is not available.
    """
    sd = backend if backend is not None else import_sounddevice()
    hostapis = sd.query_hostapis()
    out = []
    for i, d in enumerate(sd.query_devices()):
        api = hostapis[d["hostapi"]]["name"] if 0 <= d["hostapi"] < len(hostapis) else "?"
        out.append(DeviceInfo(
            name=str(d["name"]), host_api=str(api),
            input_channels=int(d["max_input_channels"]), output_channels=int(d["max_output_channels"]),
            default_rate=float(d["default_samplerate"]),
            default_input_latency_s=float(d.get("default_low_input_latency", 0.0)),
            default_output_latency_s=float(d.get("default_low_output_latency", 0.0)),
            index=int(d.get("index", i)),
        ))
    return out


def find_device(name: str | None, kind: str = "input", host_api: str | None = None,
                backend: Any = None) -> DeviceInfo:
    """The device called `name` that has inputs (or outputs, `kind="output"`).

    Matching is case-insensitive: an exact name wins, otherwise a unique substring match. `None`
    means PortAudio's default device of that kind. `host_api` narrows the search by a substring of
    the host API name (e.g. "JACK", "ALSA").

    Raises:
        AudioDeviceError: nothing matches, several devices match, or PortAudio is not available;
            the message lists the devices that could be meant.
    """
    if kind not in ("input", "output"):
        raise ValueError(f"kind must be 'input' or 'output', got {kind!r}")
    sd = backend if backend is not None else import_sounddevice()
    devices = list_devices(sd)
    usable = [d for d in devices
              if (d.input_channels if kind == "input" else d.output_channels) > 0
              and (host_api is None or host_api.lower() in d.host_api.lower())]
    where = f" on host API '{host_api}'" if host_api else ""
    if not usable:
        raise AudioDeviceError(f"no audio {kind} devices{where} (PortAudio found {len(devices)} devices "
                               "in all; is the sound server running?)")
    if name is None:
        default = _default_index(sd, kind)
        for d in usable:
            if d.index == default:
                return d
        return usable[0]
    wanted = name.strip().lower()
    exact = [d for d in usable if d.name.lower() == wanted]
    if len(exact) == 1:
        return exact[0]
    matches = exact or [d for d in usable if wanted in d.name.lower()]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise AudioDeviceError(
            f"no audio {kind} device named '{name}'{where}; available: {_names(usable)}")
    raise AudioDeviceError(
        f"audio {kind} device name '{name}' is ambiguous{where}: it matches {_names(matches)}; "
        "give more of the name or --host-api")


#: Seconds a PortAudio rescan may take before it is given up as stuck.
RESCAN_TIMEOUT_S = 5.0
# Set once a rescan hung: PortAudio is then unusable in this process (see `rescan`).
_stuck_reason: str | None = None


def rescan(backend: Any = None, timeout_s: float = RESCAN_TIMEOUT_S) -> None:
    """Make PortAudio scan the devices again (terminate, then initialise).

    Every open stream of this process is invalid afterwards: close them all first. The work runs
    on a helper thread and is given up after `timeout_s`: PortAudio's JACK host API blocks forever
    in terminate when the JACK server died while a stream was open (measured with Debian's
    PortAudio 19.6), and the show must not hang with it. After that, PortAudio stays unusable in
    this process and every later rescan fails at once. Supervisor thread.

    Raises:
        AudioDeviceError: the rescan is stuck (now or since an earlier attempt), or PortAudio is
            not available.
    """
    global _stuck_reason
    if _stuck_reason is not None:
        raise AudioDeviceError(_stuck_reason)
    sd = backend if backend is not None else import_sounddevice()
    done = threading.Event()
    failure: list[BaseException] = []

    def work() -> None:
        try:
            sd._terminate()
            sd._initialize()
        except BaseException as exc:  # reported to the caller below
            failure.append(exc)
        finally:
            done.set()

    threading.Thread(target=work, name="echoel-portaudio-rescan", daemon=True).start()
    if not done.wait(timeout_s):
        _stuck_reason = (f"PortAudio did not finish rescanning devices within {timeout_s:g} s (a JACK "
                         "server that went away while a stream was open leaves it stuck); restart "
                         "echoel to reconnect the audio input")
        raise AudioDeviceError(_stuck_reason)
    if failure:
        raise AudioDeviceError(f"PortAudio rescan failed: {failure[0]}")


def format_devices(devices: list[DeviceInfo], outputs: bool = False) -> str:
    """A table of input devices (and output devices with `outputs`), or "no audio devices"."""
    rows = [d for d in devices if d.input_channels > 0 or (outputs and d.output_channels > 0)]
    if not rows:
        return "no audio devices\n"
    if outputs:
        header = ["NAME", "IN", "OUT", "RATE", "HOST API"]
    else:
        header = ["NAME", "CHANNELS", "RATE", "HOST API"]
    cells = []
    for d in rows:
        rate = f"{d.default_rate:g}"
        if outputs:
            cells.append([d.name, str(d.input_channels), str(d.output_channels), rate, d.host_api])
        else:
            cells.append([d.name, str(d.input_channels), rate, d.host_api])
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(header)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in [header, *cells]]
    return "\n".join(lines) + "\n"


def cmd_devices(args: argparse.Namespace) -> int:
    """`echoel devices`: print the audio inputs by name; exits 0 even with no sound card."""
    try:
        devices = list_devices()
    except AudioDeviceError as exc:
        devices = []
        note = str(exc)
    else:
        note = ""
    if getattr(args, "json", False):
        shown = [d for d in devices if d.input_channels > 0 or (args.outputs and d.output_channels > 0)]
        print(json.dumps({"devices": [asdict(d) for d in shown], "note": note}, indent=2))
        return 0
    print(format_devices(devices, outputs=getattr(args, "outputs", False)), end="")
    if note:
        print(f"({note})")
    return 0


def add_devices_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register `echoel devices` on the CLI's sub-command parsers."""
    p = subparsers.add_parser(
        "devices", help="list audio input devices by name (channels, default rate, host API)",
        description="List the audio inputs PortAudio can open, by name: use the name with --device. "
        "Prints 'no audio devices' (and exits 0) on a machine without any.")
    p.add_argument("--outputs", action="store_true", help="also list output devices (for monitoring)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=cmd_devices)


def _default_index(sd: Any, kind: str) -> int:
    try:
        pair = sd.default.device
        return int(pair[0] if kind == "input" else pair[1])
    except (AttributeError, TypeError, ValueError, IndexError):
        return -1


def _names(devices: list[DeviceInfo]) -> str:
    return ", ".join(f"'{d.name}' ({d.host_api})" for d in devices)


# ---------------------------------------------------------------------------------------------
# A private JACK server with the dummy driver: end-to-end capture tests, latency benchmarks and
# rehearsing without a sound card. Named servers (`jackd -n NAME`) keep it apart from any JACK
# server the machine already runs; clients find it through $JACK_DEFAULT_SERVER.
class JackUnavailableError(RuntimeError):
    """A JACK dummy server cannot run here (no jackd, or it did not come up); says why."""


class JackDummyServer:
    """`jackd -n NAME -d dummy -r RATE -p PERIOD`, started and stopped by this object.

    Use as a context manager. `env` is the environment for client processes (it names the
    server). Main thread of a test or benchmark; never part of the show.

    Raises:
        JackUnavailableError: jackd is missing or did not come up within `timeout_s`.
    """

    def __init__(self, name: str | None = None, rate: int = 48000, period: int = 256,
                 timeout_s: float = 10.0) -> None:
        self.name = name or f"echoel-{os.getpid()}"
        self.rate, self.period, self.timeout_s = int(rate), int(period), float(timeout_s)
        self.env = dict(os.environ, JACK_DEFAULT_SERVER=self.name, JACK_NO_START_SERVER="1")
        self._proc = None
        self.log = ""

    def start(self) -> JackDummyServer:
        """Start jackd and wait until its system ports exist."""
        import shutil
        import subprocess
        import tempfile
        import time

        for tool in ("jackd", "jack_lsp", "jack_connect"):
            if shutil.which(tool) is None:
                raise JackUnavailableError(f"{tool} is not installed (Debian package jackd2)")
        self._logfile = tempfile.TemporaryFile(mode="w+")
        self._proc = subprocess.Popen(
            ["jackd", "-n", self.name, "-d", "dummy", "-r", str(self.rate), "-p", str(self.period)],
            stdout=self._logfile, stderr=subprocess.STDOUT, env=self.env)
        deadline = time.monotonic() + self.timeout_s
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                break
            if "system:capture_1" in self.ports():
                return self
            time.sleep(0.1)
        self.stop()
        raise JackUnavailableError(f"jackd did not start a dummy server: {self.log.strip()[-500:]}")

    def stop(self) -> None:
        """Stop jackd (only the process this object started)."""
        import subprocess

        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        if getattr(self, "_logfile", None) is not None:
            self._logfile.seek(0)
            self.log = self._logfile.read()
            self._logfile.close()
            self._logfile = None

    def log_text(self) -> str:
        """What jackd has printed so far (e.g. "XRun" lines when a client missed its deadline)."""
        f = getattr(self, "_logfile", None)
        if f is None:
            return self.log
        f.flush()
        f.seek(0)
        text = f.read()
        f.seek(0, os.SEEK_END)
        return text

    def xrun_count(self) -> int:
        """Cycles in which jackd reported a client too late, so far."""
        return sum(1 for line in self.log_text().splitlines() if "XRun" in line)

    @property
    def running(self) -> bool:
        """Whether the jackd process is alive."""
        return self._proc is not None and self._proc.poll() is None

    def ports(self) -> list[str]:
        """Names of all ports on the server (empty when it is not reachable)."""
        return list(self.connections())

    def connections(self) -> dict[str, list[str]]:
        """Every port and the ports it is connected to (`jack_lsp -c`)."""
        import subprocess

        try:
            out = subprocess.run(["jack_lsp", "-c"], capture_output=True, text=True, timeout=5, check=False,
                                 env=self.env).stdout
        except (OSError, subprocess.TimeoutExpired):
            return {}
        result: dict[str, list[str]] = {}
        current = None
        for line in out.splitlines():
            if not line.strip():
                continue
            if line[0].isspace():
                if current is not None:
                    result[current].append(line.strip())
            elif ":" in line:
                current = line.strip()
                result[current] = []
        return result

    def connect(self, source: str, destination: str) -> None:
        """Connect an output port to an input port.

        Raises:
            JackUnavailableError: jack_connect failed (the message has its output).
        """
        self._run("jack_connect", source, destination)

    def disconnect(self, source: str, destination: str) -> None:
        """Disconnect two ports (errors ignored: they may not be connected)."""
        import subprocess

        subprocess.run(["jack_disconnect", source, destination], capture_output=True, timeout=5, check=False,
                       env=self.env)

    def _run(self, tool: str, *args: str) -> None:
        import subprocess

        r = subprocess.run([tool, *args], capture_output=True, text=True, timeout=5, env=self.env,
                           check=False)
        if r.returncode != 0:
            raise JackUnavailableError(f"{tool} {' '.join(args)} failed: {(r.stderr or r.stdout).strip()}")

    def __enter__(self) -> JackDummyServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
