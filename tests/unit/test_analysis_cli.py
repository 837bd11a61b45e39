"""`echoel beats` and `echoel analyze` as a user runs them (in-process, through `live.cli.main`)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from live.audio.analysis import analyse_file
from live.audio.synthetic import kick_hat_loop
from live.cli import main

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT.parent / "shared" / "corpus" / "beats"


@pytest.fixture(scope="module")
def loop_file(tmp_path_factory) -> Path:
    """Eight seconds of a 120 bpm kick/hat loop as 44.1 kHz stereo FLAC (resampled on load)."""
    import soxr

    mono = kick_hat_loop(120.0, 8.0)
    x = soxr.resample(mono, 48000, 44100)
    path = tmp_path_factory.mktemp("audio") / "loop.flac"
    sf.write(path, np.stack([x, 0.5 * x], axis=1), 44100)
    return path


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_beats_prints_one_time_per_line_on_the_120_bpm_grid(capsys, loop_file):
    code, out, _ = run(capsys, "beats", str(loop_file))
    assert code == 0
    lines = out.splitlines()
    times = np.array([float(line) for line in lines])
    assert all(len(line.split(".")[1]) == 3 for line in lines)  # %.3f
    assert len(times) >= 12 and np.all(np.diff(times) > 0)
    late = times[times > 3.0]
    assert np.abs(late - np.round(late * 2) / 2).max() < 0.02  # on the beats 0.5 s apart


def test_beats_prints_what_the_live_analysis_fires(capsys, loop_file):
    _, out, _ = run(capsys, "beats", str(loop_file))
    assert out.splitlines() == [f"{b.time:.3f}" for b in analyse_file(loop_file).beats]


def test_downbeats_format_is_time_tab_flag(capsys, loop_file):
    code, out, _ = run(capsys, "beats", "--downbeats", str(loop_file))
    assert code == 0
    rows = [line.split("\t") for line in out.splitlines()]
    assert rows and all(len(r) == 2 and r[1] in ("0", "1") for r in rows)
    _, plain, _ = run(capsys, "beats", str(loop_file))
    assert [r[0] for r in rows] == plain.splitlines()


def test_beats_json(capsys, loop_file):
    code, out, _ = run(capsys, "beats", "--json", str(loop_file))
    assert code == 0
    doc = json.loads(out)
    assert set(doc) == {"file", "sr", "latency_s", "beats"}
    assert doc["file"] == str(loop_file) and doc["sr"] == 48000
    assert 0.0 < doc["latency_s"] <= 2 * 512 / 48000 + 1e-12  # at most two hops
    assert doc["beats"] and set(doc["beats"][0]) == {"t", "pos", "bpm", "conf"}
    assert all(0 <= b["pos"] <= 4 and 0.0 <= b["conf"] <= 1.0 for b in doc["beats"])
    assert doc["beats"][-1]["bpm"] == pytest.approx(120.0, rel=0.01)


def test_analyze_summarises_tempo_beats_onsets_and_levels(capsys, loop_file):
    code, out, _ = run(capsys, "analyze", str(loop_file))
    assert code == 0
    assert "tempo:" in out and "bpm" in out and "beats:" in out and "onsets:" in out
    for word in ("kick", "snare", "hats", "rms", "bass", "mid", "treb"):
        assert word in out
    code, out, _ = run(capsys, "analyze", "--json", str(loop_file))
    doc = json.loads(out)
    assert doc["tempo_bpm"] == pytest.approx(120.0, rel=0.01)
    assert doc["duration_s"] == pytest.approx(8.0, abs=0.01)
    assert doc["beats"] >= 12 and doc["onsets"]["kick"] >= 12 and doc["onsets"]["hats"] >= 12
    assert doc["tempo_curve"] and all(p["bpm"] > 0 for p in doc["tempo_curve"])
    assert set(doc["levels"]) == {"rms", "bass", "mid", "treb"}


def test_silent_file_has_no_beats_and_says_so(capsys, tmp_path):
    path = tmp_path / "silence.wav"
    sf.write(path, np.zeros(48000 * 3, np.float32), 48000)
    code, out, err = run(capsys, "beats", str(path))
    assert code == 0 and out == "" and "no beats" in err
    code, out, _ = run(capsys, "analyze", str(path))
    assert code == 0 and "none found" in out


@pytest.mark.parametrize("content, reason", [(None, "no such file"), (b"", "empty"),
                                             (b"not audio at all" * 10, "unreadable")])
def test_bad_files_are_user_errors_naming_the_file(capsys, tmp_path, content, reason):
    path = tmp_path / "bad.wav"
    if content is not None:
        path.write_bytes(content)
    for command in ("beats", "analyze"):
        code, out, err = run(capsys, command, str(path))
        assert code == 2 and out == ""
        assert str(path) in err and reason in err and "Traceback" not in err


@pytest.mark.skipif(not (CORPUS / "manifest.csv").is_file(),
                    reason=f"annotated corpus not present at {CORPUS}")
def test_beats_equals_beat_evals_estimate_on_a_corpus_file(capsys):
    from benchmarks.beat_eval import estimate_file, read_manifest

    row = next(r for r in read_manifest(CORPUS) if r["id"] == "mdb_Rock")
    _, out, _ = run(capsys, "beats", str(row["audio"]))
    expected = [f"{t:.3f}" for t in estimate_file(row["audio"])]
    assert expected and out.splitlines() == expected
