"""`echoel gen` end to end on a tiny model: the clip, its meta.json, errors, calibration."""

from __future__ import annotations

import argparse
import json

import pytest

pytest.importorskip("torch", reason="torch not installed (extra 'gen')")

from live.gen import cli  # noqa: E402


def run_cli(*argv) -> int:
    parser = argparse.ArgumentParser(prog="echoel")
    cli.add_parser(parser.add_subparsers(dest="command"))
    return cli.run(parser.parse_args(["gen", *argv]))


def test_gen_writes_the_clip_and_its_meta(tiny_model_dir, tmp_path, capsys):
    model = tiny_model_dir("wan2.1-t2v")
    out = tmp_path / "clips" / "neon.mp4"
    code = run_cli("neon city", "--model", str(model), "--size", "32x32", "--frames", "9", "--steps", "3",
                   "--style", "cyberpunk", "--style", "watercolor", "--morph", "0.25", "--device", "cpu",
                   "--seed", "11", "--out", str(out))
    assert code == 0, capsys.readouterr().err
    import av

    with av.open(str(out)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
        rate = container.streams.video[0].average_rate
    assert len(frames) == 9 and frames[0].shape == (32, 32, 3) and rate == 16
    meta = json.loads((tmp_path / "clips" / "neon.meta.json").read_text())
    assert meta["prompt"] == "neon city" and meta["seed"] == 11 and meta["steps"] == 3
    assert (meta["width"], meta["height"], meta["frames"], meta["fps"]) == (32, 32, 9, 16)
    assert meta["model"]["hash"].startswith("sha256:") and meta["model"]["layout"] == "wan2.1-t2v"
    assert meta["styles"] == [{"style": "cyberpunk", "weight": 0.75}, {"style": "watercolor", "weight": 0.25}]
    assert meta["cache"] == {"teacache": None}
    assert set(meta["timings"]) >= {"load", "encode", "denoise", "decode", "total"}
    assert "wrote" in capsys.readouterr().out
    from live.gen.ranking import scan_library

    library = scan_library(tmp_path / "clips")
    assert [(c.path, c.label) for c in library] == [(str(out), "neon city, cyberpunk, watercolor")]


def test_calibrate_then_generate_with_teacache(tiny_model_dir, tmp_path, capsys):
    model = tiny_model_dir("wan2.1-t2v")
    store = tmp_path / "cal.json"
    assert run_cli("calibrate-teacache", "--model", str(model), "--size", "32x32", "--frames", "9", "--steps", "12",
                   "--calibration-prompt", "neon city", "--calibration-prompt", "calm lake", "--device", "cpu",
                   "--calibration-out", str(store)) == 0
    assert "stored TeaCache calibration" in capsys.readouterr().out
    out = tmp_path / "cached.mp4"
    assert run_cli("neon city", "--model", str(model), "--size", "32x32", "--frames", "9", "--steps", "12",
                   "--teacache", "0.3", "--teacache-calibration", str(store), "--device", "cpu", "--out", str(out)) == 0
    cache = json.loads(out.with_name("cached.meta.json").read_text())["cache"]["teacache"]
    assert cache["threshold"] == 0.3 and "cal.json" in cache["coefficients"]
    assert cache["computed_calls"] < cache["transformer_calls"] == 24


@pytest.mark.parametrize("args, message", [
    (("--size", "30x32"), "width 30 must be a multiple of 16"),
    (("--frames", "8"), "frames 8 must be of the form 4k+1"),
    (("--image", "missing.png"), "--image missing.png: no such file"),
    (("--teacache", "0.1"), "no TeaCache coefficients for this wan2.2-ti2v-5b model"),
])
def test_errors_are_one_line_without_traceback(tiny_model_dir, tmp_path, capsys, args, message):
    model = tiny_model_dir("wan2.2-ti2v-5b") if "--teacache" in args else tiny_model_dir("wan2.1-t2v")
    size = ("--size", "32x32") if "--size" not in args else ()
    code = run_cli("neon", "--model", str(model), *size, "--frames", "9", "--steps", "2", "--device", "cpu",
                   *args, "--out", str(tmp_path / "x.mp4"))
    err = capsys.readouterr().err
    assert code == 2 and message in err and "Traceback" not in err


def test_out_is_required_and_must_be_mp4(tiny_model_dir, capsys):
    assert run_cli("neon", "--model", str(tiny_model_dir("wan2.1-t2v"))) == 2
    assert "--out PATH is required" in capsys.readouterr().err
