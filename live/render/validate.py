"""Out-of-process shader validation: compile and test-render a shader before the show trusts it.

A shader edited during a show may not compile, may trip a GL error, or may loop forever (an
infinite loop in a fragment shader can hang the driver, and with it the render thread). So a
changed shader is first tried in a *child process* with its own headless GL context: loaded with
the ISF loader, compiled, rendered for a few frames at a tiny size (image inputs bound to a test
texture), checked for GL errors. The child is killed when it takes longer than a timeout.

The child is a persistent worker (``python -m live.render.validate --worker``) that validates
shaders one after another; starting Python with moderngl and numpy costs about 0.5-1 s, a
validation of a typical shader at 64x36 a few tens of milliseconds. After a timeout or a crash
the worker is killed and the next validation starts a fresh one. A subprocess (rather than a
forked multiprocessing child) is used because a forked child would inherit the parent's GL
context; the protocol is one JSON object per line on stdin/stdout.

Threads: :class:`ShaderValidator` may be used from any thread (calls are serialised); it is meant
for a background thread (the hot reloader's), never the render thread, since ``validate`` blocks
for up to the timeout. The worker side (``_Tester``) runs only inside the child process.

Command line: ``python -m live.render.validate FILE...`` (or ``echoel validate``) validates shader
and scene files and prints one line per file.
"""

from __future__ import annotations

import argparse
import collections
import concurrent.futures
import json
import math
import os
import queue
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from live.render.isf import shader_dependencies  # noqa: F401 - re-exported for callers

#: Default seconds a shader may take to compile and render its test frames.
DEFAULT_TIMEOUT = 5.0
#: Default test render size: tiny, so a validation costs little even on a software rasteriser.
DEFAULT_SIZE = (64, 36)
#: Default number of test frames (several, so feedback and persistent buffers run a cycle).
DEFAULT_FRAMES = 3
#: Seconds a new worker may take to import its modules and create its GL context.
DEFAULT_START_TIMEOUT = 60.0
#: Largest test render side accepted (a validation is a smoke test, not a render).
MAX_TEST_SIDE = 1024
#: Lines of the worker's stderr kept for crash reports.
STDERR_TAIL = 20

#: Outcomes of a validation, see ValidationResult.outcome.
OUTCOMES = ("ok", "error", "timeout", "crashed", "unavailable")

_REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class ValidationResult:
    """What validating one shader (or one scene file) found. Immutable; any thread.

    Attributes:
        ok: True when the shader loaded, compiled and rendered its test frames cleanly.
        file: The file the problem is in (an include, say), as shown to users; the validated
            file when there is no problem.
        line: 1-based line of the problem in ``file``, or None.
        message: What is wrong ("" when ok).
        seconds: Wall time the validation took, seen from the caller (process start excluded).
        outcome: One of OUTCOMES: "ok"; "error" (load, compile or render failed); "timeout"
            (killed after the timeout: probably an infinite loop); "crashed" (the worker died:
            the driver may crash on this shader); "unavailable" (no GL in the child: the shader
            was not tested at all, which callers may choose to tolerate).
        path: The file that was validated (absolute).
        files: Every file the shader depends on (itself, includes, the engine's common files,
            a companion .vs, IMPORTED images), absolute; what a watcher should watch. Empty when
            the shader could not even be loaded.
        warnings: Non-fatal remarks (header key typos, NaN pixels in the test frames...).
    """

    ok: bool
    file: str
    line: int | None
    message: str
    seconds: float
    outcome: str = "ok"
    path: Path | None = None
    files: tuple[Path, ...] = ()
    warnings: tuple[str, ...] = field(default=())

    def __str__(self) -> str:
        if self.ok:
            return f"{self.file}: ok ({self.seconds:.2f} s)"
        return f"{self.file}:{self.line}: {self.message}" if self.line else f"{self.file}: {self.message}"


class ValidatorError(RuntimeError):
    """The validator itself cannot work (worker will not start, closed validator)."""


# --------------------------------------------------------------------------------------------
# Dependencies of a shader (pure Python, any thread)
# --------------------------------------------------------------------------------------------




# --------------------------------------------------------------------------------------------
# The worker (child process side)
# --------------------------------------------------------------------------------------------


class _Tester:
    """Compiles and test-renders shaders in the child's own GL context. Child process only."""

    def __init__(self) -> None:
        import moderngl
        import numpy as np

        from live.render.context import GLUnavailableError, create_headless_context, renderer_name

        try:
            self.ctx = create_headless_context()
        except GLUnavailableError as egl_error:
            # Platforms without EGL (macOS) still have their own standalone context.
            try:
                self.ctx = moderngl.create_standalone_context(require=330)
            except Exception:  # noqa: BLE001 - any failure means the same: no GL here
                raise egl_error from None
        self.renderer = renderer_name(self.ctx)
        ctx = self.ctx
        # A test picture for image inputs: an opaque colour ramp, so effects see real content.
        y, x = np.mgrid[0:16, 0:16].astype(np.float32) / 15.0
        ramp = np.stack([x, y, 1.0 - x, np.ones_like(x)], axis=-1)
        self.test_image = ctx.texture((16, 16), 4, (ramp * 255).astype(np.uint8).tobytes())
        wave = (0.5 + 0.4 * np.sin(np.linspace(0, 8 * math.pi, 512))).astype(np.float32)
        fft = np.linspace(1.0, 0.0, 512, dtype=np.float32)
        self.wave = ctx.texture((512, 1), 1, wave.tobytes(), dtype="f4")
        self.fft = ctx.texture((512, 1), 1, fft.tobytes(), dtype="f4")
        for tex in (self.test_image, self.wave, self.fft):
            tex.filter = (moderngl.LINEAR, moderngl.LINEAR)
        self._by_size: dict[tuple[int, int], tuple[Any, Any]] = {}
        _ = ctx.error  # start from a clean error flag

    def validate(self, request: dict) -> dict:
        from live.render.context import GLError, check_gl_error
        from live.render.isf import ShaderParamError, load_isf
        from live.render.shader_source import ShaderSourceError, display_path

        path = Path(request["path"])
        roots = [Path(r) for r in request["roots"]] if request.get("roots") is not None else None
        shown = display_path(path)
        files: list[str] = []
        warnings: list[str] = []
        try:
            shader = load_isf(path, roots)
            files = [str(p) for p in shader_dependencies(shader)]
            warnings.extend(shader.warnings)
            warnings.extend(self._render(shader, tuple(request["size"]), int(request["frames"])))
            check_gl_error(self.ctx, f"test-rendering {shown}")
        except ShaderSourceError as exc:
            return _answer(False, exc.file, exc.line, exc.message, files, warnings)
        except (ShaderParamError, GLError) as exc:
            return _answer(False, shown, None, str(exc), files, warnings)
        except Exception as exc:  # noqa: BLE001 - anything else is still a reason to refuse it
            return _answer(False, shown, None, f"{type(exc).__name__}: {exc}", files, warnings)
        finally:
            _ = self.ctx.error  # never carry an error flag into the next validation
        return _answer(True, shown, None, "", files, warnings)

    def _render(self, shader: Any, size: tuple[int, int], frames: int) -> list[str]:
        import moderngl
        import numpy as np

        from live.render.program import EngineUniforms
        from live.render.vsa import renderer_for

        ctx = self.ctx
        fbo, prev = self._targets(size)
        renderer = None
        try:
            fbo.clear(0.0, 0.0, 0.0, 0.0)
            renderer = renderer_for(ctx, shader)  # IsfRenderer, or VsaRenderer
            images = {inp.name: self.test_image for inp in shader.inputs if inp.type == "image"}
            uniforms = EngineUniforms(audio_fft=self.fft, audio_wave=self.wave, prev_frame=prev,
                                      bass=0.5, mid=0.4, treb=0.3, rms=0.4)
            for i in range(frames):
                uniforms.time = i / 30.0
                uniforms.timedelta = 0.0 if i == 0 else 1 / 30.0
                uniforms.frame_index = i
                uniforms.beat = uniforms.bar = i / 15.0
                uniforms.beat_phase = uniforms.bar_phase = (i / 15.0) % 1.0
                renderer.render(fbo, size, {}, images, uniforms)
                # finish() makes the driver run the frame now: a shader that never ends hangs
                # here, inside the time limit, rather than at some later call.
                ctx.finish()
            pixels = np.frombuffer(fbo.read(components=4, dtype="f4"), np.float32)
            if not np.all(np.isfinite(pixels)):
                return [f"{shader.display_name}: the test frames contain NaN or infinite "
                        "values (division by zero? sqrt or log of a negative number?)"]
            return []
        finally:
            ctx.enable_only(moderngl.NOTHING)
            if renderer is not None:
                renderer.release()

    def _targets(self, size: tuple[int, int]) -> tuple[Any, Any]:
        """The render target and PREV_FRAME texture for ``size``, made once and kept (cleared
        before each use), so a validation allocates and deletes no framebuffers."""
        if size not in self._by_size:
            target = self.ctx.texture(size, 4, dtype="f2")  # the engine's layer buffers are RGBA16F
            fbo = self.ctx.framebuffer(color_attachments=[target])
            # PREV_FRAME starts black, as in the engine (new texture memory is undefined in GL).
            prev = self.ctx.texture(size, 4, bytes(size[0] * size[1] * 4 * 2), dtype="f2")
            self._by_size[size] = (fbo, prev)
        return self._by_size[size]


def _answer(ok: bool, file: str, line: int | None, message: str, files: list[str],
            warnings: list[str]) -> dict:
    return {"ok": ok, "file": file, "line": line, "message": message, "files": files,
            "warnings": warnings}


def serve_worker(make_handler: Callable[[], Any], handle: Callable[[Any, dict], dict]) -> int:
    """The child side of a JSON-lines worker: one request per stdin line, one answer per line.

    `make_handler()` builds the GL-owning object (its `renderer` string goes in the hello line;
    an exception there is reported as ``{"ready": false}``); `handle(obj, request)` answers one
    request. Shared by the shader validator and the importer's checker. Child process only.
    """
    # Keep the protocol channel clean: a library that prints to fd 1 writes to stderr instead.
    channel = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr

    def send(obj: dict) -> None:
        channel.write(json.dumps(obj) + "\n")
        channel.flush()

    try:
        handler = make_handler()
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which decides
        send({"ready": False, "error": f"{type(exc).__name__}: {exc}"})
        return 0
    send({"ready": True, "renderer": handler.renderer, "pid": os.getpid()})
    for line in sys.stdin:  # EOF (the parent died or closed us) ends the worker
        try:
            request = json.loads(line)
        except json.JSONDecodeError:
            continue
        if request.get("op") == "quit":
            break
        answer = handle(handler, request)
        answer["id"] = request.get("id")
        send(answer)
    return 0


def _worker_main() -> int:
    """Serve validation requests on stdin, one JSON object per line. Child process only."""
    return serve_worker(_Tester, _Tester.validate)


# --------------------------------------------------------------------------------------------
# The parent side
# --------------------------------------------------------------------------------------------


class _Timeout(Exception):
    pass


class _Died(Exception):
    pass


class _Worker:
    """One running worker process (`python -m <module> --worker`, serving `serve_worker`) and the
    threads draining its pipes. Parent side."""

    def __init__(self, python: str, start_timeout: float, module: str = "live.render.validate") -> None:
        env = dict(os.environ)
        # Make the `live` package importable in the child even when it is not installed.
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_REPO_ROOT), env.get("PYTHONPATH")]))
        env.setdefault("PYTHONUNBUFFERED", "1")
        self.proc = subprocess.Popen(
            [python, "-m", module, "--worker"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True, encoding="utf-8",
            bufsize=1)
        self.answers: queue.Queue[dict | None] = queue.Queue()
        self.stderr_tail: collections.deque[str] = collections.deque(maxlen=STDERR_TAIL)
        threading.Thread(target=self._read_answers, name="validator-stdout", daemon=True).start()
        threading.Thread(target=self._read_stderr, name="validator-stderr", daemon=True).start()
        try:
            hello = self._next(start_timeout)
        except (_Timeout, _Died):
            self.kill()  # never leave a half-started worker behind
            raise
        self.ready = bool(hello.get("ready"))
        self.renderer = str(hello.get("renderer", ""))
        self.error = str(hello.get("error", ""))
        self._ids = 0

    def _read_answers(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                self.answers.put(json.loads(line))
            except json.JSONDecodeError:
                self.stderr_tail.append(line.rstrip())
        self.answers.put(None)  # EOF: the process is gone

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.stderr_tail.append(line.rstrip())

    def _next(self, timeout: float) -> dict:
        try:
            answer = self.answers.get(timeout=timeout)
        except queue.Empty:
            raise _Timeout() from None
        if answer is None:
            raise _Died()
        return answer

    def request(self, payload: dict, timeout: float) -> dict:
        self._ids += 1
        payload = dict(payload, id=self._ids)
        try:
            assert self.proc.stdin is not None
            self.proc.stdin.write(json.dumps(payload) + "\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            raise _Died() from None
        deadline = time.monotonic() + timeout
        while True:
            answer = self._next(max(0.0, deadline - time.monotonic()))
            if answer.get("id") == self._ids:  # skip a stale answer, should one ever arrive
                return answer

    def exit_code(self) -> int | None:
        try:
            return self.proc.wait(timeout=1.0)
        except subprocess.TimeoutExpired:
            return None

    def kill(self, wait: bool = True) -> None:
        """Kill the worker. With ``wait=False`` the caller does not wait for it to be gone: a
        process killed in the middle of GPU work can take seconds to be torn down by the driver
        (about 4 s on NVIDIA), so a daemon thread reaps it instead."""
        if self.proc.poll() is None:
            self.proc.kill()
        if not wait:
            threading.Thread(target=self._reap, name="validator-reaper", daemon=True).start()
            return
        self._reap()

    def _reap(self) -> None:
        try:
            self.proc.wait(timeout=30.0)
        except subprocess.TimeoutExpired:  # pragma: no cover - a process stuck in the kernel
            pass
        for pipe in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            try:
                if pipe is not None:
                    pipe.close()
            except OSError:
                pass

    def close(self) -> None:
        """Ask the worker to quit; kill it if it does not within a second."""
        try:
            assert self.proc.stdin is not None
            self.proc.stdin.write(json.dumps({"op": "quit"}) + "\n")
            self.proc.stdin.flush()
            self.proc.wait(timeout=1.0)
        except (OSError, ValueError, subprocess.TimeoutExpired):
            pass
        self.kill()


class ShaderValidator:
    """Validates shaders one after another in a persistent child process.

    Any thread: calls are serialised by a lock, and each blocks until the worker answers or the
    timeout kills it (then the next call starts a new worker). Use it from a background thread,
    never the render thread. Close it (or use it as a context manager) to end the worker; the
    worker also ends by itself when this process exits, since its stdin closes.

    Args:
        roots: Shader search roots for ``#include`` (default: the standard roots).
        timeout: Seconds one shader may take to load, compile and render its test frames.
        size: Test render size (width, height).
        frames: Number of test frames.
        start_timeout: Seconds a new worker may take to start (not counted in ``timeout``).
        python: The interpreter that runs the worker.
    """

    def __init__(self, roots: Sequence[Path] | None = None, *, timeout: float = DEFAULT_TIMEOUT,
                 size: tuple[int, int] = DEFAULT_SIZE, frames: int = DEFAULT_FRAMES,
                 start_timeout: float = DEFAULT_START_TIMEOUT, python: str | None = None) -> None:
        if not (isinstance(timeout, (int, float)) and math.isfinite(timeout) and timeout > 0):
            raise ValueError(f"ShaderValidator: timeout must be a number of seconds > 0, got {timeout!r}")
        w, h = (int(size[0]), int(size[1]))
        if not (1 <= w <= MAX_TEST_SIDE and 1 <= h <= MAX_TEST_SIDE):
            raise ValueError(f"ShaderValidator: size must be 1..{MAX_TEST_SIDE} pixels per side, "
                             f"got {size!r}")
        if not 1 <= int(frames) <= 100:
            raise ValueError(f"ShaderValidator: frames must be 1..100, got {frames!r}")
        self.roots = [Path(r) for r in roots] if roots is not None else None
        self.timeout = float(timeout)
        self.size = (w, h)
        self.frames = int(frames)
        self.start_timeout = float(start_timeout)
        self.python = python or sys.executable
        self._lock = threading.Lock()
        self._worker: _Worker | None = None
        self._unavailable: str | None = None
        self._closed = False
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        #: How many worker processes were started (a timeout or crash costs one restart).
        self.starts = 0
        #: The GL renderer string of the worker's context ("" before the first start).
        self.renderer = ""

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> bool:
        """Start the worker now (otherwise the first validation does). Any thread.

        Returns True when a worker with a GL context is running, False when GL is unavailable
        in the child (validations then answer outcome "unavailable").
        """
        with self._lock:
            return self._ensure_worker() is not None

    @property
    def available(self) -> bool | None:
        """False when the child has no GL; None before the first start; else True."""
        if self._unavailable is not None:
            return False
        return None if self.starts == 0 else True

    @property
    def worker_pid(self) -> int | None:
        """Process id of the running worker, or None."""
        worker = self._worker
        return worker.proc.pid if worker is not None and worker.proc.poll() is None else None

    def close(self) -> None:
        """End the worker and refuse further validations. Any thread; idempotent."""
        with self._lock:
            self._closed = True
            if self._worker is not None:
                self._worker.close()
                self._worker = None
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)

    def __enter__(self) -> "ShaderValidator":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _ensure_worker(self) -> _Worker | None:
        if self._closed:
            raise ValidatorError("this ShaderValidator is closed")
        if self._unavailable is not None:
            return None
        worker = self._worker
        if worker is not None and worker.proc.poll() is None:
            return worker
        if worker is not None:
            worker.kill()
            self._worker = None
        try:
            worker = _Worker(self.python, self.start_timeout)
        except _Timeout:
            raise ValidatorError(f"the shader validator process did not start within "
                                 f"{self.start_timeout:g} s") from None
        except _Died:
            raise ValidatorError("the shader validator process exited while starting") from None
        except OSError as exc:
            raise ValidatorError(f"cannot start the shader validator process: {exc}") from None
        self.starts += 1
        if not worker.ready:
            worker.close()
            self._unavailable = worker.error or "no OpenGL context in the validator process"
            return None
        self.renderer = worker.renderer
        self._worker = worker
        return worker

    # -- validation -----------------------------------------------------------------------------
    def validate(self, path: Path | str) -> ValidationResult:
        """Load, compile and test-render the shader file ``path`` in the worker.

        Any thread except the render thread (blocks up to ``timeout`` seconds, plus the worker's
        start the first time). Never raises for a bad shader: the result says what is wrong.

        Raises:
            ValidatorError: the worker process cannot be started at all, or this validator is
                closed.
        """
        from live.render.shader_source import display_path

        p = Path(path).expanduser().resolve()
        shown = display_path(p)
        with self._lock:
            worker = self._ensure_worker()
            if worker is None:
                return ValidationResult(False, shown, None, f"not validated: {self._unavailable}", 0.0,
                                        "unavailable", p)
            payload = {"path": str(p), "roots": [str(r) for r in self.roots] if self.roots is not None
                       else None, "size": list(self.size), "frames": self.frames}
            start = time.monotonic()
            try:
                answer = worker.request(payload, self.timeout)
            except _Timeout:
                seconds = time.monotonic() - start
                worker.kill(wait=False)
                self._worker = None
                return ValidationResult(False, shown, None, f"timed out after {self.timeout:g} s "
                                        "(infinite loop?)", seconds, "timeout", p)
            except _Died:
                code = worker.exit_code()
                tail = " | ".join(list(worker.stderr_tail)[-3:])
                worker.kill()
                self._worker = None
                return ValidationResult(
                    False, shown, None, f"the validator process crashed (exit code {code}) while "
                    f"testing this shader; the GL driver may crash on it too"
                    + (f": {tail}" if tail else ""), time.monotonic() - start, "crashed", p)
            seconds = time.monotonic() - start
        return ValidationResult(
            ok=bool(answer["ok"]), file=str(answer["file"]), line=answer.get("line"),
            message=str(answer.get("message", "")), seconds=seconds,
            outcome="ok" if answer["ok"] else "error", path=p,
            files=tuple(Path(f) for f in answer.get("files", ())),
            warnings=tuple(answer.get("warnings", ())))

    def submit(self, path: Path | str) -> "concurrent.futures.Future[ValidationResult]":
        """Validate ``path`` on the validator's own thread; returns a Future. Any thread."""
        if self._executor is None:
            self._executor = concurrent.futures.ThreadPoolExecutor(
                max_workers=1, thread_name_prefix="shader-validator")
        return self._executor.submit(self.validate, path)


def validate_shader(path: Path | str, roots: Sequence[Path] | None = None,
                    timeout: float = DEFAULT_TIMEOUT, size: tuple[int, int] = DEFAULT_SIZE,
                    frames: int = DEFAULT_FRAMES) -> ValidationResult:
    """Validate one shader file in a fresh child process (see ShaderValidator for many).

    Any thread except the render thread; blocks for the process start plus up to ``timeout``.
    """
    with ShaderValidator(roots, timeout=timeout, size=size, frames=frames) as validator:
        return validator.validate(path)


def scene_shader_paths(spec: Any, roots: Sequence[Path] | None = None) -> list[tuple[str, Path]]:
    """(scene key, shader file) of every shader a scene uses, each file once, in scene order.

    The key is where the scene names the shader (``layers[0].source``, ``layers[1].fx[0].shader``).
    Any thread (file system look-ups only). Raises SceneError at that key, with its line, when a
    name matches no file.
    """
    from live.render.shader_source import ShaderSourceError, resolve_shader_path
    from live.scene import SHADER_SOURCE_KINDS, param_error

    found: dict[Path, str] = {}
    for i, layer in enumerate(spec.layers):
        names = []
        if layer.kind in SHADER_SOURCE_KINDS and layer.source:
            names.append((f"layers[{i}].source", layer.source))
        names.extend((f"layers[{i}].fx[{j}].shader", fx.shader) for j, fx in enumerate(layer.fx))
        for key, name in names:
            try:
                path = resolve_shader_path(name, roots)
            except ShaderSourceError as exc:
                raise param_error(spec, key, exc.message) from None
            found.setdefault(path.resolve(), key)
    return [(key, path) for path, key in found.items()]


def validate_scene_file(path: Path | str, roots: Sequence[Path] | None = None, *,
                        timeout: float = DEFAULT_TIMEOUT, size: tuple[int, int] = DEFAULT_SIZE,
                        frames: int = DEFAULT_FRAMES,
                        validator: ShaderValidator | None = None) -> list[ValidationResult]:
    """Parse a scene file and validate every shader it uses.

    Returns the scene's own result first (parsing, shader names found), then one result per
    distinct shader file; only the scene's result when the scene itself fails. Pass a running
    ``validator`` to reuse its worker (its roots, timeout, size and frames then apply).
    Any thread except the render thread.
    """
    from live.scene import SceneError, load_scene

    start = time.monotonic()
    shown = str(path)
    try:
        spec = load_scene(path)
        shaders = scene_shader_paths(spec, roots if validator is None else validator.roots)
    except SceneError as exc:
        message = f"{exc.label}: {exc.message}" if exc.label else exc.message
        return [ValidationResult(False, exc.file, exc.line, message, time.monotonic() - start,
                                 "error", Path(path).resolve())]
    own = validator or ShaderValidator(roots, timeout=timeout, size=size, frames=frames)
    try:
        results = [own.validate(p) for _, p in shaders]
    finally:
        if validator is None:
            own.close()
    files = (Path(path).resolve(), *(f for r in results for f in r.files))
    scene_result = ValidationResult(True, shown, None, "", time.monotonic() - start, "ok",
                                    Path(path).resolve(), tuple(dict.fromkeys(files)))
    return [scene_result, *results]


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``validate`` on the ``echoel`` sub-command parsers; returns the new parser."""
    p = subparsers.add_parser(
        "validate", help="compile and test-render shaders and scenes in a child process",
        description="Validate shader files (.fs, .frag, .glsl) and scene files (.toml): each is "
        "loaded, compiled and rendered for a few frames in a separate process with its own GL "
        "context, and killed after --timeout. Prints one line per file: OK or FAIL file:line: "
        "message. Exit status 2 when any file fails.")
    _add_arguments(p)
    p.set_defaults(func=cmd_validate)
    return p


def _add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("files", nargs="+", metavar="FILE", help="shader or scene files")
    p.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT,
                   help=f"seconds one shader may take (default {DEFAULT_TIMEOUT:g})")
    p.add_argument("--frames", type=int, default=DEFAULT_FRAMES,
                   help=f"test frames per shader (default {DEFAULT_FRAMES})")


def cmd_validate(args: argparse.Namespace) -> int:
    """Run ``echoel validate``: one line per file; 2 when any fails, 1 when the validator cannot
    run at all, else 0."""
    failed = 0
    try:
        with ShaderValidator(timeout=args.timeout, frames=args.frames) as validator:
            for name in args.files:
                if str(name).endswith(".toml"):
                    results = validate_scene_file(name, validator=validator)
                else:
                    results = [validator.validate(name)]
                for result in results:
                    failed += _print_result(result)
    except ValidatorError as exc:
        print(f"echoel: validate: {exc}", file=sys.stderr)
        return 1
    return 2 if failed else 0


def _print_result(result: ValidationResult) -> int:
    if result.ok:
        print(f"OK   {result.file} ({result.seconds:.2f} s)")
        for warning in result.warnings:
            print(f"WARN {warning}")
        return 0
    if result.outcome == "unavailable":
        print(f"WARN {result.file}: {result.message}")
        return 0
    where = f"{result.file}:{result.line}" if result.line else result.file
    first, *rest = result.message.split("\n")
    print(f"FAIL {where}: {first}")
    for line in rest:
        print(f"     {line.strip()}")
    return 1


def main(argv: Iterable[str] | None = None) -> int:
    """``python -m live.render.validate``: the worker (``--worker``) or the command line."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv == ["--worker"]:
        return _worker_main()
    parser = argparse.ArgumentParser(prog="python -m live.render.validate",
                                     description="Validate shader and scene files.")
    _add_arguments(parser)
    return cmd_validate(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
