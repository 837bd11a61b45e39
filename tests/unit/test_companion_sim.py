"""`echoel companion-sim`: file loading with clear errors, the message schedule, pacing, and an
end-to-end run into the real OSC input over loopback."""

from __future__ import annotations

import argparse
import math
import time
from types import SimpleNamespace

import numpy as np
import pytest

from live.clock import BeatClock, ManualClock
from live.control import companion_sim as sim
from live.control.osc import OscInput, OscSettings
from live.modulation.signals import SignalBus


def test_rr_files_text_csv_and_npy(tmp_path):
    (tmp_path / "a.txt").write_text("# intervals\n800\n\n810\n790\n")
    assert list(sim.load_rr(str(tmp_path / "a.txt"))) == [800, 810, 790]
    (tmp_path / "b.csv").write_text("beat_time_s,rr_s,symbol\n1.0,0.8,1\n1.81,0.81,1\n")
    assert sim.load_rr(str(tmp_path / "b.csv")) == pytest.approx([800, 810])
    (tmp_path / "c.csv").write_text("t,ibi\n0,700\n1,720\n")
    assert list(sim.load_rr(f"{tmp_path / 'c.csv'}:ibi")) == [700, 720]
    np.save(tmp_path / "d.npy", np.array([900, 905, 910]))
    assert list(sim.load_rr(str(tmp_path / "d.npy"))) == [900, 905, 910]


@pytest.mark.parametrize("content, message", [
    ("0.8\n0.81\n", "look like seconds"),
    ("800\nabc\n", r"a\.txt:2: not a number"),
    ("800\n", "fewer than 2 intervals"),
    ("", "no numbers"),
])
def test_bad_rr_files_name_the_file_and_the_problem(tmp_path, content, message):
    (tmp_path / "a.txt").write_text(content)
    with pytest.raises(sim.CompanionSimError, match=message):
        sim.load_rr(str(tmp_path / "a.txt"))


def test_ecg_csv_rate_from_time_column_and_column_choice(tmp_path):
    t = np.arange(0, 1, 1 / 250)
    rows = "\n".join(f"{a:.4f},{b:.3f},{c:.3f}" for a, b, c in zip(t, np.sin(t), np.cos(t)))
    (tmp_path / "e.csv").write_text("t_s,II_mV,V_mV\n" + rows + "\n")
    sig, fs = sim.load_ecg(f"{tmp_path / 'e.csv'}:V_mV")
    assert fs == pytest.approx(250.0) and sig[0] == pytest.approx(1.0)
    sig, _ = sim.load_ecg(str(tmp_path / "e.csv"))       # first column besides time
    assert sig[0] == pytest.approx(0.0)
    with pytest.raises(sim.CompanionSimError, match="no column 'aVR'; columns: t_s, II_mV, V_mV"):
        sim.load_ecg(f"{tmp_path / 'e.csv'}:aVR")
    np.save(tmp_path / "e.npy", np.zeros(100))
    with pytest.raises(sim.CompanionSimError, match="give --fs"):
        sim.load_ecg(str(tmp_path / "e.npy"))


def test_schedule_sends_rr_and_hr_per_beat_stats_each_second_and_phase_at_10_hz():
    rr, phase = sim.synthetic_rr(60.0, 6.0, 90.0, noise_ms=0.0)
    sends = list(sim.schedule(rr, "w1", phase))
    by_kind: dict[str, list] = {}
    for s in sends:
        by_kind.setdefault(s.address.rsplit("w1/", 1)[1], []).append(s)
    assert len(by_kind["rr"]) == len(rr) == len(by_kind["hr"])
    assert [s.args[0] for s in by_kind["rr"][:3]] == [int(round(v)) for v in rr[:3]]
    assert all(isinstance(s.args[0], int) for s in by_kind["rr"])
    assert by_kind["rr"][0].at == pytest.approx(rr[0] / 1000)
    assert len(by_kind["breath/phase"]) == pytest.approx(900, abs=12)  # 10 per second
    assert by_kind["coherence"][0].at >= 64.0                          # needs 64 s of beats
    assert by_kind["coherence"][-1].args[0] > 0.5
    assert by_kind["breath/rate"][-1].args[0] == pytest.approx(6.0, abs=0.5)
    assert all(a.at <= b.at for a, b in zip(sends, sends[1:]))
    with pytest.raises(sim.CompanionSimError, match="--device-id"):
        list(sim.schedule(rr, "calc"))


def test_play_paces_by_time_divided_by_speed():
    now = [0.0]
    waits: list[float] = []

    def sleep(dt: float) -> None:
        waits.append(dt)
        now[0] += dt

    sent: list[bytes] = []
    items = [sim.Send(t, "/x", (1.0,)) for t in (0.0, 1.0, 2.0, 4.0)]
    n = sim.play(iter(items), sent.append, speed=2.0, clock=lambda: now[0], sleep=sleep, duration=3.0)
    assert n == 3 and len(sent) == 3 and waits == [0.5, 0.5]


def test_companion_sim_command_reaches_the_engine_signals():
    osc = OscInput(OscSettings(host="127.0.0.1", port=0))
    osc.start()
    eng = SimpleNamespace(clock=ManualClock(), signals=SignalBus(), scene=None, beat=BeatClock(),
                          dimmer=1.0, blackout=False, freeze=False)
    parser = argparse.ArgumentParser()
    sim.add_parser(parser.add_subparsers())
    args = parser.parse_args(["companion-sim", "--synthetic", "--hr", "75", "--breath", "6",
                              "--speed", "200", "--duration", "80", "--port", str(osc.port),
                              "--device-id", "rehearsal"])
    try:
        assert args.func(args) == 0
        end = time.monotonic() + 5
        while osc.stats()["waiting"] == 0 and time.monotonic() < end:
            time.sleep(0.01)
        time.sleep(0.2)
        osc.drain(eng, now=0.0)
        assert eng.signals.get("bio.hr.rehearsal") == pytest.approx(75.0, abs=6.0)
        assert eng.signals.get("bio.coherence") > 0.5
        assert math.isclose(eng.signals.get("bio.stale"), 0.0)
        assert osc.stats()["problems"] == {}
    finally:
        osc.close()


def test_bad_options_are_user_errors():
    with pytest.raises(sim.CompanionSimError, match="--hr 5"):
        sim.synthetic_rr(5.0, 6.0, 10.0)
    with pytest.raises(sim.CompanionSimError, match="--speed"):
        sim.play(iter([]), lambda b: None, speed=0.0)
