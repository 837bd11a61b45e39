"""config.toml: where values come from, and errors that name the file, key and what is allowed."""

from __future__ import annotations

import pickle
import tomllib
from pathlib import Path

import pytest

from live.config import (
    DEFAULTS,
    Config,
    ConfigError,
    config_path,
    env_var_name,
    format_config,
    load_config,
)


@pytest.fixture
def env(tmp_path):
    """An environment whose user config folder is empty (never the real ~/.config)."""
    return {"XDG_CONFIG_HOME": str(tmp_path / "xdg")}


def write(tmp_path: Path, text: str | bytes, name: str = "config.toml") -> Path:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


def error_of(path, env) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_config(str(path), environ=env)
    return info.value


def test_defaults_when_no_file(env):
    assert config_path(None, env) is None
    cfg = load_config(None, environ=env)
    assert cfg.values == DEFAULTS and cfg.path is None
    assert set(cfg.sources.values()) == {"default"}
    assert cfg.get("osc.port") == 9000 and cfg.get("http.host") == "127.0.0.1"
    assert cfg.get("no.such.key", "fallback") == "fallback"


def test_documented_defaults():
    assert (DEFAULTS["osc.port"], DEFAULTS["oscquery.port"], DEFAULTS["http.port"]) == (
        9000, 9001, 8080)
    assert DEFAULTS["http.host"] == "127.0.0.1"  # localhost only unless --lan
    assert DEFAULTS["show.safe_scene"] == "000-idle"


def test_file_values_and_their_source(tmp_path, env):
    path = write(tmp_path, '[osc]\nport = 9100\n[render]\nfps = 29.97\nwidth = 640\n'
                           '[audio]\ndevice = "Scarlett"\n')
    cfg = load_config(str(path), environ=env)
    assert cfg.path == path
    assert (cfg.get("osc.port"), cfg.get("render.fps"), cfg.get("render.width"),
            cfg.get("audio.device")) == (9100, 29.97, 640, "Scarlett")
    assert cfg.sources["osc.port"] == f"file:{path}"
    assert cfg.sources["http.port"] == "default"


def test_dotted_keys_are_the_same_as_sections(tmp_path, env):
    cfg = load_config(str(write(tmp_path, 'osc.port = 9200\n')), environ=env)
    assert cfg.get("osc.port") == 9200


def test_lookup_order_flag_then_env_then_user_file(tmp_path):
    user = tmp_path / "xdg" / "echoel" / "config.toml"
    user.parent.mkdir(parents=True)
    user.write_text("[http]\nport = 8081\n", encoding="utf-8")
    named = write(tmp_path, "[http]\nport = 8082\n", "named.toml")
    flag = write(tmp_path, "[http]\nport = 8083\n", "flag.toml")
    env = {"XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    assert load_config(None, environ=env).get("http.port") == 8081
    env["ECHOEL_CONFIG"] = str(named)
    assert load_config(None, environ=env).get("http.port") == 8082
    assert load_config(str(flag), environ=env).get("http.port") == 8083


def test_environment_variables_override_the_file(tmp_path, env):
    path = write(tmp_path, "[osc]\nport = 9100\n")
    env.update({"ECHOEL_OSC_PORT": "9300", "ECHOEL_HTTP_HOST": "0.0.0.0",
                "ECHOEL_RENDER_FPS": "30", "ECHOEL_SOMETHING_ELSE": "ignored"})
    cfg = load_config(str(path), environ=env)
    assert (cfg.get("osc.port"), cfg.get("http.host"), cfg.get("render.fps")) == (
        9300, "0.0.0.0", 30.0)
    assert cfg.sources["osc.port"] == "env:ECHOEL_OSC_PORT"
    assert env_var_name("show.safe_scene") == "ECHOEL_SHOW_SAFE_SCENE"


@pytest.mark.parametrize(("var", "value", "expected"), [
    ("ECHOEL_OSC_PORT", "nine", "expected an integer from 0 to 65535"),
    ("ECHOEL_OSC_PORT", "70000", "got an integer (70000)"),
    ("ECHOEL_RENDER_FPS", "nan", "expected a number from 1 to 1000"),
    ("ECHOEL_HTTP_HOST", "", "a string (not empty)"),
    ("ECHOEL_AUDIO_DEVICE", "in\x01put", "not printable"),
])
def test_bad_environment_values_name_the_variable(env, var, value, expected):
    env[var] = value
    with pytest.raises(ConfigError) as info:
        load_config(None, environ=env)
    assert str(info.value).startswith(f"env:{var}: ") and expected in str(info.value)


def test_missing_file_that_was_asked_for_is_an_error(tmp_path, env):
    assert "no such config file" in str(error_of(tmp_path / "nope.toml", env))
    env["ECHOEL_CONFIG"] = str(tmp_path / "gone.toml")
    with pytest.raises(ConfigError, match="gone.toml: no such config file"):
        load_config(None, environ=env)


@pytest.mark.parametrize(("text", "key", "line", "expected"), [
    ("[osc]\nprot = 9000\n", "osc.prot", 2, "did you mean 'osc.port'?"),
    ("[oscc]\nport = 9000\n", "oscc.port", 2, "did you mean 'osc.port'?"),
    ("port = 9000\n", "port", 1, "allowed: osc.port, oscquery.port"),
    ("[midy]\n", "midy", 1, "unknown key"),  # [midi] became a real section (controllers)
    ("[http]\nport = \"8080\"\n", "http.port", 2, "expected an integer from 0 to 65535"),
    ("[http]\nport = true\n", "http.port", 2, "got a boolean (true)"),
    ("[http]\nport = 65536\n", "http.port", 2, "got an integer (65536)"),
    ("[render]\nwidth = 1280.0\n", "render.width", 2, "got a float (1280.0)"),
    ("[render]\nfps = nan\n", "render.fps", 2, "expected a number from 1 to 1000, got a float"),
    ("[render]\nfps = inf\n", "render.fps", 2, "got a float (inf)"),
    ("[render]\nheight = 1" + "0" * 40 + "\n", "render.height", 2, "got an integer"),
    ("[http]\nhost = \"\"\n", "http.host", 2, "a string (not empty)"),
    ("[http]\nhost = 127\n", "http.host", 2, "got an integer (127)"),
    ("[osc]\nport = { udp = 9000 }\n", "osc.port", 2, "got a table"),
    ("[paths]\ndata = [\"a\"]\n", "paths.data", 2, "got an array"),
])
def test_bad_values_name_file_key_and_line(tmp_path, env, text, key, line, expected):
    path = write(tmp_path, text)
    err = error_of(path, env)
    assert (err.file, err.key, err.line) == (str(path), key, line)
    assert str(err).startswith(f"{path}:{line}: {key}: ") and expected in str(err), str(err)


def test_empty_file_and_empty_sections_are_fine(tmp_path, env):
    assert load_config(str(write(tmp_path, "")), environ=env).values == DEFAULTS
    cfg = load_config(str(write(tmp_path, "# nothing\n[osc]\n[render]\n")), environ=env)
    assert cfg.values == DEFAULTS and cfg.sources["osc.port"] == "default"


@pytest.mark.parametrize(("content", "expected"), [
    (b"[osc]\nport = 9000\x00\n", "NUL byte at line 2"),
    (b"[audio]\ndevice = \"caf\xe9\"\n", "not UTF-8 text: byte 0xe9 at line 2"),
    (b"[osc]\nport = 1\nport = 2\n", "'osc.port' is defined twice: at line 2 and again at line 3"),
    (b"[osc\nport = 1\n", "TOML syntax error at line 1"),
])
def test_hostile_files(tmp_path, env, content, expected):
    assert expected in str(error_of(write(tmp_path, content), env))


def test_directory_is_an_error(tmp_path, env):
    assert "is a directory, not a config file" in str(error_of(tmp_path, env))


def test_format_config_is_toml_with_sources(tmp_path, env):
    path = write(tmp_path, '[audio]\ndevice = "Scarlett \\"2i2\\" \\\\ é 🎛"\n'
                           '[render]\nfps = 59.94\n')
    env["ECHOEL_OSC_PORT"] = "9400"
    cfg = load_config(str(path), environ=env)
    text = format_config(cfg)
    lines = text.splitlines()
    assert len(lines) == len(DEFAULTS)
    assert lines[0].startswith("osc.port = 9400 ") and lines[0].endswith("# env:ECHOEL_OSC_PORT")
    assert any(line.endswith(f"# file:{path}") and line.startswith("render.fps = 59.94")
               for line in lines)
    assert len({line.index("#") for line in lines}) == 1  # comments line up
    parsed = tomllib.loads(text)
    flat = {f"{section}.{key}": value for section, table in parsed.items()
            for key, value in table.items()}
    assert flat == cfg.values


def test_override_checks_and_records_source(env):
    cfg = load_config(None, environ=env)
    cfg.override("http.host", "0.0.0.0", "flag:--lan")
    assert cfg.get("http.host") == "0.0.0.0" and cfg.sources["http.host"] == "flag:--lan"
    with pytest.raises(ConfigError, match=r"flag:--port: http.port: expected an integer"):
        cfg.override("http.port", "80", "flag:--port")
    with pytest.raises(ConfigError, match="did you mean 'http.host'"):
        cfg.override("http.hots", "x", "flag:--x")


def test_data_dir_expands_home(env):
    cfg = Config()
    assert cfg.data_dir() == Path.home() / ".local/share/echoel"


def test_config_error_pickles():
    err = ConfigError("c.toml", "osc.port", "bad", 3)
    copy = pickle.loads(pickle.dumps(err))
    assert (copy.file, copy.key, copy.line, str(copy)) == ("c.toml", "osc.port", 3,
                                                           "c.toml:3: osc.port: bad")
