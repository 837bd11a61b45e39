"""The ISF 2.0 shader model and its translation to GLSL 330 core.

One loader for our own shaders and third-party ISF files alike (https://docs.isf.video): the
``/*{...}*/`` JSON header becomes an :class:`IsfShader` (inputs, passes, imported images), and the
GLSL body becomes complete GLSL 330 core vertex and fragment sources with

- the engine uniforms of ``shaders/common/engine.glsl`` (the uniform contract: ISF built-ins
  TIME, RENDERSIZE, ... plus audio and beat values), minus any name the shader declares itself;
- one uniform per INPUT, pass TARGET and IMPORTED image;
- the ISF helpers of ``shaders/common/isf.glsl`` (IMG_PIXEL, IMG_NORM_PIXEL, IMG_THIS_PIXEL,
  IMG_THIS_NORM_PIXEL, IMG_SIZE, isf_vertShaderInit);
- old GLSL rewritten: ``gl_FragColor``/``gl_FragData[0]`` to an ``out vec4``, ``texture2D`` and
  friends to ``texture``, ``varying``/``attribute`` to ``in``/``out``, any ``#version`` replaced,
  ``#extension`` lines hoisted to the top, ISF 1.0's ``vv_`` names renamed.

Every generated line keeps its origin (see shader_source.MappedSource) so compiler errors name
the shader file, include or header line they come from. Pure Python, no GL: any thread.
"""

from __future__ import annotations

import ast
import difflib
import math
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from live.render.shader_source import (
    REPO_SHADERS,
    MappedSource,
    ShaderSourceError,
    SplitSource,
    UnsupportedFeatureError,
    display_path,
    expand_includes,
    read_shader_file,
    split_header,
)

#: ``point3D`` is ossia score's extension (a vec3, like point2D with a third component).
ISF_TYPES = ("event", "bool", "long", "float", "point2D", "point3D", "color", "image", "audio",
             "audioFFT")
#: GLSL type of the uniform generated for each ISF input type.
GLSL_TYPES = {
    "event": "bool", "bool": "bool", "long": "int", "float": "float", "point2D": "vec2",
    "point3D": "vec3",
    "color": "vec4", "image": "sampler2D", "audio": "sampler2D", "audioFFT": "sampler2D",
}
#: Input types that are textures rather than values.
IMAGE_TYPES = frozenset({"image", "audio", "audioFFT"})

#: The uniform contract every shader gets (declared once, documented there).
ENGINE_GLSL = REPO_SHADERS / "common" / "engine.glsl"
#: The ISF helper functions (IMG_PIXEL and friends, isf_vertShaderInit).
ISF_GLSL = REPO_SHADERS / "common" / "isf.glsl"
#: Suffixes of an ISF file's optional companion vertex shader, tried in order.
VERTEX_SUFFIXES = (".vs", ".vert")

#: Names the translator itself declares; INPUTS and TARGETS may not use them.
GENERATED_NAMES = frozenset({"isf_FragNormCoord", "isf_FragColor", "isf_Position",
                             "isf_vertShaderInit", "isf_vertShaderFinish"})
#: Largest pass buffer side a size expression may produce (the common GL texture limit).
MAX_TARGET_SIZE = 16384

_IDENTIFIER_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
#: GLSL built-in functions. An input may carry one of these names (drivers that allow a
#: uniform to hide a built-in exist, and community files rely on them): its uniform is then
#: renamed (see IsfInput.uniform_name) so the built-in stays callable.
BUILTIN_FUNCTIONS = frozenset(
    "radians degrees sin cos tan asin acos atan sinh cosh tanh asinh acosh atanh pow exp log "
    "exp2 log2 sqrt inversesqrt abs sign floor ceil trunc round roundEven fract mod modf min "
    "max clamp mix step smoothstep isnan isinf length distance dot cross normalize reflect "
    "refract faceforward matrixCompMult outerProduct transpose determinant inverse "
    "lessThan lessThanEqual greaterThan greaterThanEqual equal notEqual any all not "
    "texelFetch textureSize textureLod dFdx dFdy fwidth noise1 noise2 noise3 noise4".split()
)
#: Words GLSL 1.10/1.20 (the dialect of VDMX and most ISF files) leave free but GLSL 3.30
#: reserves: an input may carry one of these names (``smooth``, ``flat``...) and is renamed
#: like a built-in, since the 1.x drivers it was written for accepted it.
RENAMABLE_KEYWORDS = frozenset(
    "smooth flat noperspective layout uint uvec2 uvec3 uvec4 sample patch subroutine "
    "common partition active filter texture output input half".split()
)
#: Prefix of the uniform that stands for an input named like a built-in function.
RENAMED_INPUT_PREFIX = "isf_in_"
_GLSL_KEYWORDS = frozenset(
    "attribute const uniform varying layout centroid flat smooth noperspective break continue "
    "do for while switch case default if else in out inout float int void bool true false "
    "invariant discard return mat2 mat3 mat4 vec2 vec3 vec4 ivec2 ivec3 ivec4 bvec2 bvec3 "
    "bvec4 uint uvec2 uvec3 uvec4 lowp mediump highp precision sampler2D sampler3D "
    "samplerCube struct main texture "
    # reserved for future use in GLSL 3.30: compilers refuse them as names
    "common partition active asm class union enum typedef template this packed goto inline "
    "noinline volatile public static extern external interface long short double half fixed "
    "unsigned superp input output hvec2 hvec3 hvec4 dvec2 dvec3 dvec4 fvec2 fvec3 fvec4 "
    "sampler3DRect filter image1D image2D image3D imageCube sizeof cast namespace using".split()
)

_TOP_KEYS = ("ISFVSN", "VSN", "DESCRIPTION", "CREDIT", "CATEGORIES", "INPUTS", "PASSES",
             "IMPORTED", "PERSISTENT_BUFFERS")
_INPUT_KEYS = ("NAME", "TYPE", "DEFAULT", "MIN", "MAX", "IDENTITY", "LABEL", "LABELS", "VALUES")
_PASS_KEYS = ("TARGET", "PERSISTENT", "FLOAT", "WIDTH", "HEIGHT", "DESCRIPTION")


class ShaderParamError(ValueError):
    """A parameter value does not fit the shader's header (unknown name, wrong type, range).

    Attributes:
        file: The shader file as shown to the user.
        param: The parameter name.
        message: What is wrong and what is allowed.
    """

    def __init__(self, file: str, param: str | None = None, message: str | None = None) -> None:
        if param is None and message is None:
            # One argument: a complete message from a caller that formats its own.
            file, param, message = "", "", file
        self.file = file
        self.param = param or ""
        self.message = message or ""
        super().__init__(str(self))

    def __str__(self) -> str:
        if not self.file and not self.param:
            return self.message
        return f"{self.file}: parameter {self.param!r}: {self.message}"


class UnknownParamError(ShaderParamError, KeyError):
    """The shader has no input of that name (also a KeyError, for dict-like lookups)."""

    __str__ = ShaderParamError.__str__


class SizeExpressionError(ValueError):
    """A pass WIDTH/HEIGHT expression is malformed, uses something not allowed, or fails."""


# --------------------------------------------------------------------------------------------
# Model
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IsfInput:
    """One entry of the header's INPUTS: a uniform the host sets each frame. Immutable; any thread.

    Values are normalised Python values: ``bool`` for event/bool, ``int`` for long, ``float``,
    tuples of 2 floats for point2D and of 4 floats for color; None where a key is absent.
    For audio/audioFFT, ``max`` is the number of samples the shader asks for (ISF's meaning).

    Attributes:
        name: Uniform name (a GLSL identifier).
        type: One of ISF_TYPES.
        default: Value used when no parameter is set.
        min, max: Range limits (per component for point2D and color), or None.
        values, labels: For ``long`` menus, the allowed values and their display labels.
        label: Human-readable name for UIs.
        identity: Neutral value that leaves an effect's input unchanged (our extension key
            ``IDENTITY``), or None.
        line: Header line declaring the input, for messages.
    """

    name: str
    type: str
    default: Any = None
    min: Any = None
    max: Any = None
    values: tuple[int, ...] | None = None
    labels: tuple[str, ...] | None = None
    label: str | None = None
    identity: Any = None
    line: int | None = field(default=None, compare=False)

    @property
    def glsl_type(self) -> str:
        """The GLSL type of this input's uniform (``float``, ``vec4``, ``sampler2D``...)."""
        return GLSL_TYPES[self.type]

    @property
    def is_image(self) -> bool:
        """True for image, audio and audioFFT inputs (bound as textures, not set as values)."""
        return self.type in IMAGE_TYPES

    @property
    def uniform_name(self) -> str:
        """The GLSL uniform that carries this input: its name, or ``isf_in_<name>`` for an
        input named like a built-in function (``mix``, ``step``...), whose uses in the body are
        rewritten to that name while calls of the built-in stay."""
        renamed = self.name in BUILTIN_FUNCTIONS or self.name in RENAMABLE_KEYWORDS
        return RENAMED_INPUT_PREFIX + self.name if renamed else self.name


@dataclass(frozen=True)
class IsfPass:
    """One rendering pass of the header's PASSES. Immutable; any thread.

    Attributes:
        target: Name of the buffer this pass renders into (readable as a sampler by later
            passes and frames), or None to render into the output.
        persistent: The buffer keeps its content across frames.
        float: The buffer stores 32-bit floats per channel (else 8-bit normalised).
        width, height: Size expressions (``"$WIDTH/2"``), or None for the render size.
    """

    target: str | None = None
    persistent: bool = False
    float: bool = False
    width: str | None = None
    height: str | None = None


@dataclass(frozen=True)
class ImportedCube:
    """An IMPORTED cube map (``"TYPE": "cube"``, a PATH list of six images). Immutable; any thread.

    Attributes:
        faces: The six image files, in GL's face order +X, -X, +Y, -Y, +Z, -Z.
        line: The header line of the entry, for errors found when the faces are decoded.
    """

    faces: tuple[Path, ...]
    line: int | None = None


#: Face names in the order of an IMPORTED cube map's PATH list (GL's cube face order).
CUBE_FACE_NAMES = ("+X", "-X", "+Y", "-Y", "+Z", "-Z")


@dataclass
class IsfShader:
    """A loaded shader: header model plus translated GLSL 330 core, ready to compile.

    Built by :func:`load_isf` (any thread); immutable in practice after that. The renderer
    (live.render.program.IsfRenderer) compiles ``vertex_source`` and ``fragment_source`` and
    maps compile errors back through ``vertex_map`` and ``fragment_map``.

    Attributes:
        path: The shader file.
        description, credit, categories, isf_version: Header metadata. ``isf_version`` is the
            header's ISFVSN, "1" for a header without it (the spec's rule), "" without header.
        inputs: The INPUTS, in header order.
        passes: At least one pass; the last one without TARGET draws the output.
        imported: IMPORTED image name -> file.
        imported_cubes: IMPORTED cube map name -> its six faces (``uniform samplerCube``).
        kind: "transition" (startImage, endImage images and progress float), "filter" (an image
            input named inputImage) or "generator".
        fragment_source, vertex_source: Complete GLSL 330 core sources.
        fragment_map, vertex_map: Line maps of those sources.
        vertex_path: The companion ``.vs`` file, or None when the default vertex shader is used.
        uses_discard: The fragment code contains ``discard`` (persistent buffers must then be
            carried over before a pass, since discarded pixels keep the old content).
        warnings: Non-fatal remarks (probable typos of header keys...), each "file:line: text".
        pass_lines: Header line of each pass, for size-expression errors.
        identifiers: Every identifier in the shader's own code (body, includes, .vs; comments
            left out), see :meth:`uses`.
    """

    path: Path
    description: str
    credit: str
    categories: list[str]
    isf_version: str
    inputs: list[IsfInput]
    passes: list[IsfPass]
    imported: dict[str, Path]
    kind: str
    fragment_source: str
    vertex_source: str
    fragment_map: MappedSource = field(default_factory=MappedSource, repr=False, compare=False)
    vertex_map: MappedSource = field(default_factory=MappedSource, repr=False, compare=False)
    vertex_path: Path | None = None
    uses_discard: bool = False
    warnings: list[str] = field(default_factory=list)
    pass_lines: list[int | None] = field(default_factory=list, repr=False, compare=False)
    identifiers: frozenset[str] = field(default_factory=frozenset, repr=False, compare=False)
    imported_cubes: dict[str, ImportedCube] = field(default_factory=dict)

    def uses(self, name: str) -> bool:
        """Whether the shader's own code mentions identifier ``name`` (``"PREV_FRAME"``).

        The generated sources declare every engine uniform, so searching them says nothing;
        this looks at what the author wrote (body, includes, .vs), comments excluded. Any thread.
        """
        return name in self.identifiers

    def __post_init__(self) -> None:
        self._by_name = {inp.name: inp for inp in self.inputs}

    @property
    def display_name(self) -> str:
        """The shader file as shown in messages."""
        return display_path(self.path)

    def input(self, name: str) -> IsfInput:
        """The input called ``name``.

        Any thread. Raises UnknownParamError (a ShaderParamError and KeyError) with a
        "did you mean" hint and the list of inputs.
        """
        try:
            return self._by_name[name]
        except KeyError:
            raise self._unknown(name) from None

    def _unknown(self, name: object) -> UnknownParamError:
        names = list(self._by_name)
        close = difflib.get_close_matches(str(name), names, n=3, cutoff=0.6)
        hint = f"did you mean {', '.join(repr(c) for c in close)}? " if close else ""
        listing = ", ".join(names) if names else "none"
        return UnknownParamError(self.display_name, str(name),
                                 f"no such input; {hint}(inputs: {listing})")

    def defaults(self) -> dict[str, Any]:
        """Default value of every non-image input, by name (events default to False). Any thread."""
        return {inp.name: inp.default for inp in self.inputs if not inp.is_image}

    def validate_params(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Check parameter values against the header and return them normalised.

        Accepted per type: event/bool take a bool or a number (>= 0.5 is true, since signals
        are floats); long takes an integral number or one of its LABELS; float takes a finite
        number; point2D a sequence of 2 numbers; color 3 or 4 numbers (alpha defaults to 1).
        Values must lie in MIN..MAX (component-wise) and long values in VALUES when given.
        Image inputs are textures, bound by the layer, never params.

        Any thread; call it where params enter (scene load, mapping setup), not per frame.

        Returns:
            A new dict with the same keys and normalised values (bool, int, float, tuples).

        Raises:
            ShaderParamError: naming the file, the parameter, and the allowed type/range/values
                (UnknownParamError for an unknown name).
        """
        out: dict[str, Any] = {}
        for name, value in params.items():
            inp = self._by_name.get(name)
            if inp is None:
                raise self._unknown(name)
            out[name] = _normalise_value(inp, value, self.display_name)
        return out


# --------------------------------------------------------------------------------------------
# Parameter values
# --------------------------------------------------------------------------------------------


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _type_name(value: Any) -> str:
    return type(value).__name__


def _fmt_range(lo: Any, hi: Any) -> str:
    return f"{lo if lo is not None else '-inf'}..{hi if hi is not None else 'inf'}"


def _outside(value: float, lo: float | None, hi: float | None) -> bool:
    # A little slack so that values computed in float (mapped ranges) are not refused at the
    # exact limits.
    span = abs(hi - lo) if lo is not None and hi is not None else 1.0
    eps = 1e-9 * max(1.0, span)
    return (lo is not None and value < lo - eps) or (hi is not None and value > hi + eps)


def _normalise_value(inp: IsfInput, value: Any, file: str) -> Any:
    def fail(message: str) -> ShaderParamError:
        return ShaderParamError(file, inp.name, message)

    kind = inp.type
    if kind in IMAGE_TYPES:
        raise fail(f"is an {kind} input (a texture); it is bound by the layer, not set as a value")
    if kind in ("bool", "event"):
        if isinstance(value, bool):
            return value
        if _is_number(value):
            return value >= 0.5
        raise fail(f"is a {kind}; expected true/false or a number, got {value!r} ({_type_name(value)})")
    if kind == "long":
        return _normalise_long(inp, value, fail)
    if kind == "float":
        if not _is_number(value):
            raise fail(f"is a float; expected a finite number, got {value!r} ({_type_name(value)})")
        value = float(value)
        if _outside(value, inp.min, inp.max):
            raise fail(f"{value:g} is outside its range {_fmt_range(inp.min, inp.max)}")
        return value
    size = {"point2D": 2, "point3D": 3}.get(kind, 4)
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise fail(f"is a {kind}; expected a list of {size} numbers, got {value!r}")
    items = list(value)
    if kind == "color" and len(items) == 3:
        items.append(1.0)
    if len(items) != size or not all(_is_number(v) for v in items):
        want = {"color": "3 or 4 numbers (RGB[A], 0..1)", "point2D": "2 numbers [x, y]",
                "point3D": "3 numbers [x, y, z]"}[kind]
        raise fail(f"is a {kind}; expected {want}, got {value!r}")
    result = tuple(float(v) for v in items)
    for i, component in enumerate(result):
        lo = inp.min[i] if inp.min is not None else None
        hi = inp.max[i] if inp.max is not None else None
        if _outside(component, lo, hi):
            raise fail(f"component {i} = {component:g} is outside its range {_fmt_range(lo, hi)}")
    return result


def _normalise_long(inp: IsfInput, value: Any, fail: Callable[[str], ShaderParamError]) -> int:
    if isinstance(value, str) and inp.labels:
        if value in inp.labels:
            return inp.values[inp.labels.index(value)]  # type: ignore[index]
        close = difflib.get_close_matches(value, inp.labels, n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise fail(f"no choice labelled {value!r}{hint} (choices: {_choices(inp)})")
    if not _is_number(value) or float(value) != int(value):
        raise fail(f"is a long; expected an integer{' or a label' if inp.labels else ''}, "
                   f"got {value!r} ({_type_name(value)})")
    number = int(value)
    if inp.values is not None:
        if number not in inp.values:
            raise fail(f"{number} is not one of its values ({_choices(inp)})")
    elif _outside(number, inp.min, inp.max):
        raise fail(f"{number} is outside its range {_fmt_range(inp.min, inp.max)}")
    return number


def _choices(inp: IsfInput) -> str:
    values = inp.values or ()
    labels = inp.labels or tuple(str(v) for v in values)
    pairs = zip(values, labels, strict=True)
    return ", ".join(f"{v} ({lbl})" if str(v) != lbl else str(v) for v, lbl in pairs)


# --------------------------------------------------------------------------------------------
# Size expressions
# --------------------------------------------------------------------------------------------

_VAR_PREFIX = "_isfvar_"
_DOLLAR_RE = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
_MAX_EXPRESSION_LENGTH = 256

_BINARY_OPS: dict[type, Callable[[float, float], float]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.Div: operator.truediv, ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY_OPS: dict[type, Callable[[float], float]] = {ast.USub: operator.neg, ast.UAdd: operator.pos}
_FUNCTIONS: dict[str, tuple[int, int, Callable[..., float]]] = {
    # name: (min args, max args, function)
    "floor": (1, 1, math.floor), "ceil": (1, 1, math.ceil), "round": (1, 1, round),
    "trunc": (1, 1, math.trunc), "abs": (1, 1, abs), "sqrt": (1, 1, math.sqrt),
    "exp": (1, 1, math.exp), "log": (1, 1, math.log), "log2": (1, 1, math.log2),
    "pow": (2, 2, math.pow), "min": (2, 8, min), "max": (2, 8, max),
    "clamp": (3, 3, lambda x, lo, hi: min(max(x, lo), hi)),
}
_CONSTANTS = {"pi": math.pi, "e": math.e}


@dataclass(frozen=True)
class SizeExpression:
    """A parsed pass WIDTH/HEIGHT expression; evaluate it many times without re-parsing.

    Attributes:
        source: The expression as written (``"floor($WIDTH*$scale)"``).
        variables: Names it uses, without ``$`` (``{"WIDTH", "scale"}``).
    """

    source: str
    variables: frozenset[str]
    _function: Callable[[Mapping[str, float]], float] = field(repr=False, compare=False)

    def evaluate(self, width: int, height: int, inputs: Mapping[str, Any]) -> int:
        """The buffer side in pixels for render size ``width`` x ``height`` and input values.

        The result is rounded down (a value a hair below an integer through float error counts
        as that integer) and raised to at least 1. Any thread.

        Raises:
            SizeExpressionError: unknown variable, non-numeric input, division by zero, a
                non-finite result or one above MAX_TARGET_SIZE.
        """
        env: dict[str, float] = {"WIDTH": float(width), "HEIGHT": float(height)}
        for name in self.variables:
            if name in env:
                continue
            if name not in inputs:
                known = ", ".join(f"${n}" for n in ["WIDTH", "HEIGHT", *inputs])
                raise SizeExpressionError(
                    f"size expression {self.source!r} uses ${name}, which is not defined "
                    f"(variables: {known})")
            value = inputs[name]
            if isinstance(value, bool):
                env[name] = 1.0 if value else 0.0
            elif _is_number(value):
                env[name] = float(value)
            else:
                raise SizeExpressionError(
                    f"size expression {self.source!r} uses ${name} = {value!r}; only number, "
                    "bool and long inputs can be used in sizes")
        try:
            result = float(self._function(env))
        except ZeroDivisionError:
            raise SizeExpressionError(f"division by zero in size expression {self.source!r} "
                                      f"({_describe_env(env)})") from None
        except (OverflowError, ValueError) as exc:
            raise SizeExpressionError(f"size expression {self.source!r} cannot be computed "
                                      f"({_describe_env(env)}): {exc}") from None
        if not math.isfinite(result):
            raise SizeExpressionError(f"size expression {self.source!r} is not finite "
                                      f"({_describe_env(env)})")
        size = max(1, math.floor(result + 1e-6))
        if size > MAX_TARGET_SIZE:
            raise SizeExpressionError(f"size expression {self.source!r} gives {size} px "
                                      f"({_describe_env(env)}); the limit is {MAX_TARGET_SIZE}")
        return size


def _describe_env(env: Mapping[str, float]) -> str:
    return ", ".join(f"${k}={v:g}" for k, v in env.items())


@lru_cache(maxsize=1024)
def parse_size_expression(expr: str) -> SizeExpression:
    """Parse a WIDTH/HEIGHT expression into a :class:`SizeExpression`.

    Grammar: numbers, ``$WIDTH``, ``$HEIGHT``, ``$<input name>``, ``+ - * / // % **``,
    parentheses, the constants ``pi`` and ``e`` and the functions floor, ceil, round, trunc,
    abs, sqrt, exp, log, log2, pow, min, max, clamp. The text is parsed with Python's ``ast``
    and every node is checked against that whitelist, then turned into closures: nothing is
    ever passed to ``eval``. Results are cached. Any thread.

    Raises:
        SizeExpressionError: naming the expression and what is not allowed.
    """
    if not isinstance(expr, str):
        raise SizeExpressionError(f"a size expression must be a string, got {expr!r}")
    if len(expr) > _MAX_EXPRESSION_LENGTH:
        raise SizeExpressionError(
            f"size expression is {len(expr)} characters long; the limit is {_MAX_EXPRESSION_LENGTH}")
    if "$" in _DOLLAR_RE.sub("", expr):
        raise SizeExpressionError(f"size expression {expr!r} has a '$' not followed by a name")
    if _VAR_PREFIX in expr:
        raise SizeExpressionError(f"size expression {expr!r} uses a reserved name")
    python_text = _DOLLAR_RE.sub(lambda m: _VAR_PREFIX + m.group(1), expr)
    try:
        tree = ast.parse(python_text.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        raise SizeExpressionError(f"size expression {expr!r} is not a valid arithmetic "
                                  "expression") from None
    variables: set[str] = set()
    function = _compile_node(tree.body, expr, variables)
    return SizeExpression(expr, frozenset(variables), function)


def _compile_node(node: ast.AST, expr: str, variables: set[str]) -> Callable[[Mapping[str, float]], float]:
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        constant = float(node.value)
        return lambda env: constant
    if isinstance(node, ast.Name):
        if node.id.startswith(_VAR_PREFIX):
            name = node.id[len(_VAR_PREFIX):]
            variables.add(name)
            return lambda env: env[name]
        if node.id in _CONSTANTS:
            constant = _CONSTANTS[node.id]
            return lambda env: constant
        raise SizeExpressionError(
            f"size expression {expr!r}: unknown name {node.id!r}; variables are written "
            "$WIDTH, $HEIGHT or $<input name>")
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY_OPS:
        op = _BINARY_OPS[type(node.op)]
        left = _compile_node(node.left, expr, variables)
        right = _compile_node(node.right, expr, variables)
        return lambda env: op(left(env), right(env))
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY_OPS:
        unary = _UNARY_OPS[type(node.op)]
        operand = _compile_node(node.operand, expr, variables)
        return lambda env: unary(operand(env))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
        spec = _FUNCTIONS.get(node.func.id)
        if spec is None:
            raise SizeExpressionError(
                f"size expression {expr!r}: unknown function {node.func.id!r} (allowed: "
                f"{', '.join(sorted(_FUNCTIONS))})")
        lo, hi, fn = spec
        if not lo <= len(node.args) <= hi:
            raise SizeExpressionError(
                f"size expression {expr!r}: {node.func.id}() takes {lo if lo == hi else f'{lo}-{hi}'} "
                f"arguments, got {len(node.args)}")
        args = [_compile_node(a, expr, variables) for a in node.args]
        return lambda env: fn(*[a(env) for a in args])
    what = _NODE_DESCRIPTIONS.get(type(node), type(node).__name__)
    raise SizeExpressionError(
        f"size expression {expr!r}: {what} is not allowed; use numbers, $variables, "
        "+ - * / // % **, parentheses and the functions " + ", ".join(sorted(_FUNCTIONS)))


_NODE_DESCRIPTIONS: dict[type, str] = {
    ast.Attribute: "attribute access (.)", ast.Call: "calling anything but the listed functions",
    ast.Subscript: "indexing ([])", ast.Lambda: "lambda", ast.List: "a list", ast.Tuple: "a tuple",
    ast.Compare: "a comparison", ast.IfExp: "a conditional", ast.BoolOp: "and/or",
    ast.Starred: "unpacking (*)", ast.Constant: "a constant other than a number",
}


def evaluate_size_expression(expr: str, width: int, height: int, inputs: Mapping[str, Any]) -> int:
    """Evaluate a pass WIDTH/HEIGHT expression for a render size and input values.

    ``"$WIDTH/2"``, ``"floor($HEIGHT*0.5)"``, ``"max($WIDTH*$scale, 1)"``; see
    :func:`parse_size_expression` for the grammar and :meth:`SizeExpression.evaluate` for
    rounding and limits. Any thread.

    Raises:
        SizeExpressionError: for a bad expression or a failed evaluation.
    """
    return parse_size_expression(expr).evaluate(width, height, inputs)


# --------------------------------------------------------------------------------------------
# Header parsing
# --------------------------------------------------------------------------------------------


class _Header:
    """Reads the JSON header of one file, raising errors that name the right line."""

    def __init__(self, split: SplitSource, file: str) -> None:
        self.split = split
        self.file = file
        self.data: dict = split.header or {}
        self.warnings: list[str] = []
        for line, remark in split.forgiven:
            self.warn(line, remark)

    def line_of_key(self, key: str) -> int | None:
        return self.split.line_of(r'"' + re.escape(key) + r'"\s*:')

    def line_of_value(self, key: str, value: str) -> int | None:
        return self.split.line_of(r'"' + re.escape(key) + r'"\s*:\s*"' + re.escape(value) + '"')

    def error(self, line: int | None, message: str) -> ShaderSourceError:
        return ShaderSourceError(self.file, line, message)

    def warn(self, line: int | None, message: str) -> None:
        where = f"{self.file}:{line}" if line is not None else self.file
        self.warnings.append(f"{where}: {message}")

    def check_keys(self, mapping: dict, known: Sequence[str], where: str, line: int | None) -> None:
        # Hosts add their own keys, so unknown keys are allowed; a near miss of a known key is
        # probably a typo that would silently lose a value, so it is reported as a warning.
        for key in list(mapping):
            if key in known:
                continue
            upper = key.upper()
            if upper in known and upper not in mapping:
                # A known key in the wrong case ("persistent"): the author's intent is plain,
                # so it is read, as TYPE values in the wrong case are.
                mapping[upper] = mapping[key]
                self.warn(self.line_of_key(key) or line,
                          f"key {key!r} in {where} read as {upper!r}")
                continue
            close = difflib.get_close_matches(key, known, n=1, cutoff=0.75)
            if close:
                self.warn(self.line_of_key(key) or line,
                          f"unknown key {key!r} in {where}; did you mean {close[0]!r}? (ignored)")


def _parse_inputs(h: _Header) -> list[IsfInput]:
    raw = h.data.get("INPUTS", [])
    if not isinstance(raw, list):
        raise h.error(h.line_of_key("INPUTS"), "INPUTS must be a list of objects")
    inputs: list[IsfInput] = []
    seen: set[str] = set()
    for index, item in enumerate(raw):
        if not isinstance(item, dict):
            raise h.error(h.line_of_key("INPUTS"), f"INPUTS[{index}] must be an object, got {item!r}")
        name = item.get("NAME")
        if not isinstance(name, str):
            raise h.error(h.line_of_key("INPUTS"), f"INPUTS[{index}] needs a NAME string")
        line = h.line_of_value("NAME", name) or h.line_of_key("INPUTS")
        _check_identifier(h, name, f"input name {name!r}", line, allow=RENAMABLE_KEYWORDS)
        if name in RENAMABLE_KEYWORDS:
            h.warn(line, f"input name {name!r} is reserved in GLSL 3.30; its uniform is "
                         f"{RENAMED_INPUT_PREFIX}{name}")
        if name in seen:
            raise h.error(line, f"input {name!r} is declared twice")
        seen.add(name)
        h.check_keys(item, _INPUT_KEYS, f"input {name!r}", line)
        inputs.append(_parse_input(h, item, name, line))
    return inputs


def _check_identifier(h: _Header, name: str, what: str, line: int | None,
                      allow: frozenset[str] = frozenset()) -> None:
    if not _IDENTIFIER_RE.match(name):
        raise h.error(line, f"{what} is not a valid GLSL identifier (letters, digits, _; no "
                            "leading digit)")
    reserved = name in _GLSL_KEYWORDS and name not in allow
    if name.startswith("gl_") or reserved or name in GENERATED_NAMES:
        raise h.error(line, f"{what} is reserved in GLSL or by the ISF translator")


def _parse_input(h: _Header, item: dict, name: str, line: int | None) -> IsfInput:
    kind = item.get("TYPE")
    if kind not in ISF_TYPES:
        fixed = next((t for t in ISF_TYPES if isinstance(kind, str) and t.lower() == kind.lower()), None)
        if fixed is None:
            raise h.error(line, f"input {name!r} has TYPE {kind!r}; allowed: {', '.join(ISF_TYPES)}")
        h.warn(line, f"input {name!r}: TYPE {kind!r} read as {fixed!r}")
        kind = fixed
    label = item.get("LABEL") or None  # null or "": no label
    if label is not None and not isinstance(label, str):
        raise h.error(line, f"input {name!r}: LABEL must be a string")

    def bad(key: str, expected: str) -> ShaderSourceError:
        return h.error(line, f"input {name!r} ({kind}): {key} must be {expected}, got {item[key]!r}")

    if kind in ("image",):
        return IsfInput(name, kind, label=label, line=line)
    if kind in ("audio", "audioFFT"):
        samples = item.get("MAX")
        if samples is not None and not (_is_number(samples) and samples >= 1 and samples == int(samples)):
            raise bad("MAX", "a positive whole number of samples")
        return IsfInput(name, kind, max=None if samples is None else int(samples), label=label, line=line)
    if kind in ("event", "bool"):
        for key in ("DEFAULT", "IDENTITY"):
            word = item.get(key)
            if isinstance(word, str) and word.strip().lower() in _BOOL_WORDS:
                # Some editors wrote "FALSE"/"TRUE" as strings: read them by their meaning.
                item = {**item, key: _BOOL_WORDS[word.strip().lower()]}
                h.warn(line, f"input {name!r}: {key} {word!r} read as "
                             f"{str(item[key]).lower()}")
        default = _read_bool(item, "DEFAULT", bad, False) if kind == "bool" else False
        identity = _read_bool(item, "IDENTITY", bad, None)
        return IsfInput(name, kind, default=default, label=label, identity=identity, line=line)
    if kind == "long":
        return _parse_long(h, item, name, line, label, bad)
    if kind == "float":
        lo = _read_number(item, "MIN", bad)
        hi = _read_number(item, "MAX", bad)
        default = _read_number(item, "DEFAULT", bad)
        identity = _read_number(item, "IDENTITY", bad)
        if default is None:  # 0, moved into MIN..MAX when that excludes 0
            default = 0.0
            default = max(default, lo) if lo is not None else default
            default = min(default, hi) if hi is not None else default
        return _checked(h, IsfInput(name, kind, default=default, min=lo, max=hi, label=label,
                                    identity=identity, line=line))
    size = {"point2D": 2, "point3D": 3}.get(kind, 4)
    lo = _read_vector(item, "MIN", size, bad)
    hi = _read_vector(item, "MAX", size, bad)
    default = _read_vector(item, "DEFAULT", size, bad)
    identity = _read_vector(item, "IDENTITY", size, bad)
    if default is None:
        default = (0.0,) * size if size < 4 else (0.0, 0.0, 0.0, 1.0)
        if lo is not None or hi is not None:
            default = tuple(min(max(d, lo[i] if lo else d), hi[i] if hi else d)
                            for i, d in enumerate(default))
    return _checked(h, IsfInput(name, kind, default=default, min=lo, max=hi, label=label,
                                identity=identity, line=line))


#: Strings read as a bool DEFAULT/IDENTITY (lower-cased), with a warning.
_BOOL_WORDS = {"true": True, "false": False, "1": True, "0": False}


def _read_bool(item: dict, key: str, bad: Callable, fallback: Any) -> Any:
    if key not in item:
        return fallback
    value = item[key]
    if isinstance(value, bool):
        return value
    if _is_number(value):  # ISF files often write 0/1 or 1.0 for booleans
        return value != 0
    raise bad(key, "true/false or 0/1")


def _read_number(item: dict, key: str, bad: Callable) -> float | None:
    if key not in item:
        return None
    if not _is_number(item[key]):
        raise bad(key, "a number")
    return float(item[key])


def _read_vector(item: dict, key: str, size: int, bad: Callable) -> tuple[float, ...] | None:
    if key not in item:
        return None
    value = item[key]
    ok_sizes = (3, 4) if size == 4 else (size,)
    if not isinstance(value, list) or len(value) not in ok_sizes or not all(_is_number(v) for v in value):
        raise bad(key, f"a list of {' or '.join(str(s) for s in ok_sizes)} numbers")
    values = [float(v) for v in value]
    if size == 4 and len(values) == 3:
        values.append(1.0)
    return tuple(values)


def _parse_long(h: _Header, item: dict, name: str, line: int | None, label: str | None,
                bad: Callable) -> IsfInput:
    values = item.get("VALUES")
    labels = item.get("LABELS")
    if values is not None:
        if not isinstance(values, list) or not values or not all(
                _is_number(v) and v == int(v) for v in values):
            raise bad("VALUES", "a non-empty list of integers")
        values = tuple(int(v) for v in values)
    if labels is not None:
        if not isinstance(labels, list) or not all(isinstance(s, str) for s in labels):
            raise bad("LABELS", "a list of strings")
        labels = tuple(labels)
        if values is None:
            values = tuple(range(len(labels)))
        elif len(labels) != len(values):
            raise h.error(line, f"input {name!r} (long): LABELS has {len(labels)} entries but "
                                f"VALUES has {len(values)}; they must match one to one")
    elif values is not None:
        labels = tuple(str(v) for v in values)
    lo = _read_whole(item, "MIN", bad)
    hi = _read_whole(item, "MAX", bad)
    default = _read_whole(item, "DEFAULT", bad)
    identity = _read_whole(item, "IDENTITY", bad)
    if default is None:
        default = values[0] if values else (lo if lo is not None and lo > 0 else 0)
    inp = IsfInput(name, "long", default=default, min=lo, max=hi, values=values, labels=labels,
                   label=label, identity=identity, line=line)
    return _checked(h, inp)


def _read_whole(item: dict, key: str, bad: Callable) -> int | None:
    if key not in item:
        return None
    value = item[key]
    if not _is_number(value) or value != int(value):
        raise bad(key, "a whole number")
    return int(value)


def _checked(h: _Header, inp: IsfInput) -> IsfInput:
    """Check MIN <= MAX and that DEFAULT/IDENTITY are allowed values of the input."""
    if inp.min is not None and inp.max is not None:
        pairs = zip(inp.min, inp.max, strict=True) if isinstance(inp.min, tuple) else [(inp.min, inp.max)]
        if any(lo > hi for lo, hi in pairs):
            raise h.error(inp.line, f"input {inp.name!r}: MIN {inp.min} is greater than MAX {inp.max}")
    for key, value in (("DEFAULT", inp.default), ("IDENTITY", inp.identity)):
        if value is None:
            continue
        try:
            _normalise_value(inp, value, h.file)
        except ShaderParamError as exc:
            fixed = _into_range(inp, value)
            if fixed is None:
                raise h.error(inp.line, f"input {inp.name!r}: {key} {exc.message}") from None
            # Hosts such as VDMX clamp a DEFAULT outside MIN..MAX and play the file, and
            # published collections hold such files: clamp too, and say so.
            h.warn(inp.line, f"input {inp.name!r}: {key} {exc.message}; using {fixed!r}")
            inp = replace(inp, **{key.lower(): fixed})
    return inp


def _into_range(inp: IsfInput, value: Any) -> Any:
    """``value`` (of the right type) moved into the input's range or onto its first menu
    value; None where the value is of the wrong type or shape, which stays an error."""
    if inp.type == "long" and _is_number(value) and float(value) == int(value):
        if inp.values is not None:
            return inp.values[0]
        return int(min(max(value, inp.min if inp.min is not None else value),
                       inp.max if inp.max is not None else value))
    if inp.type == "float" and _is_number(value):
        return _clamp(float(value), inp.min, inp.max)
    if inp.type in ("point2D", "point3D", "color") and isinstance(value, (list, tuple)) \
            and all(_is_number(v) for v in value):
        size = {"point2D": 2, "point3D": 3}.get(inp.type, 4)
        items = [float(v) for v in value] + ([1.0] if inp.type == "color" and len(value) == 3 else [])
        if len(items) != size:
            return None
        return tuple(_clamp(v, None if inp.min is None else inp.min[i],
                            None if inp.max is None else inp.max[i]) for i, v in enumerate(items))
    return None


def _clamp(value: float, lo: float | None, hi: float | None) -> float:
    if lo is not None:
        value = max(value, lo)
    if hi is not None:
        value = min(value, hi)
    return value


def _parse_passes(h: _Header, input_names: set[str]) -> tuple[list[IsfPass], list[int | None]]:
    raw = h.data.get("PASSES")
    passes_line = h.line_of_key("PASSES")
    if raw is None or raw == []:
        return [IsfPass()], [None]
    if isinstance(raw, dict):  # a single pass written without the list
        raw = [raw]
    if not isinstance(raw, list):
        raise h.error(passes_line, "PASSES must be a list of objects")
    legacy = _legacy_persistent_buffers(h)
    passes: list[IsfPass] = []
    lines: list[int | None] = []
    first_by_target: dict[str, IsfPass] = {}
    for index, item in enumerate(raw):
        if not isinstance(item, dict):
            raise h.error(passes_line, f"PASSES[{index}] must be an object, got {item!r}")
        target = item.get("TARGET")
        line = (h.line_of_value("TARGET", target) if isinstance(target, str) else None) or passes_line
        h.check_keys(item, _PASS_KEYS, f"PASSES[{index}]", line)
        if target is not None:
            if not isinstance(target, str):
                raise h.error(line, f"PASSES[{index}]: TARGET must be a string, got {target!r}")
            _check_identifier(h, target, f"pass target {target!r}", line)
            if target in input_names:
                raise h.error(line, f"pass target {target!r} has the same name as an input")
        extra = legacy.get(target, {}) if target else {}
        persistent = _read_flag(h, item, "PERSISTENT", index, line) or target in legacy
        is_float = _read_flag(h, item, "FLOAT", index, line) or bool(extra.get("FLOAT", False))
        sizes = []
        for key in ("WIDTH", "HEIGHT"):
            value = item.get(key, extra.get(key))
            if value is None:
                sizes.append(None)
                continue
            if _is_number(value):
                value = repr(float(value)) if value != int(value) else str(int(value))
            if not isinstance(value, str):
                raise h.error(line, f"PASSES[{index}]: {key} must be an expression string like "
                                    f"\"$WIDTH/2\", got {value!r}")
            try:
                expression = parse_size_expression(value)
            except SizeExpressionError as exc:
                raise h.error(line, f"PASSES[{index}] {key}: {exc}") from None
            unknown = expression.variables - {"WIDTH", "HEIGHT"} - input_names
            if unknown:
                raise h.error(line, f"PASSES[{index}] {key} {value!r} uses "
                                    f"{', '.join('$' + u for u in sorted(unknown))}, which is not "
                                    f"$WIDTH, $HEIGHT or an input")
            sizes.append(value)
        this = IsfPass(target if target else None, bool(persistent), bool(is_float), sizes[0], sizes[1])
        if this.target is not None and this.target in first_by_target:
            # Later passes may render into a buffer again; the first pass defines the buffer.
            first = first_by_target[this.target]
            explicit = {k for k in ("PERSISTENT", "FLOAT", "WIDTH", "HEIGHT") if k in item}
            if explicit and (first.persistent, first.float, first.width, first.height) != (
                    this.persistent, this.float, this.width, this.height):
                raise h.error(line, f"PASSES[{index}] renders into {target!r} again but with "
                                    "different PERSISTENT/FLOAT/WIDTH/HEIGHT; the first pass naming "
                                    "a buffer defines it")
            this = first
        elif this.target is not None:
            first_by_target[this.target] = this
        passes.append(this)
        lines.append(line)
    for name in legacy:
        if name not in first_by_target:
            h.warn(h.line_of_key("PERSISTENT_BUFFERS"),
                   f"persistent buffer {name!r} is never the TARGET of a pass (ignored)")
    return passes, lines


def _read_flag(h: _Header, item: dict, key: str, index: int, line: int | None) -> bool:
    value = item.get(key, False)
    if isinstance(value, bool):
        return value
    if _is_number(value):
        return value > 0
    if isinstance(value, str) and value.lower() in ("true", "false", "1", "0"):
        return value.lower() in ("true", "1")
    raise h.error(line, f"PASSES[{index}]: {key} must be true or false, got {value!r}")


def _legacy_persistent_buffers(h: _Header) -> dict[str, dict]:
    """ISF 1.0's top-level PERSISTENT_BUFFERS (a list of names or name -> properties)."""
    raw = h.data.get("PERSISTENT_BUFFERS")
    if raw is None:
        return {}
    line = h.line_of_key("PERSISTENT_BUFFERS")
    if isinstance(raw, str):
        raw = [raw]
    if isinstance(raw, list) and all(isinstance(n, str) for n in raw):
        return {n: {} for n in raw}
    if isinstance(raw, dict) and all(isinstance(v, dict) for v in raw.values()):
        return {str(k): v for k, v in raw.items()}
    raise h.error(line, "PERSISTENT_BUFFERS must be a list of names or an object of name -> {...}")


def _parse_imported(h: _Header, path: Path, taken: set[str]
                    ) -> tuple[dict[str, Path], dict[str, ImportedCube]]:
    raw = h.data.get("IMPORTED")
    if raw is None:
        return {}, {}
    line = h.line_of_key("IMPORTED")
    entries: list[tuple[str, Any]] = []
    if isinstance(raw, dict):
        entries = [(str(k), v) for k, v in raw.items()]
    elif isinstance(raw, list):  # ISF 1.0: [{"NAME": ..., "PATH": ...}]
        for item in raw:
            if not isinstance(item, dict) or not isinstance(item.get("NAME"), str):
                raise h.error(line, "IMPORTED entries of a list need a NAME and a PATH")
            entries.append((item["NAME"], item))
    else:
        raise h.error(line, "IMPORTED must be an object of name -> {\"PATH\": \"file.png\"}")
    imported: dict[str, Path] = {}
    cubes: dict[str, ImportedCube] = {}
    for name, spec in entries:
        entry_line = h.line_of_key(name) or h.line_of_value("NAME", name) or line
        _check_identifier(h, name, f"imported image name {name!r}", entry_line)
        if name in taken or name in imported or name in cubes:
            raise h.error(entry_line, f"imported image {name!r} has the same name as an input or "
                                      "pass target")
        file = spec.get("PATH") if isinstance(spec, dict) else None
        kind = spec.get("TYPE") if isinstance(spec, dict) else None
        if isinstance(file, list) or kind == "cube":
            cubes[name] = _parse_cube(h, path, name, file, entry_line)
            continue
        if not isinstance(file, str) or not file:
            raise h.error(entry_line, f"imported image {name!r} needs a PATH string")
        resolved = (path.parent / file).resolve()
        if not resolved.is_file():
            raise h.error(entry_line, f"imported image {name!r}: file {display_path(resolved)} "
                                      "does not exist (PATH is relative to the shader file)")
        imported[name] = resolved
    return imported, cubes


def _parse_cube(h: _Header, path: Path, name: str, file: Any, line: int | None) -> ImportedCube:
    """An IMPORTED cube map: PATH lists six image files, faces +X, -X, +Y, -Y, +Z, -Z."""
    order = ", ".join(CUBE_FACE_NAMES)
    if not isinstance(file, list) or not all(isinstance(f, str) and f for f in file):
        raise h.error(line, f"imported cube map {name!r} needs a PATH list of six image files "
                            f"({order})")
    if len(file) != len(CUBE_FACE_NAMES):
        raise h.error(line, f"imported cube map {name!r} has {len(file)} PATH entries; a cube "
                            f"map needs six ({order})")
    faces = []
    for face, entry in zip(CUBE_FACE_NAMES, file, strict=True):
        resolved = (path.parent / entry).resolve()
        if not resolved.is_file():
            raise h.error(line, f"imported cube map {name!r}: face {face} file "
                                f"{display_path(resolved)} does not exist (PATH is relative to "
                                "the shader file)")
        faces.append(resolved)
    return ImportedCube(tuple(faces), line)


def _kind(inputs: Sequence[IsfInput]) -> str:
    types = {inp.name: inp.type for inp in inputs}
    if types.get("startImage") == "image" and types.get("endImage") == "image" and \
            types.get("progress") == "float":
        return "transition"
    if types.get("inputImage") == "image":
        return "filter"
    return "generator"


def _text_list(h: _Header, key: str) -> list[str]:
    # JSON null means "not given": exporters (the ISF editor among them) write it for
    # empty metadata.
    value = h.data.get(key) or []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise h.error(h.line_of_key(key), f"{key} must be a list of strings")
    return list(value)


def _text(h: _Header, key: str) -> str:
    value = h.data.get(key)
    if value is None:  # null: not given, as for _text_list
        return ""
    if not isinstance(value, str):
        raise h.error(h.line_of_key(key), f"{key} must be a string, got {value!r}")
    return value


# --------------------------------------------------------------------------------------------
# GLSL translation
# --------------------------------------------------------------------------------------------

_ENGINE_DECL_RE = re.compile(r"^\s*uniform\s+\w+\s+([A-Za-z_]\w*)\s*(?:\[\s*\d+\s*\])?\s*;")
_VERSION_RE = re.compile(r"^\s*#\s*version\b")
_EXTENSION_RE = re.compile(r"^\s*#\s*extension\b")
_DEFINE_RE = re.compile(r"^\s*#\s*define\s+([A-Za-z_]\w*)", re.MULTILINE)
_OWN_OUTPUT_RE = re.compile(
    r"(?:^|;|\})\s*(?:layout\s*\([^)]*\)\s*)?out\s+(?:(?:highp|mediump|lowp)\s+)?vec4\s+"
    r"([A-Za-z_]\w*)", re.MULTILINE)
_DISCARD_RE = re.compile(r"\bdiscard\b")
_IDENT_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Rewrites of pre-330 GLSL and ISF 1.0 names, applied to every body line (comments included:
# harmless there).
_MAIN_DEF_RE = re.compile(r"\bvoid\s+main\s*\(")
_COMMON_REWRITES = [
    (re.compile(r"\btexture2D(Lod|Proj|ProjLod|Grad)?\s*\("), lambda m: f"texture{m.group(1) or ''}("),
    (re.compile(r"\btextureCube\s*\("), lambda m: "texture("),
    (re.compile(r"\bvv_FragNormCoord\b"), lambda m: "isf_FragNormCoord"),
    (re.compile(r"\bvv_vertShaderInit\b"), lambda m: "isf_vertShaderInit"),
]
#: A GLSL Sandbox converter's slip found in public collections: ``gl_FragCoord.xy / resolution.y``
#: became ``isf_FragNormCoord *.y``, which no compiler takes; read as what it was.
_CONVERTER_SLIP_RE = re.compile(r"\bisf_FragNormCoord\s*\*\s*\.([xy])\b")
_FRAGMENT_REWRITES = [
    (_CONVERTER_SLIP_RE, lambda m: f"(gl_FragCoord.xy / RENDERSIZE.{m.group(1)})"),
    (re.compile(r"\bgl_FragColor\b"), lambda m: "isf_FragColor"),
    (re.compile(r"\bgl_FragData\s*\[\s*0\s*\]"), lambda m: "isf_FragColor"),
    (re.compile(r"\bvarying\b"), lambda m: "in"),
    # The file's main becomes isf_main, called by a main of ours that first sets the output
    # to opaque black (see _assemble): GLSL leaves unwritten output components undefined.
    (_MAIN_DEF_RE, lambda m: "void isf_main("),
]
_VERTEX_REWRITES = [
    (re.compile(r"\bvarying\b"), lambda m: "out"),
    (re.compile(r"\battribute\b"), lambda m: "in"),
]


# Words GLSL 330 reserves for future use that old shaders use as names (``float half = 0.5``):
# Mesa and glslang refuse them, some drivers accept them. Renamed with a trailing "_".
RENAMED_RESERVED_WORDS = ("half", "input", "output", "filter", "common", "partition", "active",
                          "fixed", "superp", "sizeof", "cast", "namespace", "using", "packed",
                          "inline", "noinline", "public", "static", "extern", "external",
                          "interface", "template", "this", "goto", "union", "class", "enum",
                          "typedef", "volatile", "unsigned", "short", "long", "asm")
_RESERVED_WORD_RE = re.compile(r"(?<![\w.])\b(?:" + "|".join(RENAMED_RESERVED_WORDS) + r")\b")
# Interpolation qualifiers of GLSL 1.30+ that 1.x files use as names (``vec2 smooth(vec2 x)``):
# renamed with a trailing "_" unless they qualify a declaration (``flat in vec3 n;``).
_QUALIFIER_NAME_RE = re.compile(
    r"(?<![\w.])\b(?:smooth|flat|noperspective)\b(?!\s+(?:in|out|varying|centroid|uniform|"
    r"highp|mediump|lowp|float|int|uint|bool|[iub]?vec[234]|mat[234](?:x[234])?)\b)")
# A body that declares a name the translator declares (old files wrote
# ``varying vec2 isf_FragNormCoord;``) would declare it twice: the line is dropped.
_GENERATED_DECL_RE = re.compile(
    r"^\s*(?:varying|in|out)\s+(?:(?:highp|mediump|lowp)\s+)?vec2\s+"
    r"(?:isf_FragNormCoord|vv_FragNormCoord|isf_Position)\s*;")


def compat_helpers(identifiers: frozenset[str] | set[str], declared: set[str],
                   images: Sequence[str]) -> list[str]:
    """GLSL lines giving meaning to names some ISF files use without declaring them.

    - ``_<image>_imgSize``, ``_<image>_imgRect`` and ``_<image>_flip``: per-image uniforms of
      ISF 1.0 hosts, which files saved after VDMX's macro expansion still name;
    - ``VVSAMPLER_2DBYPIXEL``/``VVSAMPLER_2DBYNORM`` and the ``...RECT`` forms: what VDMX
      expands IMG_PIXEL and IMG_NORM_PIXEL into;
    - HLSL words NVIDIA's compiler accepts in GLSL: ``saturate``, ``lerp``, ``frac``,
      ``atan2``, ``fmod``, ``rsqrt``, ``float2``..``float4``.

    Only names the code uses (``identifiers``) and does not declare itself (``declared``) get
    a definition, so nothing changes for files that do not need them. Any thread.
    """
    out: list[str] = []
    for image in images:
        if f"_{image}_imgSize" in identifiers:
            out.append(f"#define _{image}_imgSize vec2(textureSize({image}, 0))")
        if f"_{image}_imgRect" in identifiers:
            out.append(f"#define _{image}_imgRect vec4(0.0, 0.0, vec2(textureSize({image}, 0)))")
        if f"_{image}_flip" in identifiers:
            out.append(f"#define _{image}_flip false")
    wanted = (identifiers - declared)
    if wanted & {"VVSAMPLER_2DBYPIXEL", "VVSAMPLER_2DRECTBYPIXEL"}:
        out.append("vec4 VVSAMPLER_2DBYPIXEL(sampler2D s, vec4 r, vec2 size, bool f, vec2 p) "
                   "{ return texture(s, p / vec2(textureSize(s, 0))); }")
        out.append("#define VVSAMPLER_2DRECTBYPIXEL VVSAMPLER_2DBYPIXEL")
    if wanted & {"VVSAMPLER_2DBYNORM", "VVSAMPLER_2DRECTBYNORM"}:
        out.append("vec4 VVSAMPLER_2DBYNORM(sampler2D s, vec4 r, vec2 size, bool f, vec2 p) "
                   "{ return texture(s, p); }")
        out.append("#define VVSAMPLER_2DRECTBYNORM VVSAMPLER_2DBYNORM")
    for n in ("float2", "float3", "float4"):
        if n in wanted:
            out.append(f"#define {n} vec{n[-1]}")
    if "saturate" in wanted:
        out.extend(f"{t} saturate({t} x) {{ return clamp(x, 0.0, 1.0); }}"
                   for t in ("float", "vec2", "vec3", "vec4"))
    for name, body in (("lerp", "mix"), ("frac", "fract"), ("atan2", "atan"), ("fmod", "mod"),
                       ("rsqrt", "inversesqrt")):
        if name in wanted:
            out.append(f"#define {name} {body}")
    return out


def strip_comments(code: str) -> str:
    """``code`` with ``//`` and ``/* */`` comments blanked out, newlines kept. Any thread."""
    out: list[str] = []
    i, n = 0, len(code)
    while i < n:
        if code.startswith("//", i):
            end = code.find("\n", i)
            i = n if end < 0 else end
        elif code.startswith("/*", i):
            end = code.find("*/", i + 2)
            chunk = code[i: n if end < 0 else end + 2]
            out.append("\n" * chunk.count("\n") or " ")
            i = n if end < 0 else end + 2
        else:
            out.append(code[i])
            i += 1
    return "".join(out)


def global_declared_names(code: str, candidates: Sequence[str]) -> set[str]:
    """Which ``candidates`` the GLSL ``code`` declares at global scope or ``#define``s.

    A declaration is ``<type> NAME`` followed by ``;``, ``=``, ``[``, ``,`` or ``(`` outside
    any braces and parentheses (so function parameters and locals, which may legally shadow a
    uniform, do not count). Used to leave out engine uniforms a third-party file declares
    itself. Any thread.
    """
    plain = strip_comments(code)
    defined = set(_DEFINE_RE.findall(plain))
    top_text = _top_level_text(plain)
    found = set()
    for name in candidates:
        if name in defined or re.search(r"\b[A-Za-z_]\w*\s+" + re.escape(name) + r"\s*[;=\[,(]", top_text):
            found.add(name)
    return found


def _top_level_text(plain: str) -> str:
    """``plain`` (comments stripped) with everything inside braces and parentheses blanked.

    Opening brackets at top level are kept (``name(`` marks a function); newlines are kept.
    """
    top: list[str] = []
    depth = 0
    for ch in plain:
        if ch in "{(":
            top.append(ch if depth == 0 else " ")
            depth += 1
        elif ch in "})":
            depth = max(0, depth - 1)
            top.append(" ")
        else:
            top.append(ch if depth == 0 or ch == "\n" else " ")
    return "".join(top)


# A global stage variable: ``[flat|smooth|noperspective|centroid] in|out [precision] TYPE NAME[N];``
# (after the rewrites, so ``varying`` already reads ``in``/``out``).
_STAGE_VARIABLE_RE = re.compile(
    r"(?:^|(?<=[;}\n]))\s*((?:(?:flat|smooth|noperspective|centroid)\s+)*)(in|out)\s+"
    r"(?:(?:highp|mediump|lowp)\s+)?([A-Za-z_]\w*)\s+([A-Za-z_]\w*)\s*(?:\[\s*(\d+)\s*\])?\s*;")
# The value a fragment input gets when no vertex shader writes it, by type. A vec2 in ISF files
# is a texture coordinate (VIDVOX's left_coord, texOffsets[i]...), so it reads this fragment's
# own normalised coordinate: neighbour lookups then sample the pixel itself (a blur becomes the
# identity, an edge detector sees no edge) instead of the corner pixel 0 would give.
_NEUTRAL_VALUES = {
    "float": "0.0", "vec2": "isf_Position * 0.5 + 0.5", "vec3": "vec3(0.0)", "vec4": "vec4(0.0)",
    "int": "0", "ivec2": "ivec2(0)", "ivec3": "ivec3(0)", "ivec4": "ivec4(0)",
    "uint": "0u", "uvec2": "uvec2(0u)", "uvec3": "uvec3(0u)", "uvec4": "uvec4(0u)",
    "mat2": "mat2(1.0)", "mat3": "mat3(1.0)", "mat4": "mat4(1.0)",
}


@dataclass(frozen=True)
class StageVariable:
    """A global ``in`` or ``out`` variable of one shader stage (arrays have a ``size``)."""

    qualifiers: str
    direction: str
    type_name: str
    name: str
    size: int | None


def stage_variables(plain: str, direction: str) -> dict[str, StageVariable]:
    """The global ``direction`` (``"in"`` or ``"out"``) variables that GLSL ``plain`` declares.

    ``plain`` is a rewritten body with comments stripped. A name declared in both branches of
    an ``#if`` (VIDVOX files declare ``varying`` for GLSL 1.20 and ``in`` otherwise) counts
    once. Any thread.
    """
    found: dict[str, StageVariable] = {}
    for m in _STAGE_VARIABLE_RE.finditer(_top_level_text(plain)):
        if m.group(2) != direction or m.group(4) in found:
            continue
        found[m.group(4)] = StageVariable(" ".join(m.group(1).split()), m.group(2), m.group(3),
                                          m.group(4), int(m.group(5)) if m.group(5) else None)
    return found


def feed_unwritten_fragment_inputs(fragment_plain: str, vertex_plain: str
                                   ) -> tuple[list[str], list[str], list[StageVariable]]:
    """Vertex-stage lines that write every fragment input the vertex body does not declare.

    Old ISF filters read ``varying`` coordinates their companion ``.vs`` computes; when the
    ``.vs`` is missing (or does not declare one of them), GLSL 1.50+ drivers refuse to link
    and others leave the value undefined (Mesa: 0). Returns (declarations, assignments, the
    inputs fed): ``out`` declarations for the vertex stage and statements that give each input
    its neutral value (see _NEUTRAL_VALUES); inputs of types without one (structs) are left
    alone. Any thread.
    """
    outputs = stage_variables(vertex_plain, "out")
    declarations: list[str] = []
    assignments: list[str] = []
    fed: list[StageVariable] = []
    for var in stage_variables(fragment_plain, "in").values():
        value = _NEUTRAL_VALUES.get(var.type_name)
        if var.name in outputs or value is None:
            continue
        qualifiers = f"{var.qualifiers} " if var.qualifiers else ""
        if var.size is None:
            declarations.append(f"{qualifiers}out {var.type_name} {var.name};")
            assignments.append(f"{var.name} = {value};")
        else:
            declarations.append(f"{qualifiers}out {var.type_name} {var.name}[{var.size}];")
            assignments.append(f"for (int isf_i = 0; isf_i < {var.size}; ++isf_i) "
                               f"{var.name}[isf_i] = {value};")
        fed.append(var)
    return declarations, assignments, fed


def engine_uniform_names(engine_file: Path = ENGINE_GLSL) -> list[str]:
    """Names of the uniforms declared in ``shaders/common/engine.glsl``, in file order.

    Any thread; reads the file.
    """
    text = read_shader_file(engine_file)
    return [m.group(1) for m in (_ENGINE_DECL_RE.match(line) for line in text.split("\n")) if m]


def _append_file(out: MappedSource, path: Path, skip_names: set[str]) -> None:
    """Append a common/ file, commenting out uniform declarations of ``skip_names``."""
    shown = display_path(path)
    for number, line in enumerate(read_shader_file(path).split("\n"), start=1):
        match = _ENGINE_DECL_RE.match(line)
        if match and match.group(1) in skip_names:
            line = f"// {match.group(1)}: the shader's own name (its declaration, INPUT, TARGET or image)"
        out.append(line, shown, number)


@dataclass
class _Body:
    """A stage's GLSL body after include expansion and rewriting, with facts about it."""

    source: MappedSource
    extensions: list[tuple[str, str, int | None]]
    plain_text: str


# ---- other formats that look like ISF ------------------------------------------------------

#: Entry points of MadMapper's materials (surface, laser and vector materials), not ISF's main().
_MADMAPPER_ENTRY_RE = re.compile(
    r"\b(?:vec4\s+materialColorForPixel|void\s+(?:laser|vector)MaterialFunc)\s*\(")


def _refuse_madmapper_material(split: SplitSource, shown: str) -> None:
    """Name a MadMapper material for what it is instead of failing on its first missing symbol.

    MadMapper's materials borrow ISF's header but are another format: a
    ``materialColorForPixel(texCoord)`` (or laser/vector) function instead of main(), animated
    values declared under GENERATORS, and MadMapper's own GLSL libraries (MadCommon.glsl,
    MadNoise.glsl, MadSDF.glsl) that ship with MadMapper, not with the files.
    """
    header = split.header or {}
    kind = header.get("RESOURCE_TYPE")
    is_material = isinstance(kind, str) and "madmapper" in kind.lower()
    if not is_material and _MADMAPPER_ENTRY_RE.search(split.body) and "main(" not in split.body:
        is_material = True
    if is_material:
        raise UnsupportedFeatureError(
            shown, split.header_line,
            f"a MadMapper material ({kind or 'materialColorForPixel() instead of main()'}), not "
            "an ISF file: it needs MadMapper's GENERATORS and its MadCommon/MadNoise/MadSDF "
            "libraries", "madmapper_material")


# ---- user functions that redefine a built-in -------------------------------------------------

def _builtin_signatures() -> frozenset[tuple[str, str, tuple[str, ...]]]:
    """(name, return type, parameter types) of the GLSL 3.30 math built-ins that old files
    sometimes define again themselves (GLSL 1.20 let a definition hide the built-in)."""
    floats = ("float", "vec2", "vec3", "vec4")
    ints = ("int", "ivec2", "ivec3", "ivec4")
    uints = ("uint", "uvec2", "uvec3", "uvec4")
    out: set[tuple[str, str, tuple[str, ...]]] = set()
    for family, scalar in ((floats, "float"), (ints, "int"), (uints, "uint")):
        for t in family:
            for name in ("min", "max"):
                out |= {(name, t, (t, t)), (name, t, (t, scalar))}
            out |= {("clamp", t, (t, t, t)), ("clamp", t, (t, scalar, scalar))}
            if family is not uints:
                out |= {("abs", t, (t,)), ("sign", t, (t,))}
    for t in floats:
        out |= {("mod", t, (t, t)), ("mod", t, (t, "float")), ("mix", t, (t, t, t)),
                ("mix", t, (t, t, "float")), ("step", t, (t, t)), ("step", t, ("float", t)),
                ("smoothstep", t, (t, t, t)), ("smoothstep", t, ("float", "float", t)),
                ("pow", t, (t, t)), ("atan", t, (t, t)), ("reflect", t, (t, t)),
                ("length", "float", (t,)), ("distance", "float", (t, t)), ("dot", "float", (t, t)),
                ("normalize", t, (t,))}
        for name in ("fract", "floor", "ceil", "round", "trunc", "sqrt", "inversesqrt", "exp",
                     "log", "exp2", "log2", "sin", "cos", "tan", "asin", "acos", "atan",
                     "radians", "degrees"):
            out.add((name, t, (t,)))
    out.add(("cross", "vec3", ("vec3", "vec3")))
    return frozenset(out)


_BUILTIN_SIGNATURES = _builtin_signatures()
_BUILTIN_NAMES = frozenset(name for name, _, _ in _BUILTIN_SIGNATURES)
_FUNCTION_DEF_RE = re.compile(
    r"^[ \t]*(?:highp |mediump |lowp )?(\w+)\s+(\w+)\s*\(([^()]*)\)\s*\{", re.MULTILINE)
_PARAM_TYPE_RE = re.compile(r"^(?:(?:const|in|highp|mediump|lowp)\s+)*(\w+)\s+\w+\s*$")


def _drop_builtin_redefinitions(body: MappedSource) -> list[tuple[int | None, str]]:
    """Blank user functions whose signature is exactly a built-in's (``int min(int a, int b)``).

    GLSL 1.20 let such a definition hide the built-in and most drivers still compile it, but
    Mesa's 3.30 then hides every other overload of the name (``min(float, float)`` stops
    compiling). The built-in computes the same thing, so the copy is dropped; its lines stay
    as blank lines so every other line keeps its number. Returns (file line, remark) pairs.
    """
    text = "\n".join(body.lines)
    plain = strip_comments(text)
    if not any(name in plain for name in _BUILTIN_NAMES):
        return []
    remarks: list[tuple[int | None, str]] = []
    spans: list[tuple[int, int]] = []
    for match in _FUNCTION_DEF_RE.finditer(plain):
        ret, name, params = match.group(1), match.group(2), match.group(3).strip()
        if name not in _BUILTIN_NAMES:
            continue
        types = []
        for param in ([] if params in ("", "void") else params.split(",")):
            typed = _PARAM_TYPE_RE.match(param.strip())
            if typed is None:
                break
            types.append(typed.group(1))
        else:
            if (name, ret, tuple(types)) not in _BUILTIN_SIGNATURES:
                continue
            depth, end = 0, None
            for i in range(match.end() - 1, len(plain)):
                if plain[i] == "{":
                    depth += 1
                elif plain[i] == "}":
                    depth -= 1
                    if depth == 0:
                        end = i
                        break
            if end is None:
                continue
            first = plain.count("\n", 0, match.start())
            last = plain.count("\n", 0, end)
            if plain[end + 1:].split("\n", 1)[0].strip():
                continue  # code after the closing brace on its line: left alone
            spans.append((first, last))
            origin = body.origin(first + 1)
            remarks.append((origin.line if origin else None,
                            f"{ret} {name}({', '.join(types)}) redefines a GLSL built-in with the "
                            "same signature; the built-in is used (the file's copy is left out)"))
    for first, last in spans:
        for index in range(first, last + 1):
            body.replace_line(index, "")
    return remarks



def _prepare_body(text: str, path: Path, first_line: int, roots: Sequence[Path] | None,
                  stage: str, renamed_inputs: Sequence[IsfInput] = ()) -> _Body:
    expanded = expand_includes(text, path, first_line, roots)
    rewrites = _COMMON_REWRITES + (_FRAGMENT_REWRITES if stage == "fragment" else _VERTEX_REWRITES)
    # An input named like a built-in: every use that is not a call (nor a member after '.')
    # reads the renamed uniform.
    rewrites = rewrites + [(re.compile(rf"(?<![\w.]){re.escape(inp.name)}\b(?!\s*\()"),
                            lambda m, new=inp.uniform_name: new) for inp in renamed_inputs]
    rewrites = rewrites + [(_RESERVED_WORD_RE, lambda m: m.group(0) + "_"),
                           (_QUALIFIER_NAME_RE, lambda m: m.group(0) + "_"),
                           (_GENERATED_DECL_RE, lambda m: "")]
    body = MappedSource()
    extensions: list[tuple[str, str, int | None]] = []
    for line, origin in zip(expanded.lines, expanded.origins, strict=True):
        if _VERSION_RE.match(line):
            line = ""  # we emit #version 330 core ourselves
        elif _EXTENSION_RE.match(line):
            extensions.append((line.strip(), origin.file, origin.line))
            line = ""
        else:
            for pattern, replacement in rewrites:
                line = pattern.sub(replacement, line)
        body.append(line, origin.file, origin.line)
    return _Body(body, extensions, strip_comments("\n".join(body.lines)))


def _assemble(stage: str, body: _Body, declarations: list[tuple[str, int | None]],
              skip_engine: set[str], file: str, own_output: bool,
              helpers: Sequence[str] = (), fed_outputs: Sequence[str] = (),
              fed_assignments: Sequence[str] = ()) -> MappedSource:
    out = MappedSource()
    out.append("#version 330 core", file, None)
    for text, origin_file, origin_line in body.extensions:
        out.append(text, origin_file, origin_line)
    out.append(f"#define ISF_{stage.upper()}_SHADER 1", file, None)
    out.append("#define ECHOEL_LIVE 1", file, None)
    _append_file(out, ENGINE_GLSL, skip_engine)
    if stage == "fragment":
        out.append("in vec2 isf_FragNormCoord;", file, None)
        if not own_output:
            out.append("out vec4 isf_FragColor;", file, None)
    else:
        out.append("in vec2 isf_Position;", file, None)
        out.append("out vec2 isf_FragNormCoord;", file, None)
        for line in fed_outputs:
            out.append(line, file, None)
    for text, line in declarations:
        out.append(text, file, line)
    _append_file(out, ISF_GLSL, set())
    for line in helpers:
        out.append(line, file, None)
    out.extend(body.source)
    if stage == "fragment":
        # An output component the file never writes (``gl_FragColor.rgb = ...`` alone, or a
        # pass that writes nothing) is undefined in GLSL; drivers of the hosts these files
        # were made on showed such pixels, so it reads as opaque black here, not as the
        # transparent 0 Mesa happens to give. Alpha the file does write is kept as written.
        start = "" if own_output else "isf_FragColor = vec4(0.0, 0.0, 0.0, 1.0); "
        out.append(f"void main() {{ {start}isf_main(); }}", file, None)
    elif fed_assignments:
        # The vertex body's main was renamed isf_vs_main (see load_isf); the inputs it does
        # not write get their neutral values after it.
        out.append(f"void main() {{ isf_vs_main(); {' '.join(fed_assignments)} }}", file, None)
    # moderngl substitutes `#include "name"` anywhere in a source, comments included, and fails
    # on names it does not know. Real directives are expanded by now; whatever is left is in
    # comments, so break the pattern there.
    for index, line in enumerate(out.lines):
        if "#include" in line:
            out.replace_line(index, line.replace("#include", "# include"))
    return out


def _declaration_line(source: MappedSource, name: str) -> int | None:
    """The file line of the first ``in ... name`` declaration in ``source`` (for warnings)."""
    pattern = re.compile(rf"\bin\b[^;]*\b{re.escape(name)}\b")
    for line, origin in zip(source.lines, source.origins, strict=True):
        if pattern.search(line):
            return origin.line
    return None


def _default_vertex_body() -> str:
    return "void main() {\n    isf_vertShaderInit();\n}"


def load_isf(path: Path | str, roots: list[Path] | None = None) -> IsfShader:
    """Load an ISF 2.0 shader (or a plain GLSL fragment shader) and translate it to GLSL 330.

    ``path`` is a file; use shader_source.resolve_shader_path first to turn a name such as
    ``"warps/tunnel"`` into one. ``roots`` are the ``#include`` search roots (default:
    shader_source.default_search_roots()). A companion vertex shader with the same stem and
    suffix ``.vs`` (or ``.vert``) is used when present, as ISF specifies.

    Any thread (file reads only; call it at load time, not inside a frame).

    Raises:
        ShaderSourceError: naming the file and line for unreadable files, invalid JSON or header
            values, include errors, or a bad IMPORTED image.
    """
    path = Path(path)
    shown = display_path(path)
    text = read_shader_file(path)
    split = split_header(text, shown)
    if split.header is not None and split.header.get("MODE") == "VERTEX_SHADER_ART":
        # A vertexshaderart.com piece (VDMX's and ossia score's mode): see live/render/vsa.py.
        from live.render.vsa import load_vsa

        return load_vsa(path, split, roots)
    _refuse_madmapper_material(split, shown)
    h = _Header(split, shown)
    if split.header is not None:
        h.check_keys(split.header, _TOP_KEYS, "the header", split.header_line)
    inputs = _parse_inputs(h)
    input_names = {inp.name for inp in inputs}
    passes, pass_lines = _parse_passes(h, input_names)
    targets = [p.target for p in passes if p.target is not None]
    imported, cubes = _parse_imported(h, path, input_names | set(targets))
    if split.header is None:
        isf_version = ""
    else:
        raw_version = split.header.get("ISFVSN")
        isf_version = "1" if raw_version is None else str(raw_version)
        if isf_version.split(".")[0].isdigit() and int(isf_version.split(".")[0]) > 2:
            h.warn(h.line_of_key("ISFVSN"), f"written for ISF {isf_version}; only ISF 2.0 "
                                            "features are supported")

    renamed = [inp for inp in inputs if inp.uniform_name != inp.name]
    fragment_body = _prepare_body(split.body, path, split.body_line, roots, "fragment", renamed)
    for line, remark in _drop_builtin_redefinitions(fragment_body.source):
        h.warn(line, remark)
    for number, text in enumerate(split.body.split("\n"), start=split.body_line):
        if _CONVERTER_SLIP_RE.search(text):
            h.warn(number, "'isf_FragNormCoord *.x/.y' is not GLSL (a converter's slip); read as "
                           "'gl_FragCoord.xy / RENDERSIZE.x/.y'")
    vertex_path = next((path.with_suffix(s) for s in VERTEX_SUFFIXES
                        if path.with_suffix(s).is_file()), None)
    if vertex_path is not None:
        vertex_text = read_shader_file(vertex_path)
        vertex_body = _prepare_body(vertex_text, vertex_path, 1, roots, "vertex", renamed)
    else:
        vertex_body = _Body(MappedSource(), [], "")
        vertex_body.source.append_lines(_default_vertex_body(), shown, None)

    # Engine uniforms are left out where the shader uses the name for something of its own:
    # an input, target or imported image, or a global the body declares. The same set is left
    # out of both stages so a name never has two types across the link.
    engine_names = engine_uniform_names()
    own = input_names | set(targets) | set(imported) | set(cubes)
    own |= global_declared_names(fragment_body.plain_text, engine_names)
    own |= global_declared_names(vertex_body.plain_text, engine_names)
    skip_engine = own & set(engine_names)

    outputs = {m.group(1) for m in _OWN_OUTPUT_RE.finditer(fragment_body.plain_text)}
    declarations = _uniform_declarations(h, inputs, passes, pass_lines, imported,
                                         fragment_body.plain_text + vertex_body.plain_text,
                                         cubes)
    images = [inp.name for inp in inputs if inp.is_image] + targets + list(imported)
    helpers = {}
    for stage, body in (("fragment", fragment_body), ("vertex", vertex_body)):
        idents = set(_IDENT_RE.findall(body.plain_text))
        # Inputs, targets and imported images are declared too (as uniforms): an input named
        # ``saturate`` must not get the HLSL helper of that name beside it.
        declared = global_declared_names(body.plain_text, sorted(idents)) | own
        helpers[stage] = compat_helpers(idents, declared, images)
    fed_outputs, fed_assignments, fed = feed_unwritten_fragment_inputs(
        fragment_body.plain_text, vertex_body.plain_text)
    if fed:
        for index, line in enumerate(vertex_body.source.lines):
            if _MAIN_DEF_RE.search(line):
                vertex_body.source.replace_line(index, _MAIN_DEF_RE.sub("void isf_vs_main(", line))
        where = (f"{display_path(vertex_path)} does not write" if vertex_path is not None
                 else f"no {path.stem}.vs beside the file writes")
        # One warning for all of them: a filter missing its .vs reads eight neighbour
        # coordinates, and eight lines would bury the point.
        coords = [v.name for v in fed if v.type_name == "vec2"]
        others = [v.name for v in fed if v.type_name != "vec2"]
        reads = []
        if coords:
            reads.append(f"{', '.join(coords)} read this fragment's normalised coordinate")
        if others:
            reads.append(f"{', '.join(others)} read 0 (matrices: the identity)")
        h.warn(_declaration_line(fragment_body.source, fed[0].name),
               f"fragment inputs that {where}: {'; '.join(reads)}")
    fragment_map = _assemble("fragment", fragment_body, declarations, skip_engine, shown,
                             own_output=bool(outputs), helpers=helpers["fragment"])
    vertex_map = _assemble("vertex", vertex_body, declarations, skip_engine, shown,
                           own_output=False, helpers=helpers["vertex"],
                           fed_outputs=fed_outputs, fed_assignments=fed_assignments)

    return IsfShader(
        path=path,
        description=_text(h, "DESCRIPTION"),
        credit=_text(h, "CREDIT"),
        categories=_text_list(h, "CATEGORIES"),
        isf_version=isf_version,
        inputs=inputs,
        passes=passes,
        imported=imported,
        imported_cubes=cubes,
        kind=_kind(inputs),
        fragment_source=fragment_map.text(),
        vertex_source=vertex_map.text(),
        fragment_map=fragment_map,
        vertex_map=vertex_map,
        vertex_path=vertex_path,
        uses_discard=bool(_DISCARD_RE.search(fragment_body.plain_text)),
        warnings=h.warnings,
        pass_lines=pass_lines,
        identifiers=frozenset(_IDENT_RE.findall(fragment_body.plain_text + "\n" +
                                                vertex_body.plain_text)),
    )


def _uniform_declarations(h: _Header, inputs: Sequence[IsfInput], passes: Sequence[IsfPass],
                          pass_lines: Sequence[int | None], imported: Mapping[str, Path],
                          body_text: str, cubes: Mapping[str, ImportedCube] | None = None,
                          ) -> list[tuple[str, int | None]]:
    """One uniform line per input, target, imported image and cube map, each mapped to its
    header line.

    A uniform the body already declares itself (old ISF files sometimes do) is not declared a
    second time.
    """
    declared_by_body = {m.group(1) for m in re.finditer(
        r"\buniform\s+(?:(?:highp|mediump|lowp)\s+)?\w+\s+([A-Za-z_]\w*)", body_text)}
    lines: list[tuple[str, int | None]] = []
    for inp in inputs:
        if inp.name not in declared_by_body:
            lines.append((f"uniform {inp.glsl_type} {inp.uniform_name};", inp.line))
    seen: set[str] = set()
    for p, line in zip(passes, pass_lines, strict=True):
        if p.target is not None and p.target not in seen and p.target not in declared_by_body:
            seen.add(p.target)
            lines.append((f"uniform sampler2D {p.target};", line))
    for name in imported:
        if name not in declared_by_body:
            lines.append((f"uniform sampler2D {name};", h.line_of_key(name)))
    for name, cube in (cubes or {}).items():
        if name not in declared_by_body:
            lines.append((f"uniform samplerCube {name};", cube.line))
    return lines


# --------------------------------------------------------------------------------------------
# Repairs after a failed compile
# --------------------------------------------------------------------------------------------

_GLSL_VALUE_TYPES = ("float", "int", "uint", "bool", "vec2", "vec3", "vec4", "ivec2", "ivec3",
                     "ivec4", "uvec2", "uvec3", "uvec4", "bvec2", "bvec3", "bvec4", "mat2",
                     "mat3", "mat4")
# Implicit conversions that NVIDIA and Apple drivers accept and GLSL 330 refuses. Mesa's words
# first, then glslang's; each gives the type the value must become.
_RETURN_RES = [re.compile(r"`return' with wrong type \w+, in function `\w+' returning (\w+)")]
_INIT_RES = [re.compile(r"initializer of type \w+ cannot be assigned to variable of type (\w+)")]
_ASSIGN_RES = [re.compile(r"value of type \w+ cannot be assigned to variable of type (\w+)"),
               re.compile(r"'=' :\s+cannot convert from '\s*(?:const |temp )?\w+' to "
                          r"'\s*(?:temp |global )?(\w+)'")]


_MESA_COLUMN_RE = re.compile(r"^\s*\d+:\d+\((\d+)\)")


def _expression_end(text: str, start: int) -> int:
    """Index of the ``;`` or top-level ``,`` ending the expression that starts at ``start``."""
    depth = 0
    for i in range(start, len(text)):
        ch = text[i]
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            if depth == 0:
                return i
            depth -= 1
        elif ch in ";," and depth == 0:
            return i
    return len(text)


def _wrap_after(line: str, match_end: int, type_name: str) -> str | None:
    end = _expression_end(line, match_end)
    expression = line[match_end:end].strip()
    if not expression or expression.startswith(f"{type_name}("):
        return None
    return f"{line[:match_end]} {type_name}({expression}){line[end:]}"


def repair_source(source: MappedSource, log: str) -> tuple[MappedSource, list[str]] | None:
    """Fix the implicit conversions a compiler ``log`` complains about, in a copy of ``source``.

    ``int i = 2.0;`` becomes ``int i = int(2.0);``, ``return 0;`` in a float function becomes
    ``return float(0);``, ``v = 1.0;`` for a vec3 ``v`` becomes ``v = vec3(1.0);``: what the
    drivers ISF files were written on do silently. Each fix is made at the line the compiler
    names. Returns the repaired source and one remark per fix ("file:line: ..."), or None when
    nothing in the log could be repaired. Any thread.
    """
    from live.render.shader_source import _parse_log_line

    lines = source.lines
    remarks: list[str] = []
    touched: set[int] = set()
    for raw in log.splitlines():
        parsed = _parse_log_line(raw)
        if parsed is None:
            continue
        number, message = parsed
        if not 1 <= number <= len(lines) or number in touched:
            continue  # one fix per line and round: the next compile reports what is left
        column = _MESA_COLUMN_RE.match(raw)
        column = int(column.group(1)) - 1 if column else 0
        line = lines[number - 1]
        fixed = None
        for patterns, kind in ((_RETURN_RES, "return"), (_INIT_RES, "init"), (_ASSIGN_RES, "assign")):
            match = next((m for m in (p.search(message) for p in patterns) if m), None)
            if match is None or match.group(1) not in _GLSL_VALUE_TYPES:
                continue
            type_name = match.group(1)
            if kind == "return":
                pattern = r"\breturn\b"
            elif kind == "init":
                pattern = r"\b" + type_name + r"\s+\w+\s*(?:\[[^\]]*\]\s*)?=(?!=)"
            else:
                pattern = r"(?<![=!<>+\-*/%&|^])=(?!=)"
            # The compiler's column (Mesa gives one) picks the statement on a crowded line.
            candidates = sorted(re.finditer(pattern, line), key=lambda m: abs(m.start() - column))
            for where in candidates:
                fixed = _wrap_after(line, where.end(), type_name)
                if fixed is not None:
                    break
            break
        if fixed is not None and fixed != line:
            lines[number - 1] = fixed
            touched.add(number)
            origin = source.origin(number)
            where_text = f"{origin.file}:{origin.line}" if origin and origin.line else "generated code"
            remarks.append(f"{where_text}: converted to {type_name} as lenient GLSL drivers do "
                           f"({message})")
    if not remarks:
        return None
    repaired = MappedSource()
    for text, origin in zip(lines, source.origins, strict=True):
        repaired.append(text, origin.file, origin.line)
    return repaired, remarks


def shader_dependencies(shader: IsfShader) -> tuple[Path, ...]:
    """Every file an IsfShader's compiled text depends on, as absolute paths.

    The shader file, each ``#include`` (found through the line maps, which record the file of
    every generated line), the engine's ``common/`` files, a companion vertex shader, the
    IMPORTED images (the six faces of a cube map too), and the paths of companion
    ``.vs``/``.vert`` files that do not exist yet (creating one changes the shader). Any
    thread; no GL.
    """
    seen: dict[Path, None] = {}

    def add(p: Path | str) -> None:
        seen.setdefault(Path(p).expanduser().resolve(), None)

    add(shader.path)
    for source_map in (shader.fragment_map, shader.vertex_map):
        for origin in source_map.origins:
            if origin.file and not origin.file.startswith("<"):
                add(origin.file)
    for suffix in VERTEX_SUFFIXES:
        add(Path(shader.path).with_suffix(suffix))
    for image in shader.imported.values():
        add(image)
    for cube in shader.imported_cubes.values():
        for face in cube.faces:
            add(face)
    return tuple(seen)
