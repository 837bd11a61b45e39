"""Keyframe tracks: values between keys, easing per segment, loops, seconds tracks, and the bad
input a scene author can write (keys out of order or doubled, empty loops, unknown easings)."""

from __future__ import annotations

import pytest

from live.modulation.easing import get_easing
from live.modulation.keyframes import Key, Track, TrackSpec, parse_track
from live.modulation.timeline import SceneTime, TimeSpecError


def track(keys, unit="beat", loop=None, bpb=4) -> Track:
    table = {"id": "t", "target": "layers.a.level", "keys": keys}
    if loop is not None:
        table["loop"] = loop
    return parse_track(table, bpb).build()


def at(position_beats: float, seconds: float = 0.0, origin: float = 0.0) -> SceneTime:
    return SceneTime(t=seconds, dt=0.0, beat=origin + position_beats, bpm=120.0,
                     beats_per_bar=4, origin=origin, started=0.0)


def test_positions_are_beats_after_bar_one():
    spec = parse_track({"keys": [{"at": "1", "value": 0}, {"at": "2.3", "value": 1},
                                 {"at": "3.1.480", "value": 2}, {"at": 4, "value": 3}]}, 4)
    assert [k.at for k in spec.keys] == [0.0, 6.0, 8.5, 12.0]
    assert [k.label for k in spec.keys] == ["1.1.0", "2.3.0", "3.1.480", "4.1.0"]
    # In 3/4 a bar has three beats.
    spec = parse_track({"keys": [{"at": "2.3", "value": 0}]}, 3)
    assert spec.keys[0].at == 5.0


def test_linear_segments_and_holding_before_and_after():
    t = track([{"at": "2.1", "value": 1.0}, {"at": "3.1", "value": 3.0}])
    assert t.value_at(-10.0) == 1.0 and t.value_at(0.0) == 1.0      # before the first key
    assert t.value_at(4.0) == 1.0 and t.value_at(8.0) == 3.0
    assert t.value_at(6.0) == pytest.approx(2.0)                    # half way
    assert t.value_at(1000.0) == 3.0                                # after the last key


def test_a_keys_ease_shapes_the_segment_that_ends_at_it():
    t = track([{"at": "1", "value": 0.0}, {"at": "2", "value": 10.0, "ease": "cubic_in"},
               {"at": "3", "value": 0.0}], )
    cubic = get_easing("cubic_in")
    assert t.value_at(1.0) == pytest.approx(10.0 * cubic(0.25))    # into key 1: cubic
    assert t.value_at(6.0) == pytest.approx(5.0)                   # into key 2: linear (default)


def test_step_jumps_exactly_on_its_key():
    t = track([{"at": "1", "value": 0.0}, {"at": "3.1", "value": 1.0, "ease": "step"}])
    assert t.value_at(8.0 - 1e-6) == 0.0 and t.value_at(8.0) == 1.0


def test_the_tracks_default_ease_applies_to_keys_without_their_own():
    spec = parse_track({"ease": "step", "keys": [{"at": "1", "value": 0}, {"at": "2", "value": 1},
                                                 {"at": "3", "value": 2, "ease": "linear"}]}, 4)
    assert [k.ease for k in spec.keys] == ["step", "step", "linear"]


def test_a_loop_repeats_its_bars_and_keys_before_it_play_once():
    t = track([{"at": "1", "value": 5.0}, {"at": "2", "value": 0.0},
               {"at": "3", "value": 1.0}], loop=[2, 4])           # bars 2-3 repeat
    assert t.value_at(2.0) == pytest.approx(2.5)                   # the intro, once
    for k in range(5):
        offset = 8.0 * k
        assert t.value_at(4.0 + offset) == pytest.approx(0.0)
        assert t.value_at(6.0 + offset) == pytest.approx(0.5)
        assert t.value_at(8.0 + offset) == pytest.approx(1.0)     # held until the loop's end
    assert t.value_at(12.0 - 1e-9) == pytest.approx(1.0) and t.value_at(12.0) == pytest.approx(0.0)


def test_loop_ends_can_be_positions():
    spec = parse_track({"keys": [{"at": "1", "value": 0}], "loop": ["1.1", "2.3"]}, 4)
    assert spec.loop == (0.0, 6.0)


def test_seconds_tracks_ignore_the_tempo():
    spec = parse_track({"keys": [{"time": 0, "value": 0.0}, {"time": 12.5, "value": 1.0}],
                        "loop": [0, 20]}, 4)
    assert spec.unit == "s" and spec.keys[1].label == "12.5 s"
    t = spec.build()
    half = SceneTime(t=16.25, dt=0.0, beat=999.0, bpm=97.0, beats_per_bar=4, origin=3.0,
                     started=10.0)                                 # 6.25 s into the scene
    assert t.value(half) == pytest.approx(0.5)
    later = SceneTime(t=36.25, dt=0.0, beat=0.0, bpm=174.0, beats_per_bar=4, origin=0.0,
                      started=10.0)                                # 26.25 s: looped to 6.25 s
    assert t.value(later) == pytest.approx(0.5)


def test_musical_tracks_read_the_scene_position():
    t = track([{"at": "1", "value": 0.0}, {"at": "2", "value": 4.0}])
    assert t.value(at(2.0, origin=12.0)) == pytest.approx(2.0)
    assert t.value(at(-3.0, origin=12.0)) == 0.0                   # waiting for bar 1


def test_a_key_exactly_on_the_frame_beat_is_not_a_frame_late():
    t = track([{"at": "1", "value": 0.0}, {"at": "3.1", "value": 1.0, "ease": "step"}])
    # Float noise: the beat count of the frame on beat 8 may come out a hair below 8.
    assert t.value(at(8.0 - 1e-12)) == 1.0


@pytest.mark.parametrize("keys,loop,path,words", [
    ([{"at": "2", "value": 0}, {"at": "1.4", "value": 1}], None, ("keys", 1),
     ["out of order", "key 1 at 1.4.0 comes before key 0 at 2.1.0"]),
    ([{"at": "2", "value": 0}, {"at": "2.1.0", "value": 1}], None, ("keys", 1),
     ["same position as key 0", "ease = \"step\""]),
    ([{"time": 3, "value": 0}, {"time": 3.0, "value": 1}], None, ("keys", 1), ["same time"]),
    ([{"at": "1", "value": 0}], [2, 2], ("loop",), ["zero-length loop"]),
    ([{"at": "1", "value": 0}], ["3.1", "2.4"], ("loop",), ["ends before it starts"]),
    ([{"at": "1", "value": 0}, {"at": "5", "value": 1}], [1, 3], ("keys", 1),
     ["after the loop's end", "never play"]),
    ([{"at": "1", "value": 0}, {"at": "2", "value": 1, "ease": "cubic_inout"}], None,
     ("keys", 1, "ease"), ["unknown easing 'cubic_inout'", "did you mean 'cubic_in_out'?"]),
    ([{"at": "1", "value": 0, "ease": "quad_in"}], None, ("keys", 0, "ease"), ["first key"]),
    ([{"at": "1", "value": 0}, {"time": 4, "value": 1}], None, ("keys", 1, "time"),
     ["either musical", "or in seconds"]),
    ([{"at": "1", "time": 2, "value": 0}], None, ("keys", 0), ["not both"]),
    ([{"value": 0}], None, ("keys", 0), ["either at"]),
    ([{"at": "1"}], None, ("keys", 0), ["missing 'value'"]),
    ([{"at": "1", "value": "high"}], None, ("keys", 0, "value"), ["expected a number"]),
    ([{"at": "1", "vaule": 1}], None, ("keys", 0, "vaule"), ["did you mean 'value'?"]),
    ([{"at": "0.1", "value": 0}], None, ("keys", 0, "at"), ["bars count from 1"]),
    ([{"at": "1.5", "value": 0}], None, ("keys", 0, "at"), ["beat 5 does not exist", "4 beats"]),
    ([{"at": "1.1.960", "value": 0}], None, ("keys", 0, "at"), ["ticks 0..959"]),
    ([{"at": "bar 3", "value": 0}], None, ("keys", 0, "at"), ["\"bar.beat.tick\""]),
    ([], None, ("keys",), ["at least one key"]),
])
def test_bad_tracks_are_refused_naming_the_key(keys, loop, path, words):
    table = {"keys": keys}
    if loop is not None:
        table["loop"] = loop
    with pytest.raises(TimeSpecError) as info:
        parse_track(table, 4)
    assert info.value.path == path, info.value
    for word in words:
        assert word in info.value.message, info.value.message


def test_the_player_checks_its_keys_too():
    with pytest.raises(TimeSpecError, match="out of order"):
        Track([Key(4.0, 0.0), Key(2.0, 1.0)])
    with pytest.raises(TimeSpecError, match="zero-length loop"):
        TrackSpec("t", "layers.a.level", (Key(0.0, 1.0),), loop=(4.0, 4.0)).build()
