"""The configuration file (config.toml): values in effect and where each one came from.

Precedence, lowest first: built-in `DEFAULTS`, the config file, then environment variables
named ``ECHOEL_<SECTION>_<KEY>`` (``ECHOEL_OSC_PORT``, ``ECHOEL_HTTP_HOST``...), which suit
containers and service units. Command-line flags are applied on top by the CLI through
`Config.override`. `echoel config` prints `format_config` of the result.

The file is found by `config_path`: ``--config``, then ``$ECHOEL_CONFIG``, then
``$XDG_CONFIG_HOME/echoel/config.toml`` (``~/.config/echoel/config.toml``). Keys are written in
sections::

    [osc]
    port = 9000

Unknown keys, wrong types and out-of-range values are `ConfigError`s naming the file (or the
environment variable), the key and what is allowed. Environment variables that start with
``ECHOEL_`` but name no key are ignored, because other tools in the project define their own.

Threads: load once at start-up (main thread); a `Config` is then only read.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from live.scene import describe_value, did_you_mean, key_lines, read_toml_file

MAX_CONFIG_BYTES = 1 << 20

#: Every key the config file may set, with its default (flat dotted keys, in display order).
DEFAULTS: dict[str, Any] = {
    "osc.port": 9000,
    "oscquery.port": 9001,
    "http.port": 8080,
    "http.host": "127.0.0.1",
    "render.width": 1280,
    "render.height": 720,
    "render.fps": 60,
    "audio.device": "",
    "audio.sample_rate": 48000,
    "paths.data": "~/.local/share/echoel",
    "show.safe_scene": "000-idle",
    # OSC in (live/control/osc.py, docs/osc.md): every interface, senders limited by osc.allow.
    "osc.host": "0.0.0.0",
    "osc.allow": ["127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
                  "169.254.0.0/16", "::1/128", "fc00::/7", "fe80::/10"],
    "osc.rate_limit": 20000,
    "osc.burst": 5000,
    # OSC out (live/control/osc_out.py): "host:port" receivers and what they get.
    "osc.out_targets": [],
    "osc.out_features": [],
    "osc.out_rate": 30,
    "osc.out_events": True,
    "osc.out_feedback": True,
    "oscquery.host": "127.0.0.1",
    "oscquery.mdns": False,
    "oscquery.name": "Echoel Live",
    # Companion app (live/control/bio.py, docs/companion.md).
    "bio.stale_after": 3.0,
    "bio.decay": 5.0,
    "bio.device": "",
    # Controllers (live/control/controllers.py): MIDI, mapping files, Link, tempo sources.
    "midi.enabled": True,
    "midi.api": "auto",
    "midi.inputs": ["*"],
    "midi.virtual_port": "Echoel Live",
    "midi.clock_out": "",
    "midi.learned": "",
    "mappings.files": ["auto"],
    "link.enabled": False,
    "tempo.priority": ["midi_clock", "link", "tap", "audio"],
}


@dataclass(frozen=True)
class _Rule:
    """What a key accepts: kind is "int", "number", "string", "bool" or "strings" (an array of
    strings, each checked by `item_problem`); lo/hi bound numbers."""

    kind: str
    lo: float | None = None
    hi: float | None = None
    empty_ok: bool = False
    help: str = ""
    item_problem: Any = None  # for "strings": str -> why the item is wrong, or None

    def allowed(self) -> str:
        if self.kind == "string":
            return "a string" + ("" if self.empty_ok else " (not empty)") + (
                f": {self.help}" if self.help else "")
        if self.kind == "bool":
            return "true or false" + (f" ({self.help})" if self.help else "")
        if self.kind == "strings":
            return "an array of strings" + (f": {self.help}" if self.help else "")
        noun = "an integer" if self.kind == "int" else "a number"
        text = f"{noun} from {self.lo:g} to {self.hi:g}"
        return text + (f" ({self.help})" if self.help else "")


_PORT = _Rule("int", 0, 65535, help="0 picks a free port")
RULES: dict[str, _Rule] = {
    "osc.port": _PORT,
    "oscquery.port": _PORT,
    "http.port": _PORT,
    "http.host": _Rule("string", help="the address to bind, e.g. 127.0.0.1 or 0.0.0.0"),
    "render.width": _Rule("int", 16, 16384),
    "render.height": _Rule("int", 16, 16384),
    "render.fps": _Rule("number", 1, 1000),
    "audio.device": _Rule("string", empty_ok=True,
                          help="an input device name or part of one; empty means the default"),
    "audio.sample_rate": _Rule("int", 8000, 384000),
    "paths.data": _Rule("string", help="a folder; ~ is expanded"),
    "show.safe_scene": _Rule("string", help="a scene name or path"),
    "osc.host": _Rule("string", help="the address to receive OSC on, e.g. 0.0.0.0 or 127.0.0.1"),
    "osc.allow": _Rule("strings", item_problem=lambda v: _network_problem(v),
                       help="networks whose senders are accepted, e.g. [\"192.168.1.0/24\"]; "
                            "\"0.0.0.0/0\" accepts every IPv4 sender"),
    "osc.rate_limit": _Rule("number", 1, 1e7, help="messages per second per sender"),
    "osc.burst": _Rule("number", 1, 1e7, help="messages a sender may send at once"),
    "osc.out_targets": _Rule("strings", item_problem=lambda v: _host_port_problem(v),
                             help="receivers as \"host:port\", e.g. [\"192.168.1.20:9000\"]"),
    "osc.out_features": _Rule("strings", item_problem=lambda v: _source_problem(v),
                              help="signal names to stream, e.g. [\"audio.bass\", \"bio.hr\"]"),
    "osc.out_rate": _Rule("number", 1, 240, help="feature and feedback messages per second"),
    "osc.out_events": _Rule("bool", help="send beat, bar, onset and tempo"),
    "osc.out_feedback": _Rule("bool", help="send parameter values when they change"),
    "oscquery.host": _Rule("string", help="the address to serve OSCQuery on, e.g. 127.0.0.1"),
    "oscquery.mdns": _Rule("bool", help="announce _oscjson._tcp and _osc._udp on the network"),
    "oscquery.name": _Rule("string", help="the name OSCQuery clients show"),
    "bio.stale_after": _Rule("number", 0.1, 600, help="seconds without data before bio.stale"),
    "bio.decay": _Rule("number", 0, 600, help="seconds a quiet stream takes to reach neutral"),
    "bio.device": _Rule("string", empty_ok=True,
                        help="device id the plain bio.* names follow; empty: the first heard"),
    "midi.enabled": _Rule("bool", help="false turns MIDI input, output and learn off"),
    "midi.api": _Rule("string", help="auto, alsa or jack",
                      ),
    "midi.inputs": _Rule("strings", help="input port name patterns (fnmatch, any case), each "
                         "optionally '=alias', e.g. [\"*nanoKONTROL2*=nano\", \"*\"]; [] opens none",
                         item_problem=lambda v: _midi_input_problem(v)),
    "midi.virtual_port": _Rule("string", empty_ok=True, help="name of the virtual MIDI input "
                               "port; empty for none"),
    "midi.clock_out": _Rule("string", empty_ok=True, help="output port name pattern that gets "
                            "MIDI clock; empty for none"),
    "midi.learned": _Rule("string", empty_ok=True, help="file for MIDI-learned bindings; empty: "
                          "<paths.data>/mappings/learned.toml"),
    "mappings.files": _Rule("strings", help="mapping files: names in mappings/ or paths; \"auto\" "
                            "loads every shipped controller profile"),
    "link.enabled": _Rule("bool", help="true joins an Ableton Link session on the network"),
    "tempo.priority": _Rule("strings", help="tempo sources, the first available leads: "
                            "midi_clock, link, tap, audio",
                            item_problem=lambda v: None if v in ("midi_clock", "link", "tap", "audio")
                            else f"unknown tempo source {v!r}; allowed: midi_clock, link, tap, audio"),
}


def _midi_input_problem(entry: str) -> str | None:
    """Why a midi.inputs entry ("pattern" or "pattern=alias") is wrong, or None."""
    pattern, _, alias = entry.partition("=")
    if not pattern.strip():
        return f"{entry!r}: empty port name pattern"
    if "=" in entry and (not alias or not all(c.isalnum() or c in "_-" for c in alias)
                         or alias in ("cc", "note", "bend", "program")):
        return (f"{entry!r}: the alias after '=' must be letters, digits, '_' or '-' (not cc, "
                "note, bend or program)")
    return None


def _network_problem(value: str) -> str | None:
    import ipaddress
    try:
        ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        return f"{value!r} is not a network (e.g. \"192.168.1.0/24\" or \"10.0.0.7\")"
    return None


def _host_port_problem(value: str) -> str | None:
    host, sep, port = value.rpartition(":")
    if not sep or not host.strip("[]") or not port.isdigit() or not 1 <= int(port) <= 65535:
        return f"{value!r} is not \"host:port\" (e.g. \"127.0.0.1:9000\")"
    return None


def _source_problem(value: str) -> str | None:
    from live.scene import source_name_problem
    return source_name_problem(value)


_SECTIONS = {key.rsplit(".", 1)[0] for key in DEFAULTS}


class ConfigError(ValueError):
    """A configuration file or variable that cannot be used.

    Attributes:
        file: the file, or "env:<VARIABLE>" for an environment variable.
        key: the dotted key (e.g. "osc.port"), or None for the whole file.
        line: 1-based line when known.
        message: what is wrong and what is allowed.
    """

    def __init__(self, file: str, key: str | None, message: str, line: int | None = None):
        self.file = file
        self.key = key
        self.line = line
        self.message = message
        where = f"{file}:{line}" if line else file
        super().__init__(f"{where}: {key}: {message}" if key else f"{where}: {message}")

    def __reduce__(self):
        return (type(self), (self.file, self.key, self.message, self.line))


@dataclass
class Config:
    """The values in effect (flat dotted keys) and where each came from.

    `sources[key]` is "default", "file:<path>", "env:<VARIABLE>" or what `override` was given
    (the CLI uses "flag:--<name>"). Read from any thread once built.
    """

    # Arrays are copied so that no Config shares (and could change) the defaults' lists.
    values: dict[str, Any] = field(default_factory=lambda: {
        k: list(v) if isinstance(v, list) else v for k, v in DEFAULTS.items()})
    sources: dict[str, str] = field(default_factory=lambda: {k: "default" for k in DEFAULTS})
    path: Path | None = None  # the config file read, if any

    def get(self, key: str, default: Any = None) -> Any:
        """The value of `key`, or `default` if the key is unknown."""
        return self.values.get(key, default)

    def override(self, key: str, value: Any, source: str) -> None:
        """Set `key` after checking it like a file value; `source` says where it came from.

        Main thread, at start-up (e.g. the CLI's --lan sets http.host). Raises ConfigError.
        """
        self.values[key] = _checked(key, value, source, None)
        self.sources[key] = source

    def data_dir(self) -> Path:
        """paths.data with ~ expanded."""
        return Path(str(self.values["paths.data"])).expanduser()


def env_var_name(key: str) -> str:
    """The environment variable that overrides `key`: "osc.port" -> "ECHOEL_OSC_PORT"."""
    return "ECHOEL_" + key.upper().replace(".", "_")


def config_path(explicit: str | None = None,
                environ: Mapping[str, str] | None = None) -> Path | None:
    """The config file to read: `explicit` (--config), $ECHOEL_CONFIG, or the user's file.

    Returns the path even if it does not exist when it was asked for (explicitly or through
    $ECHOEL_CONFIG) so that loading reports it; returns None when no file was asked for and the
    default one does not exist. Main thread; `environ` defaults to os.environ.
    """
    env = os.environ if environ is None else environ
    if explicit:
        return Path(explicit).expanduser()
    if env.get("ECHOEL_CONFIG"):
        return Path(env["ECHOEL_CONFIG"]).expanduser()
    base = Path(env["XDG_CONFIG_HOME"]) if env.get("XDG_CONFIG_HOME") else Path.home() / ".config"
    default = base.expanduser() / "echoel" / "config.toml"
    return default if default.is_file() else None


def _flatten(table: dict, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in table.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and dotted not in RULES:
            nested = _flatten(value, dotted + ".")
            if not nested and dotted not in _SECTIONS:
                nested = {dotted: value}  # an unknown empty [section] is still reported
            out.update(nested)
        else:
            out[dotted] = value
    return out


def _checked(key: str, value: Any, file: str, line: int | None) -> Any:
    rule = RULES.get(key)
    if rule is None:
        raise ConfigError(file, key, f"unknown key{did_you_mean(key, DEFAULTS)}; allowed: "
                          f"{', '.join(DEFAULTS)}", line)
    ok = False
    if rule.kind == "strings":
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
            raise ConfigError(file, key, f"expected {rule.allowed()}, got {describe_value(value)}",
                              line)
        for item in value:
            problem = rule.item_problem(item) if rule.item_problem else None
            if problem:
                raise ConfigError(file, key, problem, line)
        return list(value)
    if rule.kind == "bool":
        if not isinstance(value, bool):
            raise ConfigError(file, key, f"expected {rule.allowed()}, got {describe_value(value)}",
                              line)
        return value
    if rule.kind == "string":
        ok = isinstance(value, str) and (rule.empty_ok or value.strip() != "")
        if ok and not value.isprintable():  # control characters, or undecodable env bytes
            raise ConfigError(file, key, f"contains characters that are not printable text: "
                              f"{value!r}", line)
    elif rule.kind == "int":
        ok = isinstance(value, int) and not isinstance(value, bool) and rule.lo <= value <= rule.hi
    else:
        ok = (isinstance(value, (int, float)) and not isinstance(value, bool)
              and math.isfinite(float(value)) and rule.lo <= value <= rule.hi)
    if not ok:
        raise ConfigError(file, key, f"expected {rule.allowed()}, got {describe_value(value)}",
                          line)
    return value


def _from_env(key: str, text: str, var: str) -> Any:
    rule = RULES[key]
    if rule.kind == "string":
        return _checked(key, text, f"env:{var}", None)
    if rule.kind == "strings":  # comma-separated in a variable
        return _checked(key, [t.strip() for t in text.split(",") if t.strip()], f"env:{var}", None)
    if rule.kind == "bool":
        words = {"true": True, "1": True, "yes": True, "on": True,
                 "false": False, "0": False, "no": False, "off": False}
        if text.strip().lower() not in words:
            raise ConfigError(f"env:{var}", key, f"expected {rule.allowed()} (true/false, 1/0, "
                              f"yes/no, on/off), got {text!r}")
        return words[text.strip().lower()]
    try:
        value: Any = int(text) if rule.kind == "int" else float(text)
    except ValueError:
        raise ConfigError(f"env:{var}", key, f"expected {rule.allowed()}, got {text!r}") from None
    return _checked(key, value, f"env:{var}", None)


def load_config(explicit: str | None = None,
                environ: Mapping[str, str] | None = None) -> Config:
    """Build the Config in effect: defaults, then the config file, then ECHOEL_* variables.

    Main thread, at start-up. Raises ConfigError for a named file that is missing, unreadable,
    not UTF-8 or not TOML (with the line), unknown keys (with "did you mean"), wrong types and
    out-of-range values.
    """
    env = os.environ if environ is None else environ
    cfg = Config()
    path = config_path(explicit, env)
    if path is not None:
        def make_error(file: str, message: str, line: int | None,
                       key: str | None = None) -> ConfigError:
            err = ConfigError(file, None, message, line)
            err.key = key
            return err

        text, data = read_toml_file(path, make_error, MAX_CONFIG_BYTES, "config file")
        lines = key_lines(text)
        source = f"file:{path}"
        for key, value in _flatten(data).items():
            line = lines.get(tuple(key.split(".")))
            cfg.values[key] = _checked(key, value, str(path), line)
            cfg.sources[key] = source
        cfg.path = path
    for key in DEFAULTS:
        var = env_var_name(key)
        if var in env:
            cfg.values[key] = _from_env(key, env[var], var)
            cfg.sources[key] = f"env:{var}"
    return cfg


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, (int, float)):
        return repr(value)
    return _toml_string(str(value))


def _toml_string(text: str) -> str:
    """A TOML basic string: escape quotes, backslashes and control characters, keep the rest."""
    out = []
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def format_config(cfg: Config) -> str:
    """The values in effect, one "key = value    # source" line per key; valid TOML.

    Any thread.
    """
    rows = [(f"{key} = {_toml_value(value)}", cfg.sources.get(key, "default"))
            for key, value in cfg.values.items()]
    width = max(len(left) for left, _ in rows) if rows else 0
    return "\n".join(f"{left.ljust(width)}    # {source}" for left, source in rows) + "\n"
