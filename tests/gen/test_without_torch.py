"""The core installs and imports without the extra `gen`; gen commands say what to install."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Makes torch, diffusers and transformers unimportable, as on a machine without the extra.
BLOCKER = textwrap.dedent("""
    import importlib.abc, sys
    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("torch", "diffusers", "transformers"):
                raise ModuleNotFoundError(f"No module named {name!r}")
            return None
    sys.meta_path.insert(0, Block())
    import importlib.util
    _find = importlib.util.find_spec
    importlib.util.find_spec = lambda name, *a: None if name.split(".")[0] in ("torch", "diffusers", "transformers") else _find(name, *a)
""")


def run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", BLOCKER + textwrap.dedent(code)], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})


def test_live_gen_imports_and_the_cli_names_the_extra():
    result = run_python("""
        import argparse, sys
        import live.gen, live.gen.cli, live.gen.request, live.gen.layouts
        assert "torch" not in sys.modules
        parser = argparse.ArgumentParser(prog="echoel")
        live.gen.cli.add_parser(parser.add_subparsers(dest="command"))
        code = live.gen.cli.run(parser.parse_args(["gen", "neon", "--model", "m", "--out", "x.mp4"]))
        print("exit", code)
    """)
    assert result.returncode == 0, result.stderr
    assert "exit 2" in result.stdout
    assert "needs torch, diffusers, transformers" in result.stderr
    assert "pip install 'echoel-live[gen]'" in result.stderr


def test_torch_modules_raise_missing_extra_error():
    result = run_python("""
        from live.gen.errors import MissingExtraError
        try:
            import live.gen.teacache
        except MissingExtraError as exc:
            print("raised:", exc)
    """)
    assert "raised: TeaCache needs torch, diffusers, transformers (the optional extra 'gen'); install it with: " \
           "pip install 'echoel-live[gen]'" in result.stdout, result.stderr
