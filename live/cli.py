"""The `echoel` command line.

User errors (a bad scene, shader, audio file, output path, configuration) print one clear message
naming the file and what is wrong, and exit with status 2; no traceback. Internal failures exit 1.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from live import __version__

#: Scene that `echoel demo` plays (a bundled scene name).
DEMO_SCENE = "demo"
EXIT_USER_ERROR = 2


def _user_errors() -> tuple[type[BaseException], ...]:
    """Exception classes that mean 'the user gave us something wrong' (imported lazily)."""
    from live.audio.decode import AudioFileError
    from live.config import ConfigError
    from live.render.context import GLUnavailableError
    from live.render.isf import ShaderParamError
    from live.render.shader_source import ShaderSourceError
    from live.render.video import OutputError
    from live.scene import SceneError
    return (AudioFileError, ConfigError, GLUnavailableError, ShaderParamError, ShaderSourceError,
            OutputError, SceneError, ValueError, FileNotFoundError)


def build_parser() -> argparse.ArgumentParser:
    from live.audio.analysis_cli import add_parser as add_analysis_parser
    from live.audio.cli import add_parser as add_audio_parser
    from live.check import add_check_parser
    from live.control.companion_sim import add_parser as add_companion_parser
    from live.render.effects_catalog import add_parser as add_effects_parser
    from live.render.importer import add_parser as add_import_parser
    from live.signals_cli import add_parser as add_signals_parser
    from live.render.validate import add_parser as add_validate_parser
    from live.show import add_live_arguments, add_run_parser

    parser = argparse.ArgumentParser(
        prog="echoel", description="Echoel Live: real-time audio-reactive visuals for live shows.")
    parser.add_argument("--version", action="version", version=f"echoel {__version__}")
    parser.add_argument("--config", metavar="FILE", help="configuration file (default: $ECHOEL_CONFIG "
                        "or ~/.config/echoel/config.toml)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("render", help="render a scene reacting to an audio file into an mp4",
                       description="Render SCENE offline, reacting to --audio, into --out. The same "
                       "inputs give the same frames (see --hashes).")
    p.add_argument("scene", metavar="SCENE", help="a scene file or the name of a bundled scene")
    p.add_argument("--audio", metavar="FILE", help="audio file to react to and to mux into the video")
    p.add_argument("--out", metavar="OUT.mp4", help="mp4 file to write (H.264, with the audio)")
    p.add_argument("--fps", type=int, default=30, help="frames per second (default 30)")
    p.add_argument("--size", default="640x360", help="WIDTHxHEIGHT (default 640x360)")
    p.add_argument("--duration", type=float, metavar="SECONDS",
                   help="seconds to render (default: the audio's length, or 10 s without audio)")
    p.add_argument("--frames", metavar="DIR", help="also write every frame as a PNG into DIR")
    p.add_argument("--hashes", metavar="FILE", help="write 'frame<TAB>sha256' of every frame's pixels")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_render)

    p = sub.add_parser("demo", help="play the demo scene reacting to the bundled demo track",
                       description="Play the demo scene reacting to the project's synthesised demo "
                       "track: live in a window when a display exists, otherwise a real-time "
                       "headless run writing out/demo.mp4, a contact sheet and a report.")
    p.add_argument("--out", default="out/demo.mp4", help="headless: the video to write (default out/demo.mp4)")
    p.add_argument("--size", default="640x360", help="WIDTHxHEIGHT (default 640x360)")
    p.add_argument("--fps", type=int, default=30)
    p.add_argument("--duration", type=float, metavar="SECONDS", help="seconds (default: whole track)")
    p.add_argument("--audio", metavar="FILE", help="react to this file instead of the demo track")
    add_live_arguments(p)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("scenes", help="list bundled scenes (name, path, description; tab-separated)")
    p.set_defaults(func=cmd_scenes)

    p = sub.add_parser("config", help="print the configuration in effect and where each value comes from")
    p.set_defaults(func=cmd_config)

    add_run_parser(sub)
    add_check_parser(sub)
    add_audio_parser(sub)
    add_analysis_parser(sub)
    add_validate_parser(sub)
    add_companion_parser(sub)
    add_import_parser(sub)
    add_signals_parser(sub)
    add_effects_parser(sub)
    try:
        from live.gen.cli import add_parser as add_gen_parser
    except ImportError:  # the gen extra's CLI module failed to import: say so when it is used
        add_gen_parser = None
    if add_gen_parser is not None:
        add_gen_parser(sub)
    return parser


def cmd_render(args: argparse.Namespace) -> int:
    from live.render.offline import parse_size, render_offline
    from live.scene import find_scene, load_scene

    scene = load_scene(find_scene(args.scene))
    if args.out is None and args.hashes is None and args.frames is None:
        raise ValueError("nothing to write: give --out OUT.mp4, --hashes FILE or --frames DIR")
    report = render_offline(
        scene, Path(args.audio) if args.audio else None, Path(args.out) if args.out else None,
        fps=args.fps, size=parse_size(args.size), duration=args.duration,
        frames_dir=Path(args.frames) if args.frames else None,
        hashes=Path(args.hashes) if args.hashes else None, progress=not args.no_progress)
    _print_report(report)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """The demo live: a window reacting to the demo track with a display, otherwise a real-time
    headless run writing out/demo.mp4, out/demo-contact.png and a report (live/show.py)."""
    from live.show import run_demo

    return run_demo(args)


def _print_report(report) -> None:
    print(f"rendered {report.frames} frames ({report.duration:.1f} s of video) in "
          f"{report.wall_seconds:.1f} s: {report.speed:.2f}x real time")
    if report.out:
        print(f"wrote {report.out}")
    if report.hashes:
        print(f"wrote {report.hashes}")


def cmd_scenes(args: argparse.Namespace) -> int:
    from live.scene import list_scenes

    for name, path, description in list_scenes():
        print(f"{name}\t{path}\t{description}")
    return 0


def cmd_config(args: argparse.Namespace) -> int:
    from live.config import format_config, load_config

    print(format_config(load_config(args.config)), end="")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="echoel: %(levelname)s: %(name)s: %(message)s")
    if args.command is None:
        parser.print_help()
        return EXIT_USER_ERROR
    try:
        return int(args.func(args) or 0)
    except _user_errors() as exc:
        print(f"echoel: error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("echoel: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
