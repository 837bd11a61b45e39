"""Hot reload: a saved shader or scene file shows up in the running show, or says what is wrong.

Three pieces, on three threads:

- :class:`FileWatcher` polls the modification time, size and inode of a set of files (and the
  files directly inside watched folders) and reports a change once the file has stopped changing
  for a short settle time, so an editor's save (several writes, or write-to-temp then rename, or
  a moment without the file) is reported once, complete. Polling needs no extra dependency and
  costs a few ``stat`` calls per interval.
- :class:`HotReloader` runs a background thread that polls the watcher; on a change it parses a
  changed scene file and validates the shaders it needs in the child process of
  live.render.validate (compile plus a few test frames, killed after a timeout). Only when every
  shader of the scene passes does it queue a :class:`ReloadRequest`.
- The render thread calls :meth:`HotReloader.update` (or ``poll`` then ``apply``) at the top of a
  frame; it never blocks. ``apply`` builds the scene with ``engine.prepare_scene`` and switches to
  it with ``engine.activate(active, fade=0)``.

A file that fails keeps the previous version on screen; the failure is reported as the part
"reload" in ``engine.parts`` (state failed, reason ``file:line: message``), a log error, and an
entry in :attr:`HotReloader.last_errors` for the HUD. Saving a fixed file clears it.

The render thread only ever compiles shader text that was validated: a request carries the
stamps of the files it validated, and is dropped when a file changed again since (the newer
version is then on its way through validation).
"""

from __future__ import annotations

import collections
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, NamedTuple

from live.render.isf import load_isf
from live.render.shader_source import ShaderSourceError, resolve_shader_path
from live.render.validate import (
    DEFAULT_TIMEOUT,
    ShaderValidator,
    ValidationResult,
    ValidatorError,
    scene_shader_paths,
    shader_dependencies,
)
from live.scene import SHADER_SOURCE_KINDS, SceneError, load_scene

log = logging.getLogger(__name__)

#: Seconds between two polls of the watched files.
DEFAULT_INTERVAL = 0.2
#: Seconds a changed file must keep the same stamp before it is reported (editors write in bursts).
DEFAULT_SETTLE = 0.15
#: Seconds a watched file may be missing before that is reported (editors that save by
#: renaming the old file away leave a short gap).
DEFAULT_MISSING_GRACE = 1.0
#: Errors kept for the HUD.
DEFAULT_MAX_ERRORS = 16
#: Name of the part in the engine's PartRegistry.
PART = "reload"

#: A file's identity for change detection: (mtime in ns, size, inode); None when missing.
Stamp = tuple[int, int, int]


def file_stamp(path: Path | str) -> Stamp | None:
    """The stamp of ``path``, or None when it does not exist or cannot be read. Any thread."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def _norm(path: Path | str) -> Path:
    return Path(path).expanduser().resolve()


# --------------------------------------------------------------------------------------------
# Watching files
# --------------------------------------------------------------------------------------------


class FileWatcher:
    """Reports files whose content changed, by polling their stamps.

    Watch files and folders (a folder's direct children, files only; a child that appears counts
    as a change). A change is reported once its new stamp has held for ``settle`` seconds; a file
    that disappears is reported after ``missing_grace`` seconds if it has not come back. A path
    that does not exist yet may be watched: its appearance is a change.

    Thread safety: ``poll`` is called by one thread at a time (the watcher's own thread after
    ``start``, or the caller's); ``set_paths``/``add`` may be called from any thread.

    Args:
        paths: Files and folders to watch.
        interval: Seconds between polls of the thread started by ``start``.
        settle: Seconds a new stamp must hold before it is reported; 0 reports at once.
        missing_grace: Seconds a file may be missing before that is reported.
        time_source: Monotonic seconds (injected so tests can drive it).
    """

    def __init__(self, paths: Iterable[Path | str] = (), *, interval: float = DEFAULT_INTERVAL,
                 settle: float = DEFAULT_SETTLE, missing_grace: float = DEFAULT_MISSING_GRACE,
                 time_source: Callable[[], float] = time.monotonic) -> None:
        if interval <= 0 or settle < 0 or missing_grace < 0:
            raise ValueError("FileWatcher: interval must be > 0, settle and missing_grace >= 0 "
                             f"(got {interval!r}, {settle!r}, {missing_grace!r})")
        self.interval = float(interval)
        self.settle = float(settle)
        self.missing_grace = float(missing_grace)
        self._time = time_source
        self._lock = threading.Lock()
        self._files: set[Path] = set()
        self._dirs: set[Path] = set()
        self._reported: dict[Path, Stamp | None] = {}  # last stamp reported (or the baseline)
        self._pending: dict[Path, tuple[Stamp | None, float]] = {}  # new stamp, since when
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.set_paths(paths)

    @property
    def paths(self) -> frozenset[Path]:
        """The watched files and folders (absolute)."""
        with self._lock:
            return frozenset(self._files | self._dirs)

    def set_paths(self, paths: Iterable[Path | str]) -> None:
        """Watch exactly ``paths`` from now on. Any thread.

        Paths already watched keep their state (a change in progress is still reported); new
        paths start from their current stamp, so adding a path reports nothing by itself.
        """
        files: set[Path] = set()
        dirs: set[Path] = set()
        for p in paths:
            p = _norm(p)
            (dirs if p.is_dir() else files).add(p)
        with self._lock:
            self._files, self._dirs = files, dirs
            current = self._scan()
            self._reported = {p: self._reported[p] if p in self._reported else st
                              for p, st in current.items()}
            self._pending = {p: v for p, v in self._pending.items() if p in current}

    def add(self, paths: Iterable[Path | str]) -> None:
        """Watch ``paths`` in addition to the current ones. Any thread."""
        self.set_paths([*self.paths, *paths])

    def _scan(self) -> dict[Path, Stamp | None]:
        """Current stamps of the watched files, folder children included. Lock held."""
        current = {p: file_stamp(p) for p in self._files}
        for folder in self._dirs:
            try:
                with os.scandir(folder) as entries:
                    for entry in entries:
                        if entry.is_file():
                            st = entry.stat()
                            current[Path(entry.path)] = (st.st_mtime_ns, st.st_size, st.st_ino)
            except OSError:
                pass  # the folder is gone: its children read as missing below
        for p in self._reported:  # children that vanished from a folder
            if p not in current and p.parent in self._dirs:
                current[p] = None
        return current

    def poll(self) -> set[Path]:
        """Check every watched file once; return those whose change has settled. One thread."""
        now = self._time()
        changed: set[Path] = set()
        with self._lock:
            for p, st in self._scan().items():
                if st == self._reported.get(p):
                    self._pending.pop(p, None)  # changed back (or never changed)
                    continue
                pending = self._pending.get(p)
                if pending is None or pending[0] != st:
                    pending = self._pending[p] = (st, now)
                wait = self.missing_grace if st is None else self.settle
                if now - pending[1] >= wait:
                    changed.add(p)
                    del self._pending[p]
                    if st is None and p not in self._files:
                        self._reported.pop(p, None)  # a folder child that is gone for good
                    else:
                        self._reported[p] = st
        return changed

    def start(self, on_change: Callable[[set[Path]], None]) -> None:
        """Poll every ``interval`` seconds on a daemon thread, calling ``on_change(paths)`` there."""
        if self._thread is not None:
            raise RuntimeError("FileWatcher is already running")
        self._stop.clear()

        def run() -> None:
            while not self._stop.wait(self.interval):
                try:
                    changed = self.poll()
                    if changed:
                        on_change(changed)
                except Exception:  # noqa: BLE001 - a watcher must outlive a bad callback
                    log.exception("file watcher callback failed")

        self._thread = threading.Thread(target=run, name="file-watcher", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the polling thread (if started). Any thread but the watcher's own."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None


# --------------------------------------------------------------------------------------------
# Reloading
# --------------------------------------------------------------------------------------------


class ReloadError(NamedTuple):
    """One reported reload failure, as the HUD shows it: (time, file, line, message).

    ``time`` is the reloader's clock (the show clock by default); ``file`` is where the problem
    is (an include, a scene file...), ``line`` its 1-based line or None.
    """

    time: float
    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class ReloadRequest:
    """A validated scene, ready for the render thread to build and switch to. Immutable.

    Attributes:
        kind: "scene" (the scene file changed) or "shader" (a shader or include changed: the
            running scene is rebuilt).
        spec: The scene to build.
        scene_path: The scene file this replaces (absolute), or None for a scene not from a file.
        base: The scene the background thread believed was running (for scenes without a file).
        changed: The files whose change led here.
        shaders: Shader files validated anew for this request (cached parses of them are stale).
        stamps: Stamp of every file validated; the request is dropped when one differs now.
        saved_at: Latest modification time of the changed files (wall-clock seconds).
    """

    kind: str
    spec: Any
    scene_path: Path | None
    base: Any
    changed: tuple[Path, ...]
    shaders: tuple[Path, ...]
    stamps: Mapping[Path, Stamp | None] = field(repr=False)
    saved_at: float = 0.0


_UNSET: Any = object()


class HotReloader:
    """Watches the running scene's files and reloads what changed, after validating it.

    Threads: construct it, then call ``update`` (or ``poll`` + ``apply``) on the render thread at
    the top of each frame; ``start`` runs the watching and validating on a background thread
    (``check_now`` does one round on the caller's thread instead, for tests and tools). The
    background thread never touches the engine except ``engine.parts`` (thread-safe).

    The engine (or a proxy) needs: ``scene`` (an ActiveScene with ``.spec``, or None),
    ``prepare_scene(spec) -> active`` and ``activate(active, fade=...)`` (an engine without them
    gets ``load_scene(spec)``), ``parts`` (a PartRegistry), ``clock`` and ``shaders.roots``.

    Args:
        engine: The engine whose running scene is watched.
        validator: A ShaderValidator to use (default: one of the reloader's own, closed by
            ``stop``), with the engine's shader roots.
        interval: Seconds between polls.
        settle: Seconds a changed file must hold still before it is handled.
        timeout: Seconds one shader may take in the validator (when the reloader makes it).
        clock: Time source for error times (default: the engine's clock).
        wall_time: Wall-clock seconds, for the save-to-screen latency only.
        max_errors: How many errors ``last_errors`` keeps.
    """

    def __init__(self, engine: Any, *, validator: ShaderValidator | None = None,
                 interval: float = DEFAULT_INTERVAL, settle: float = DEFAULT_SETTLE,
                 timeout: float = DEFAULT_TIMEOUT, clock: Any = None,
                 wall_time: Callable[[], float] = time.time,
                 max_errors: int = DEFAULT_MAX_ERRORS) -> None:
        self._engine = engine
        self._parts = engine.parts
        shaders = getattr(engine, "shaders", None)
        roots = getattr(shaders, "roots", None)
        self._roots = list(roots) if roots is not None else None
        self._own_validator = validator is None
        self.validator = validator or ShaderValidator(self._roots, timeout=timeout)
        self._clock = clock or engine.clock
        self._wall = wall_time
        self.watcher = FileWatcher(interval=interval, settle=settle)
        self.interval = float(interval)

        # Background state: touched only under _step_lock (the background thread or check_now).
        self._step_lock = threading.Lock()
        self._target: Any = None  # the scene the next rebuild builds (running or queued)
        self._scene_path: Path | None = None
        self._target_shaders: list[Path] = []
        self._failed_spec: Any = None  # a new scene whose shaders failed: watched until fixed
        self._deps: dict[Path, tuple[Path, ...]] = {}
        self._validated: dict[Path, tuple[tuple[Path, Stamp | None], ...]] = {}
        self._warned_unvalidated = False

        # Shared between threads, under _lock.
        self._lock = threading.Lock()
        self._requests: list[ReloadRequest] = []
        self._retarget: Any = _UNSET
        self._errors: dict[Path, list[ReloadError]] = {}  # by subject: the file whose change failed
        self._history: collections.deque[ReloadError] = collections.deque(maxlen=max_errors)

        # Render thread state.
        scene = engine.scene
        self._seen_scene = scene
        if scene is not None:
            self._retarget = scene.spec
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        #: Seconds from the last applied save to its activation (wall clock), or None.
        self.last_latency: float | None = None
        #: Number of reloads applied.
        self.reloads = 0
        self._parts.ok(PART, "watching for changes")

    # -- background -----------------------------------------------------------------------------
    def start(self) -> None:
        """Start watching on a background thread (it also warms up the validator)."""
        if self._thread is not None:
            raise RuntimeError("HotReloader is already running")
        self._stop.clear()

        def run() -> None:
            try:
                self.validator.start()  # pay the worker's start-up now, not at the first save
            except ValidatorError as exc:
                log.error("hot reload: %s", exc)
            while True:
                try:
                    self.check_now()
                except Exception:  # noqa: BLE001 - the reloader must not die with one bad file
                    log.exception("hot reload: unexpected failure while checking files")
                if self._stop.wait(self.interval):
                    return

        self._thread = threading.Thread(target=run, name="hot-reload", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the background thread and the reloader's own validator. Any thread; idempotent."""
        self._stop.set()
        if self._thread is not None:
            # A validation in progress ends within the validator's timeout.
            self._thread.join(self.validator.timeout + 5.0)
            self._thread = None
        if self._own_validator:
            self.validator.close()

    close = stop

    def __enter__(self) -> "HotReloader":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def check_now(self) -> bool:
        """One round: follow a scene switch, poll the files, validate what changed.

        Runs on the calling thread (the background thread, or a test); blocks while shaders are
        validated. Returns True when a reload request was queued.
        """
        with self._step_lock:
            with self._lock:
                retarget, self._retarget = self._retarget, _UNSET
            if retarget is not _UNSET:
                self._set_target(retarget)
            changed = self.watcher.poll()
            if not changed:
                return False
            return self._process(changed)

    def _set_target(self, spec: Any) -> None:
        if spec is self._target:
            return
        self._target = spec
        self._failed_spec = None
        path = getattr(spec, "path", None) if spec is not None else None
        self._scene_path = _norm(path) if path is not None else None
        self._target_shaders = self._shader_paths(spec) if spec is not None else []
        self._update_watch()
        # Errors about files the new scene does not use are no longer relevant.
        watched = self.watcher.paths
        self._clear(lambda subject: subject not in watched)

    def _shader_paths(self, spec: Any) -> list[Path]:
        """Shader files of a scene that resolve (a missing one is reported when it matters)."""
        out: dict[Path, None] = {}
        for layer in spec.layers:
            names = [layer.source] if layer.kind in SHADER_SOURCE_KINDS and layer.source else []
            names += [fx.shader for fx in layer.fx]
            for name in names:
                try:
                    out.setdefault(_norm(resolve_shader_path(name, self._roots)), None)
                except ShaderSourceError:
                    continue
        return list(out)

    def _dependencies(self, shader_path: Path) -> tuple[Path, ...]:
        known = self._deps.get(shader_path)
        if known is not None:
            return known
        try:
            deps = shader_dependencies(load_isf(shader_path, self._roots))
        except (ShaderSourceError, OSError):
            return (shader_path,)  # not stored: found properly once it loads
        self._deps[shader_path] = deps
        return deps

    def _update_watch(self) -> None:
        files: set[Path] = set()
        if self._scene_path is not None:
            files.add(self._scene_path)
        shaders = list(self._target_shaders)
        if self._failed_spec is not None:
            shaders += self._shader_paths(self._failed_spec)
        for p in shaders:
            files.update(self._dependencies(p))
        self.watcher.set_paths(files)

    def _process(self, changed: set[Path]) -> bool:
        """Validate what ``changed`` affects; queue a request when all of it passes."""
        saved_at = max((st[0] / 1e9 for st in map(file_stamp, changed) if st), default=self._wall())
        log.debug("hot reload: changed %s", ", ".join(str(p) for p in sorted(changed)))
        kind, spec, shader_paths = "shader", self._target, self._target_shaders
        stamps: dict[Path, Stamp | None] = {}
        scene_path = self._scene_path
        if scene_path is not None and (scene_path in changed or self._has_errors(scene_path)):
            stamps[scene_path] = file_stamp(scene_path)
            try:
                new_spec = load_scene(scene_path)
                paths = [_norm(p) for _, p in scene_shader_paths(new_spec, self._roots)]
            except SceneError as exc:
                self._fail(scene_path, [self._error_from(exc, scene_path)])
                changed = changed - {scene_path}
                if not changed:
                    return False
                stamps.clear()  # go on with the shader changes, on the running scene
            else:
                kind, spec, shader_paths = "scene", new_spec, paths
        if spec is None:
            return False

        failures: list[tuple[Path, ValidationResult]] = []
        revalidated: list[Path] = []
        for p in shader_paths:
            deps = self._dependencies(p)
            before = tuple((d, file_stamp(d)) for d in deps)
            if self._validated.get(p) == before:
                stamps.update(before)
                continue
            try:
                result = self.validator.validate(p)
            except ValidatorError as exc:
                result = ValidationResult(False, str(p), None, f"cannot validate: {exc}", 0.0,
                                          "error", p)
            if result.files:
                self._deps[p] = result.files
                known = dict(before)
                # A dependency new in this version (a new #include) is stamped now.
                before = tuple((d, known[d] if d in known else file_stamp(d)) for d in result.files)
            for warning in result.warnings:
                log.warning("hot reload: %s", warning)
            if result.ok or result.outcome == "unavailable":
                if not result.ok and not self._warned_unvalidated:
                    self._warned_unvalidated = True
                    log.warning("hot reload: shaders are compiled without validation (%s)",
                                result.message)
                self._validated[p] = before
                stamps.update(before)
                revalidated.append(p)
                if kind == "shader":
                    self._clear(lambda subject, p=p: subject == p)
            else:
                self._validated.pop(p, None)
                failures.append((p, result))

        if failures:
            if kind == "scene":
                assert scene_path is not None
                self._failed_spec = spec
                self._fail(scene_path, [self._error_from(r, scene_path) for _, r in failures])
            else:
                for p, r in failures:
                    self._fail(p, [self._error_from(r, p)])
            self._update_watch()
            return False

        request = ReloadRequest(kind, spec, scene_path, self._target, tuple(sorted(changed)),
                                tuple(revalidated), stamps, saved_at)
        with self._lock:
            self._requests = [request]  # each request rebuilds the whole scene: the newest wins
        if kind == "scene":
            self._target, self._target_shaders, self._failed_spec = spec, shader_paths, None
        self._update_watch()  # a new version may include other files
        log.debug("hot reload: queued a %s reload (%s)", kind, ", ".join(p.name for p in changed))
        return True

    # -- render thread --------------------------------------------------------------------------
    def poll(self) -> list[ReloadRequest]:
        """Validated reloads waiting for the render thread (at most one: the newest).

        Render thread, at the top of a frame; never blocks on validation (it takes a lock held
        only for list swaps). Also notices a scene switched by someone else (a set list) so the
        background thread follows it.
        """
        scene = self._engine.scene
        with self._lock:
            if scene is not self._seen_scene:
                self._seen_scene = scene
                self._retarget = scene.spec if scene is not None else None
            requests, self._requests = self._requests, []
        return requests

    def apply(self, request: ReloadRequest) -> bool:
        """Build ``request.spec`` and switch to it without a fade. Render thread.

        Returns True when the new scene is running. A request is dropped (False) when the
        running scene is no longer the one it replaces, or a validated file changed since; a
        scene that fails to build is reported like a failed validation and the old one stays.
        """
        engine = self._engine
        running = engine.scene
        if running is None:
            return False
        if request.scene_path is not None:
            path = getattr(running.spec, "path", None)
            if path is None or _norm(path) != request.scene_path:
                log.debug("hot reload: dropped: the running scene changed meanwhile")
                return False
        elif running.spec is not request.base:
            return False
        for path, stamp in request.stamps.items():
            if file_stamp(path) != stamp:
                log.debug("hot reload: dropped: %s changed again since it was validated", path)
                return False
        self._forget_parsed(request.shaders)
        subject = request.scene_path if request.kind == "scene" else (
            request.shaders[0] if request.shaders else (request.changed[0] if request.changed else None))
        started = getattr(running, "started", None)
        try:
            prepare = getattr(engine, "prepare_scene", None)
            if prepare is not None:
                engine.activate(prepare(request.spec), fade=0)
            else:  # an engine without crossfades: load_scene keeps the old scene on failure
                engine.load_scene(request.spec)
        except Exception as exc:  # noqa: BLE001 - whatever fails, the show goes on
            key = subject or Path(str(getattr(request.spec, "name", "scene")))
            self._fail(key, [self._error_from(exc, key)])
            return False
        if started is not None and engine.scene is not None and hasattr(engine.scene, "started"):
            # An edit of the running scene is not a new scene: its shaders' TIME runs on
            # rather than jumping back to 0 on every save.
            engine.scene.started = started
        with self._lock:
            self._seen_scene = engine.scene
            self._retarget = request.spec
        if request.kind == "scene":
            self._clear(lambda s: True)
        else:
            self._clear(lambda s: s != request.scene_path)
        self.reloads += 1
        self.last_latency = max(0.0, self._wall() - request.saved_at)
        names = ", ".join(p.name for p in request.changed) or request.kind
        log.info("hot reload: %s reloaded (%.2f s after the save)", names, self.last_latency)
        return True

    def update(self) -> int:
        """``poll`` then ``apply`` each request; returns how many were applied. Render thread."""
        return sum(self.apply(r) for r in self.poll())

    def _forget_parsed(self, shaders: Iterable[Path]) -> None:
        """Make the engine's shader library re-read shaders that are or include these files now,
        rather than at its next stat check."""
        paths = set(shaders)
        if not paths:
            return
        library = getattr(self._engine, "shaders", None)
        if library is not None:
            library.invalidate(paths)

    # -- errors ---------------------------------------------------------------------------------
    @property
    def last_errors(self) -> list[ReloadError]:
        """Unresolved reload errors, oldest first (at most ``max_errors``). Any thread."""
        with self._lock:
            return list(self._history)

    def _has_errors(self, subject: Path) -> bool:
        with self._lock:
            return subject in self._errors

    def _error_from(self, problem: Any, subject: Path) -> ReloadError:
        """A ReloadError from a ValidationResult, SceneError, ShaderSourceError or exception."""
        now = self._clock.now()
        if isinstance(problem, ValidationResult):
            return ReloadError(now, problem.file, problem.line, problem.message)
        if isinstance(problem, SceneError):
            message = f"{problem.label}: {problem.message}" if problem.label else problem.message
            return ReloadError(now, problem.file, problem.line, message)
        file = getattr(problem, "file", None)
        message = getattr(problem, "message", None)
        if isinstance(file, str) and isinstance(message, str):  # ShaderSourceError and kin
            return ReloadError(now, file, getattr(problem, "line", None), message)
        return ReloadError(now, str(subject), None, f"{type(problem).__name__}: {problem}")

    def _fail(self, subject: Path, errors: list[ReloadError]) -> None:
        with self._lock:
            old = self._errors.get(subject, [])
            repeated = [e[1:] for e in old] == [e[1:] for e in errors]
            if not repeated:
                for e in old:
                    _remove(self._history, e)
                self._errors[subject] = errors
                self._history.extend(errors)
        if not repeated:
            for e in errors:
                log.error("hot reload failed, keeping the previous version: %s", e)
        self._report()

    def _clear(self, which: Callable[[Path], bool]) -> None:
        with self._lock:
            gone = [s for s in self._errors if which(s)]
            for s in gone:
                for e in self._errors.pop(s):
                    _remove(self._history, e)
        if gone:
            for s in gone:
                log.info("hot reload: %s is fine again", s.name)
            self._report()

    def _report(self) -> None:
        with self._lock:
            newest = self._history[-1] if self._history else None
        if newest is None:
            self._parts.ok(PART, "all files loaded")
        else:
            self._parts.failed(PART, str(newest).split("\n")[0])


def _remove(history: collections.deque, entry: ReloadError) -> None:
    try:
        history.remove(entry)
    except ValueError:
        pass  # already pushed out of the ring buffer
