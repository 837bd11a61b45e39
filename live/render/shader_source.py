"""Shader source text: the JSON header, ``#include`` resolution and compiler-error mapping.

Everything here is pure Python with no GL, so it runs on any thread and is unit-tested without a
context. The GLSL the GPU compiles is assembled from several files (the engine prelude, includes,
the shader body); :class:`MappedSource` keeps, for every generated line, the file and line it came
from, so that a compiler message such as Mesa's ``0:57(12): error: ...`` is reported to the user
as ``shaders/common/noise.glsl:12: error: ...``.
"""

from __future__ import annotations

import difflib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

#: The repository's ``shaders/`` folder (the first search root).
REPO_SHADERS = Path(__file__).resolve().parents[2] / "shaders"
#: Where imported user shaders live (ARCHITECTURE.md, "Configuration, data, keys").
USER_SHADERS = Path("~/.local/share/echoel/shaders")
#: Extra search roots, separated by os.pathsep, appended after the two above.
SHADER_PATH_ENV = "ECHOEL_SHADER_PATH"
#: Suffixes tried, in order, when a shader is named without one ("warps/tunnel").
SHADER_SUFFIXES = (".fs", ".frag", ".glsl")
#: Nesting limit for ``#include``; deeper nesting is almost surely a mistake.
MAX_INCLUDE_DEPTH = 16

_INCLUDE_RE = re.compile(r'^\s*#\s*include\s+(?:"([^"]*)"|<([^>]*)>)\s*(?://.*)?$')
_INCLUDE_START_RE = re.compile(r"^\s*#\s*include\b")


class ShaderSourceError(ValueError):
    """A shader file cannot be read, parsed, included or compiled.

    Attributes:
        file: The file the problem is in, as shown to the user (relative to the working
            directory when possible).
        line: 1-based line in ``file``, or None when the problem has no single line.
        message: What is wrong and, where it helps, what is allowed.

    ``str(error)`` is ``"file:line: message"`` (or ``"file: message"`` without a line), the form
    editors and terminals turn into links.
    """

    def __init__(self, file: str | os.PathLike[str], line: int | None, message: str) -> None:
        self.file = file if isinstance(file, str) else display_path(file)
        self.line = line
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        if self.line is None:
            return f"{self.file}: {self.message}"
        return f"{self.file}:{self.line}: {self.message}"


class ShaderNotFoundError(ShaderSourceError):
    """No shader file matches a name in any search root (the message lists close matches)."""


class UnsupportedFeatureError(ShaderSourceError):
    """A shader uses a feature this engine does not implement (a Shadertoy cube-map pass where
    the raw GL call it needs cannot be loaded...). ``feature`` is a short stable name
    ("cubemap_pass") for reports such as ``unsupported:cubemap_pass`` in
    benchmarks/isf_compat.py; the message says what to do instead."""

    def __init__(self, file: str | os.PathLike[str], line: int | None, message: str,
                 feature: str) -> None:
        self.feature = feature
        super().__init__(file, line, message)

    def __reduce__(self):  # keep the attributes when the error crosses a process boundary
        return (type(self), (self.file, self.line, self.message, self.feature))


def display_path(path: str | os.PathLike[str]) -> str:
    """Return ``path`` relative to the working directory when it lies below it, else absolute.

    Any thread. Used for every file name shown in an error message.
    """
    p = Path(path)
    try:
        return str(p.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):
        return str(p)


def default_search_roots() -> list[Path]:
    """Folders searched for shaders and includes, in order.

    ``[<repo>/shaders, ~/.local/share/echoel/shaders]`` followed by the entries of
    ``$ECHOEL_SHADER_PATH`` (separated by ``os.pathsep``). Folders that do not exist are kept:
    resolution simply finds nothing there. Any thread.
    """
    roots = [REPO_SHADERS, USER_SHADERS.expanduser()]
    for entry in os.environ.get(SHADER_PATH_ENV, "").split(os.pathsep):
        if entry.strip():
            roots.append(Path(entry.strip()).expanduser())
    return roots


def list_shader_names(roots: Sequence[Path] | None = None) -> list[str]:
    """All shader names (``"warps/tunnel"``) found under the search roots, sorted.

    Include files in ``common/`` are left out: they are not shaders by themselves. Any thread;
    walks the file system, so call it at load time only.
    """
    names: set[str] = set()
    for root in roots if roots is not None else default_search_roots():
        if not root.is_dir():
            continue
        for suffix in SHADER_SUFFIXES:
            for file in root.rglob(f"*{suffix}"):
                rel = file.relative_to(root)
                if rel.parts and rel.parts[0] == "common":
                    continue
                names.add(rel.with_suffix("").as_posix())
    return sorted(names)


def resolve_shader_path(name: str, roots: Sequence[Path] | None = None) -> Path:
    """Find the file of the shader called ``name``.

    ``name`` may be an existing file path, or a name relative to a search root with or without
    suffix: ``"warps/tunnel"`` finds ``<root>/warps/tunnel.fs`` (then ``.frag``, ``.glsl``).
    Roots are tried in order, so the repository's shaders win over user copies.

    Any thread. Raises ShaderNotFoundError listing the roots searched and close matches.
    """
    direct = Path(name).expanduser()
    if direct.is_file():
        return direct
    search = list(roots) if roots is not None else default_search_roots()
    for root in search:
        for candidate in _candidates(root / name):
            if candidate.is_file():
                return candidate
    known = list_shader_names(search)
    close = difflib.get_close_matches(name.removesuffix(".fs"), known, n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    where = ", ".join(display_path(r) for r in search)
    raise ShaderNotFoundError(
        name, None, f"no shader named {name!r} (tried suffixes {', '.join(SHADER_SUFFIXES)} "
        f"in {where}){hint}"
    )


def _candidates(base: Path) -> Iterable[Path]:
    yield base
    for suffix in SHADER_SUFFIXES:
        yield base.with_name(base.name + suffix)


def read_shader_file(path: Path, included_from: tuple[str, int] | None = None) -> str:
    """Read a shader file as UTF-8 text, with line endings normalised to ``\\n``.

    Any thread. Raises ShaderSourceError naming the file (or the ``#include`` line that asked for
    it) when it cannot be read or is not text.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        file, line = included_from if included_from else (display_path(path), None)
        raise ShaderSourceError(file, line, f"cannot read {display_path(path)}: {exc.strerror}") from None
    if b"\x00" in data:
        raise ShaderSourceError(path, None, "contains a NUL byte; a shader must be a text file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ShaderSourceError(path, line, "is not valid UTF-8 text") from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


# --------------------------------------------------------------------------------------------
# Source with a line map
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceOrigin:
    """Where one line of generated GLSL came from: a file and its 1-based line.

    ``line`` is None for lines the translator generated that belong to no single line of any
    file (the ``#version`` line, for example).
    """

    file: str
    line: int | None


class MappedSource:
    """GLSL text built line by line, remembering the origin of every line.

    Build it at load time (any thread); the finished text is what the compiler sees, and
    :meth:`origin` answers "which file and line is generated line N?".
    """

    __slots__ = ("_lines", "_origins")

    def __init__(self) -> None:
        self._lines: list[str] = []
        self._origins: list[SourceOrigin] = []

    def append(self, text: str, file: str, line: int | None) -> None:
        """Add one line (without newline) that came from ``file:line``."""
        self._lines.append(text)
        self._origins.append(SourceOrigin(file, line))

    def append_lines(self, text: str, file: str, first_line: int | None) -> None:
        """Add every line of ``text``; they came from consecutive lines from ``first_line``."""
        for i, line_text in enumerate(text.split("\n")):
            self.append(line_text, file, None if first_line is None else first_line + i)

    def extend(self, other: "MappedSource") -> None:
        """Append all lines of another mapped source, keeping their origins."""
        self._lines.extend(other._lines)
        self._origins.extend(other._origins)

    @property
    def lines(self) -> list[str]:
        """The lines (a copy), without newlines."""
        return list(self._lines)

    @property
    def origins(self) -> list[SourceOrigin]:
        """The origin of each line (a copy), index 0 for line 1."""
        return list(self._origins)

    def replace_line(self, index: int, text: str) -> None:
        """Replace the text of line ``index`` (0-based) keeping its origin."""
        self._lines[index] = text

    def text(self) -> str:
        """The whole source, lines joined with newlines and a final newline."""
        return "\n".join(self._lines) + "\n"

    def origin(self, line_number: int) -> SourceOrigin | None:
        """Origin of the 1-based generated ``line_number``, or None when out of range."""
        if 1 <= line_number <= len(self._origins):
            return self._origins[line_number - 1]
        return None

    def __len__(self) -> int:
        return len(self._lines)


# --------------------------------------------------------------------------------------------
# JSON header
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SplitSource:
    """A shader file cut into its JSON header and its GLSL body.

    Attributes:
        header: The parsed JSON object, or None when the file has no header (plain GLSL).
        header_text: The raw JSON text ('' without header), for finding keys' lines.
        header_line: 1-based file line where ``header_text`` starts (1 without header).
        body: The GLSL after the header comment (the whole file without header).
        body_line: 1-based file line of the body's first line (the line holding ``*/``).
        forgiven: ``(line, remark)`` for slips in the header that were read anyway (trailing
            commas), for the loader to pass on as warnings.
    """

    header: dict | None
    header_text: str
    header_line: int
    body: str
    body_line: int
    forgiven: tuple[tuple[int, str], ...] = ()

    def line_of(self, pattern: str) -> int | None:
        """File line of the first match of regex ``pattern`` inside the header, or None."""
        match = re.search(pattern, self.header_text)
        if match is None:
            return None
        return self.header_line + self.header_text.count("\n", 0, match.start())


def split_header(text: str, file: str = "<string>") -> SplitSource:
    """Split ``text`` into its leading ``/*{ ... }*/`` JSON header and the GLSL body.

    The header is the first block comment whose content starts with ``{``; only whitespace and
    other comments may precede it (the ISF rule, relaxed to allow a licence comment first). A
    file without one is plain GLSL. Any thread.

    Raises ShaderSourceError with the file line for an unclosed header or invalid JSON (text
    after the object included).
    """
    pos = 0
    n = len(text)
    while pos < n:
        if text[pos].isspace():
            pos += 1
        elif text.startswith("//", pos):
            end = text.find("\n", pos)
            pos = n if end < 0 else end + 1
        elif text.startswith("/*", pos):
            end = text.find("*/", pos + 2)
            start_line = text.count("\n", 0, pos) + 1
            content = text[pos + 2 : n if end < 0 else end]
            if not content.lstrip().startswith("{"):
                if end < 0:
                    raise ShaderSourceError(file, start_line, "comment opened here is never closed with */")
                pos = end + 2
                continue
            if end < 0:
                raise ShaderSourceError(
                    file, start_line, "the JSON header opened here is never closed with */"
                )
            header_line = start_line
            return _parse_header(text, content, end, header_line, file)
        else:
            break
    return SplitSource(None, "", 1, text, 1)


def _trailing_commas(content: str) -> list[int]:
    """Offsets of commas in ``content`` followed (after whitespace) by ``}`` or ``]``, outside
    JSON strings."""
    found: list[int] = []
    in_string = False
    i = 0
    n = len(content)
    while i < n:
        c = content[i]
        if in_string:
            if c == "\\":
                i += 1
            elif c == '"':
                in_string = False
        elif c == '"':
            in_string = True
        elif c == ",":
            j = i + 1
            while j < n and content[j].isspace():
                j += 1
            if j < n and content[j] in "}]":
                found.append(i)
        i += 1
    return found


def _parses(content: str, strict: bool = True) -> bool:
    try:
        json.loads(content, strict=strict)
    except json.JSONDecodeError:
        return False
    return True


def _control_characters_in_strings(content: str) -> list[int]:
    """Offsets of raw control characters (a line break, a tab) inside JSON strings."""
    found: list[int] = []
    in_string = False
    i = 0
    while i < len(content):
        c = content[i]
        if in_string:
            if c == "\\":
                i += 1
            elif c == '"':
                in_string = False
            elif c < " ":
                found.append(i)
        elif c == '"':
            in_string = True
        i += 1
    return found


def _parse_header(text: str, content: str, end: int, header_line: int, file: str) -> SplitSource:
    forgiven: list[tuple[int, str]] = []
    try:
        header = json.loads(content)
    except json.JSONDecodeError as exc:
        # Two slips are common in hand-edited headers, and public collections carry files with
        # them that their authors' hosts play: a comma before a closing bracket, and a line
        # break typed inside a string (a long DESCRIPTION). Strict JSON readers (isf.js's
        # JSON.parse) refuse both; we read them and say so, but only when they are all that is
        # wrong, so another mistake is not read past.
        def line_of(offset: int) -> int:
            return header_line + content.count("\n", 0, offset)

        commas = _trailing_commas(content)
        drop = set(commas)
        cleaned = "".join(" " if i in drop else c for i, c in enumerate(content))
        breaks = _control_characters_in_strings(cleaned)
        if not (commas or breaks) or not _parses(cleaned, strict=not breaks):
            raise ShaderSourceError(file, header_line + exc.lineno - 1,
                                    f"invalid JSON in the shader header: {exc.msg} "
                                    f"(column {exc.colno})") from None
        header = json.loads(cleaned, strict=not breaks)
        forgiven += [(line, "trailing comma before a closing bracket in the JSON header, read "
                            "anyway (strict JSON readers, and so some ISF hosts, refuse it: "
                            "delete it)") for line in sorted({line_of(i) for i in commas})]
        forgiven += [(line, "line break or tab inside a JSON string in the header, read anyway "
                            "(strict JSON readers refuse it: write \\n instead)")
                     for line in sorted({line_of(i) for i in breaks})]
    # `content` starts with "{", so a successful parse is always a JSON object.
    body_start = end + 2
    body_line = text.count("\n", 0, body_start) + 1
    return SplitSource(header, content, header_line, text[body_start:], body_line,
                       tuple(sorted(forgiven)))


# --------------------------------------------------------------------------------------------
# #include
# --------------------------------------------------------------------------------------------


def expand_includes(
    text: str,
    path: Path | None,
    first_line: int = 1,
    roots: Sequence[Path] | None = None,
    *,
    _stack: tuple[Path, ...] = (),
) -> MappedSource:
    """Replace every ``#include "name"`` (or ``<name>``) line with the named file, recursively.

    A name is looked up relative to the including file's folder, then in each search root, so
    ``#include "common/noise.glsl"`` works from any shader folder. ``text`` is the content of
    ``path`` starting at ``first_line`` (a body after a JSON header starts past line 1).
    Include guards (``#ifndef``) are left to the GLSL preprocessor; a cycle is an error, not
    something guards can save, because expansion happens before preprocessing.

    Any thread. Raises ShaderSourceError at the ``#include`` line for a missing file, a cycle,
    or nesting deeper than MAX_INCLUDE_DEPTH.
    """
    search = list(roots) if roots is not None else default_search_roots()
    shown = display_path(path) if path is not None else "<string>"
    here = path.resolve() if path is not None else None
    stack = _stack + ((here,) if here is not None else ())
    out = MappedSource()
    for offset, line_text in enumerate(text.split("\n")):
        line_no = first_line + offset
        if not _INCLUDE_START_RE.match(line_text):
            out.append(line_text, shown, line_no)
            continue
        match = _INCLUDE_RE.match(line_text)
        name = (match.group(1) or match.group(2) or "").strip() if match else ""
        if not name:
            raise ShaderSourceError(
                shown, line_no, 'malformed #include; write #include "file.glsl"'
            )
        target = _resolve_include(name, here.parent if here else None, search, shown, line_no)
        resolved = target.resolve()
        if resolved in stack:
            chain = " -> ".join(display_path(p) for p in stack[stack.index(resolved):])
            raise ShaderSourceError(
                shown, line_no, f"#include cycle: {chain} -> {display_path(resolved)}"
            )
        if len(stack) > MAX_INCLUDE_DEPTH:
            raise ShaderSourceError(
                shown, line_no,
                f"#include nested deeper than {MAX_INCLUDE_DEPTH} levels (including {name!r})",
            )
        included = read_shader_file(target, included_from=(shown, line_no))
        out.extend(expand_includes(included, target, 1, search, _stack=stack))
    return out


def _resolve_include(name: str, folder: Path | None, roots: Sequence[Path], shown: str,
                     line_no: int) -> Path:
    candidates = ([folder / name] if folder is not None else []) + [root / name for root in roots]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    tried = ", ".join(display_path(c) for c in candidates)
    raise ShaderSourceError(shown, line_no, f"#include file {name!r} not found (tried {tried})")


# --------------------------------------------------------------------------------------------
# Compiler messages
# --------------------------------------------------------------------------------------------

# Mesa:               0:57(12): error: `x' undeclared
_MESA_RE = re.compile(r"^\s*(\d+):(\d+)\((\d+)\):\s*(.*)$")
# glslang, AMD, Apple: ERROR: 0:57: 'x' : undeclared identifier
_COLON_RE = re.compile(r"^\s*(ERROR|WARNING):\s*(\d+):(\d+):\s*(.*)$", re.IGNORECASE)
# NVIDIA:             0(57) : error C1008: undefined variable "x"
_NVIDIA_RE = re.compile(r"^\s*(\d+)\((\d+)\)\s*:\s*(.*)$")


@dataclass(frozen=True)
class CompilerMessage:
    """One compiler message mapped back to its origin.

    Attributes:
        file: Origin file as shown to the user.
        line: Origin line, or None for a line the translator generated.
        message: The compiler's text with its position removed (``"error: `x' undeclared"``).
        generated_line: The line number the compiler reported, in the generated source.
    """

    file: str
    line: int | None
    message: str
    generated_line: int

    def __str__(self) -> str:
        if self.line is None:
            return f"{self.file}: {self.message} (in generated code, line {self.generated_line})"
        return f"{self.file}:{self.line}: {self.message}"


def map_compiler_log(log: str, source: MappedSource) -> list[CompilerMessage]:
    """Map every positioned line of a GLSL compiler log back through ``source``'s line map.

    Understands Mesa (``0:57(12): error: ...``), glslang/AMD/Apple (``ERROR: 0:57: ...``) and
    NVIDIA (``0(57) : error ...``) formats. Lines without a position are skipped. Any thread.
    """
    mapped: list[CompilerMessage] = []
    for raw in log.splitlines():
        parsed = _parse_log_line(raw)
        if parsed is None:
            continue
        generated_line, message = parsed
        origin = source.origin(generated_line)
        if origin is None:
            mapped.append(CompilerMessage("<generated>", None, message, generated_line))
        else:
            mapped.append(CompilerMessage(origin.file, origin.line, message, generated_line))
    return mapped


def _parse_log_line(raw: str) -> tuple[int, str] | None:
    match = _MESA_RE.match(raw)
    if match:
        return int(match.group(2)), match.group(4).strip()
    match = _COLON_RE.match(raw)
    if match:
        return int(match.group(3)), f"{match.group(1).lower()}: {match.group(4).strip()}"
    match = _NVIDIA_RE.match(raw)
    if match:
        return int(match.group(2)), match.group(3).strip()
    return None


_CANDIDATES_SUFFIX = "; candidates are:"
# Mesa lists every overload of a function a call did not match, one "error:" line each.
_OVERLOAD_RE = re.compile(r"^error:\s+[\w\[\]]+\s+\w+\(.*\)$")
# A call whose argument already failed (Mesa types it `error`) only repeats an earlier error.
_CASCADE_RE = re.compile(r"`\w+\(([^`']*[(, ])?error[,)]")


def _drop_overload_listings(messages: list[CompilerMessage]) -> list[CompilerMessage]:
    """Mesa's "no matching function ...; candidates are:" is followed by one message per
    overload (dozens for texture()); they say nothing about the file, so they are dropped, as
    are calls that fail only because an argument already failed."""
    kept: list[CompilerMessage] = []
    listing = False
    for m in messages:
        if listing and _OVERLOAD_RE.match(m.message):
            continue
        if kept and _CASCADE_RE.search(m.message):
            listing = m.message.endswith(_CANDIDATES_SUFFIX)
            continue
        listing = m.message.endswith(_CANDIDATES_SUFFIX)
        if listing:
            m = CompilerMessage(m.file, m.line, m.message[: -len(_CANDIDATES_SUFFIX)],
                                m.generated_line)
        kept.append(m)
    return kept


def compile_error(log: str, source: MappedSource, fallback_file: str, stage: str = "") -> ShaderSourceError:
    """Build the ShaderSourceError for a failed compile: first error first, the rest after.

    ``str(error)`` starts with ``file:line: message`` of the first error (warnings only if no
    error has a position); further messages follow on indented lines. When no line of the log
    can be mapped (a link error, say), the error names ``fallback_file`` and quotes the log.
    Any thread.
    """
    messages = _drop_overload_listings(map_compiler_log(log, source))
    errors = [m for m in messages if "error" in m.message.lower()] or messages
    if not errors:
        what = f"{stage} shader" if stage else "shader"
        text = " ".join(log.split()) or "the GL driver gave no reason"
        return ShaderSourceError(fallback_file, None, f"{what} failed to compile or link: {text}")
    first = errors[0]
    message = first.message
    if first.line is None:
        message = f"{message} (in code generated for this shader, line {first.generated_line})"
    rest = [f"  {m}" for m in errors[1:]]
    if rest:
        message = "\n".join([message, *rest])
    file = first.file if first.line is not None else fallback_file
    return ShaderSourceError(file, first.line, message)
