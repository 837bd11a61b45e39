"""Helpers for tests and benchmarks that run real processes: Python children speaking a line
protocol, and private network namespaces for anything that multicasts or announces itself
(Ableton Link, mDNS), so nothing leaves the machine.

Main thread of a test or benchmark; nothing here is used by the engine itself.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


#: A JACK MIDI receiver for a child process (`spawn_python(JACK_MIDI_RECEIVER, client_name)`):
#: it opens a virtual input port "in" on a JACK client named by its argument, prints READY,
#: then answers each "DUMP" line with "DUMP [[jack_time_s, status], ...]" for the messages that
#: arrived since the last DUMP, and stops at "QUIT". Arrival times are JACK's (the sum of
#: rtmidi's delta times, taken in JACK's process cycle), so the child's own scheduling does not
#: blur them.
JACK_MIDI_RECEIVER = r"""
import json, sys, threading, time
import rtmidi
inp = rtmidi.MidiIn(rtmidi.API_UNIX_JACK, name=sys.argv[1])
inp.ignore_types(sysex=True, timing=False, active_sense=True)
inp.open_virtual_port("in")
events, lock, stop = [], threading.Lock(), threading.Event()

def poll():
    t = 0.0
    while not stop.is_set():
        msg = inp.get_message()
        if msg is None:
            time.sleep(0.0005)
            continue
        data, delta = msg
        t += delta
        with lock:
            events.append([t, data[0]])

threading.Thread(target=poll, daemon=True).start()
print("READY", flush=True)
for line in sys.stdin:
    if line.strip() == "DUMP":
        with lock:
            print("DUMP " + json.dumps(events), flush=True)
            events.clear()
    elif line.strip() == "QUIT":
        break
stop.set()
time.sleep(0.01)
inp.close_port()
inp.delete()
"""


def private_netns_command(script: str) -> list[str]:
    """argv running `script` (sh) in a new network namespace with only loopback, multicast on it.

    Extra argv items appended by the caller become "$0", "$1"... of the script.
    """
    return ["unshare", "-n", "sh", "-c",
            "ip link set lo up && ip link set lo multicast on && "
            "ip route add 224.0.0.0/4 dev lo && " + script]


def private_netns_unavailable() -> str | None:
    """Why a private network namespace cannot be made here (None when it can): a skip reason."""
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return "unshare or ip (util-linux, iproute2) not installed"
    probe = subprocess.run(private_netns_command("true"), capture_output=True, text=True, timeout=20,
                           check=False)
    if probe.returncode != 0:
        return f"cannot create a private network namespace: {probe.stderr.strip()[-200:]}"
    return None


def spawn_python(code: str, *args: str, env: dict | None = None,
                 stdin: int | None = subprocess.DEVNULL) -> subprocess.Popen:
    """Run `python -c code args...` with this checkout importable; text pipes for stdout/stderr."""
    env = dict(os.environ if env is None else env)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.Popen([sys.executable, "-c", code, *args], cwd=ROOT, env=env, text=True,
                            stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def wait_line(proc: subprocess.Popen, prefix: str, timeout: float = 20.0) -> str:
    """Read the child's stdout until a line starts with `prefix`; kill it and raise
    AssertionError with the end of its stderr if that never happens."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line.startswith(prefix):
            return line.strip()
        if not line and proc.poll() is not None:
            break
    proc.kill()
    raise AssertionError(f"child never said {prefix!r}; stderr:\n{proc.stderr.read()[-3000:]}")


class SteppingTimer:
    """A frame-time source for tests: each call moves on `step` seconds (1 ms by default), so
    frame-time statistics are deterministic. Stands in for time.perf_counter."""

    def __init__(self, step: float = 0.001) -> None:
        self.t = 0.0
        self.step = step

    def __call__(self) -> float:
        self.t += self.step
        return self.t
