"""`echoel import` and benchmarks/isf_compat.py as a user runs them: real child processes with
their own GL context, real files, one line per shader."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from live.render.context import GLUnavailableError, create_headless_context

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "tests" / "fixtures" / "isf_spec"
TOYS = ROOT / "tests" / "fixtures" / "shadertoy"
BROKEN = ROOT / "tests" / "fixtures" / "shaders" / "broken_body.fs"


@pytest.fixture(scope="module", autouse=True)
def needs_gl():
    try:
        create_headless_context().release()
    except GLUnavailableError as exc:
        pytest.skip(f"no OpenGL for the child processes: {exc}")


def run(*args: str, env: dict | None = None, timeout: float = 240) -> subprocess.CompletedProcess:
    full_env = dict(os.environ, PYTHONPATH=str(ROOT), **(env or {}))
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, env=full_env, check=False)


def test_import_validates_copies_and_reports_one_line_per_shader(tmp_path):
    library = tmp_path / "library"
    given = tmp_path / "given"
    given.mkdir()
    shutil.copy(SPEC / "values.fs", given / "My Values.fs")
    result = run("-m", "live.cli", "import", "--library", str(library), "--timeout", "5",
                 str(given / "My Values.fs"), str(SPEC / "crossfade.fs"), str(BROKEN),
                 str(SPEC / "runaway.fs"), str(TOYS / "buffers"), str(TOYS / "export.json"))
    lines = result.stdout.strip().splitlines()
    rows = {line.split("\t")[0]: line.split("\t") for line in lines[:-1]}
    assert result.returncode == 2, result.stderr
    assert rows["my_values"][1:3] == ["generator", "imported"]
    assert rows["crossfade"][1:3] == ["transition", "imported"]
    assert rows["broken_body"][2] == "rejected" and "broken_body.fs:8" in rows["broken_body"][3]
    assert rows["runaway"][2] == "rejected" and "timeout" in rows["runaway"][3]
    assert rows["buffers"][1:3] == ["shadertoy", "imported"]
    assert rows["export"][1:3] == ["shadertoy", "imported"]
    assert lines[-1] == "imported 4 of 6 (2 rejected, 0 skipped)"
    assert (library / "my_values.fs").read_bytes() == (SPEC / "values.fs").read_bytes()
    assert sorted(p.name for p in (library / "buffers").iterdir()) == [
        "buffer_a.glsl", "buffer_b.glsl", "channels.toml", "common.glsl", "image.glsl"]
    assert not (library / "runaway.fs").exists() and not (library / "broken_body.fs").exists()

    # Scenes name imported shaders by the printed name.
    scene = tmp_path / "show.toml"
    scene.write_text('schema = 1\n[scene]\nname = "show"\n[[layers]]\nid = "a"\nkind = "shader"\n'
                     'source = "my_values"\n[[layers]]\nid = "b"\nkind = "shadertoy"\n'
                     'source = "buffers"\nopacity = 0.5\n')
    out = tmp_path / "hashes.txt"
    render = run("-m", "live.cli", "render", str(scene), "--hashes", str(out), "--duration", "0.2",
                 "--size", "64x36", "--no-progress", env={"ECHOEL_SHADER_PATH": str(library)})
    assert render.returncode == 0, render.stderr
    assert len(out.read_text().splitlines()) == 6


def test_import_json_and_name_clashes(tmp_path):
    library = tmp_path / "library"
    first = run("-m", "live.cli", "import", "--library", str(library), "--json", str(SPEC / "still.fs"))
    doc = json.loads(first.stdout)
    assert first.returncode == 0 and doc["summary"] == {"total": 1, "imported": 1, "rejected": 0,
                                                         "skipped": 0}
    assert doc["results"][0]["destination"] == str(library / "still.fs")
    other = tmp_path / "other"
    other.mkdir()
    shutil.copy(SPEC / "values.fs", other / "still.fs")  # a different shader, same name
    clash = run("-m", "live.cli", "import", "--library", str(library), str(other / "still.fs"))
    assert clash.returncode == 2 and "\tskipped\ta different shader named 'still'" in clash.stdout
    forced = run("-m", "live.cli", "import", "--library", str(library), "--force",
                 str(other / "still.fs"))
    assert forced.returncode == 0
    assert (library / "still.fs").read_bytes() == (SPEC / "values.fs").read_bytes()
    missing = run("-m", "live.cli", "import", "--library", str(library), str(tmp_path / "nope.fs"))
    assert missing.returncode == 2 and "nope.fs: no such file or folder" in missing.stderr


def test_compat_benchmark_classifies_and_totals(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in ("values.fs", "still.fs", "legacy.fs", "crossfade.fs"):
        shutil.copy(SPEC / name, corpus / name)
    shutil.copy(BROKEN, corpus / "broken.fs")
    result = run("benchmarks/isf_compat.py", str(corpus), "--no-write", "--timeout", "20")
    assert result.returncode == 0, result.stderr
    rows = {line.split("\t")[0]: line.split("\t")[2] for line in result.stdout.splitlines()[:-1]}
    assert rows == {"values.fs": "nonconstant", "still.fs": "constant", "legacy.fs": "nonconstant",
                    "crossfade.fs": "nonconstant", "broken.fs": "compile_error"}
    assert result.stdout.splitlines()[-1] == "TOTAL 5 nonconstant 3 (60.0%)"
    toys = run("benchmarks/isf_compat.py", str(TOYS), "--shadertoy", "--json", "--no-write")
    doc = json.loads(toys.stdout)
    assert doc["total"] == 5 and doc["counts"] == {"nonconstant": 5}


def test_import_copies_a_cube_maps_faces_with_the_shader(tmp_path):
    library = tmp_path / "library"
    result = run("-m", "live.cli", "import", "--library", str(library), "--json", "--timeout", "20",
                 str(SPEC / "cube" / "sky.fs"))
    doc = json.loads(result.stdout)
    assert result.returncode == 0 and doc["summary"]["imported"] == 1, result.stdout
    for face in ("px", "nx", "py", "ny", "pz", "nz"):
        assert (library / f"{face}.png").read_bytes() == (SPEC / "cube" / f"{face}.png").read_bytes()
