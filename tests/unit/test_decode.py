"""Decoding audio files: formats, channels, resampling, and the errors users see."""

from __future__ import annotations

import logging

import av
import numpy as np
import pytest
import soundfile as sf

from live.audio.decode import ANALYSIS_RATE, AudioFileError, load_audio, to_mono, write_wav


def sine(freq: float, seconds: float, sr: int, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def dominant_hz(x: np.ndarray, sr: int) -> float:
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.argmax(spec) * sr / len(x))


def write_aac(path, x: np.ndarray, sr: int) -> None:
    """Encode (n, channels) float32 samples as AAC in an MP4/M4A container with PyAV."""
    layout = {1: "mono", 2: "stereo"}[x.shape[1]]
    with av.open(str(path), "w") as container:
        stream = container.add_stream("aac", rate=sr, layout=layout)
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(x.T), format="fltp", layout=layout)
        frame.sample_rate = sr
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


def test_wav_round_trip_is_exact_at_the_analysis_rate(tmp_path):
    x = np.stack([sine(440, 0.5, 48000), sine(660, 0.5, 48000, 0.25)], axis=1)
    path = write_wav(tmp_path / "a.wav", x, 48000)
    y, sr = load_audio(path)
    assert sr == ANALYSIS_RATE == 48000
    assert y.dtype == np.float32 and y.shape == x.shape
    np.testing.assert_array_equal(y, x)


@pytest.mark.parametrize("channels", [1, 2, 6])
def test_channel_counts_are_kept(tmp_path, channels):
    x = np.stack([sine(200 * (c + 1), 0.2, 48000) for c in range(channels)], axis=1)
    path = tmp_path / f"c{channels}.flac"
    sf.write(str(path), x, 48000, subtype="PCM_24")
    y, _ = load_audio(path)
    assert y.shape == (x.shape[0], channels)
    for c in range(channels):
        assert dominant_hz(y[:, c], 48000) == pytest.approx(200 * (c + 1), abs=6)


def test_resampling_keeps_pitch_and_duration(tmp_path):
    x = sine(1000.0, 2.0, 44100)
    path = tmp_path / "cd.ogg"
    sf.write(str(path), x, 44100, format="OGG", subtype="VORBIS")
    y, sr = load_audio(path, target_sr=48000)
    assert sr == 48000
    assert y.shape[0] == pytest.approx(2.0 * 48000, abs=48)
    assert dominant_hz(y[:, 0], 48000) == pytest.approx(1000.0, abs=1.0)
    mid = y[24000:72000, 0]
    assert np.sqrt(np.mean(mid**2)) == pytest.approx(0.5 / np.sqrt(2), rel=0.05)


def test_other_target_rate(tmp_path):
    path = write_wav(tmp_path / "a.wav", sine(300.0, 1.0, 48000), 48000)
    y, sr = load_audio(path, target_sr=16000)
    assert sr == 16000 and y.shape == (16000, 1)
    assert dominant_hz(y[:, 0], 16000) == pytest.approx(300.0, abs=1.0)


def test_m4a_goes_through_pyav(tmp_path):
    x = np.stack([sine(500.0, 1.0, 44100), sine(1500.0, 1.0, 44100, 0.2)], axis=1)
    path = tmp_path / "song.m4a"
    write_aac(path, x, 44100)
    with pytest.raises(sf.SoundFileError):
        sf.info(str(path))  # libsndfile cannot read it: the fallback is what is tested
    y, sr = load_audio(path)
    assert sr == 48000 and y.shape[1] == 2
    # AAC adds priming/padding samples: the duration is close, not exact.
    assert y.shape[0] == pytest.approx(48000, abs=4096)
    body = y[8000:40000]
    assert dominant_hz(body[:, 0], 48000) == pytest.approx(500.0, abs=2.0)
    assert dominant_hz(body[:, 1], 48000) == pytest.approx(1500.0, abs=2.0)
    assert np.sqrt(np.mean(body[:, 0] ** 2)) == pytest.approx(0.5 / np.sqrt(2), rel=0.1)


def test_non_finite_samples_become_zero_and_are_logged(tmp_path, caplog):
    x = sine(100.0, 0.1, 48000)
    x[10] = np.nan
    x[20] = np.inf
    x[30] = -np.inf
    path = write_wav(tmp_path / "bad.wav", x, 48000)
    with caplog.at_level(logging.WARNING, logger="live.audio.decode"):
        y, _ = load_audio(path)
    assert np.isfinite(y).all()
    assert y[10, 0] == y[20, 0] == y[30, 0] == 0.0
    assert y[11, 0] == x[11]
    assert "3 non-finite" in caplog.text and "bad.wav" in caplog.text


# ----------------------------------------------------------------------------- errors
def test_missing_file(tmp_path):
    with pytest.raises(AudioFileError, match="nope.wav: no such file") as info:
        load_audio(tmp_path / "nope.wav")
    assert info.value.path.endswith("nope.wav")


def test_directory_is_not_a_file(tmp_path):
    with pytest.raises(AudioFileError, match="not a regular file"):
        load_audio(tmp_path)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.mp3"
    path.touch()
    with pytest.raises(AudioFileError, match="empty.mp3: the file is empty"):
        load_audio(path)


def test_garbage_is_an_unknown_format_naming_both_decoders(tmp_path):
    path = tmp_path / "notes.wav"
    path.write_text("these are not samples\n" * 50)
    with pytest.raises(AudioFileError, match="unreadable or unknown audio format") as info:
        load_audio(path)
    message = str(info.value)
    assert "notes.wav" in message and "soundfile" in message and "PyAV" in message


def test_video_without_audio_stream(tmp_path):
    path = tmp_path / "silent.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"
        for _ in range(3):
            frame = av.VideoFrame.from_ndarray(np.zeros((32, 32, 3), np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    with pytest.raises(AudioFileError, match="silent.mp4: no audio stream"):
        load_audio(path)


def test_audio_file_with_no_samples(tmp_path):
    path = tmp_path / "zero.wav"
    sf.write(str(path), np.zeros((0, 2), np.float32), 48000)
    with pytest.raises(AudioFileError, match="holds no samples"):
        load_audio(path)


def test_audio_file_error_is_a_value_error():
    assert issubclass(AudioFileError, ValueError)


def test_bad_target_rate(tmp_path):
    path = write_wav(tmp_path / "a.wav", sine(100.0, 0.1, 48000), 48000)
    with pytest.raises(ValueError, match="target_sr"):
        load_audio(path, target_sr=0)


# ----------------------------------------------------------------------------- to_mono
def test_to_mono_averages_channels():
    x = np.array([[1.0, 0.0], [0.5, 0.5], [-1.0, 1.0]], np.float32)
    np.testing.assert_array_equal(to_mono(x), np.array([0.5, 0.5, 0.0], np.float32))
    assert to_mono(x).dtype == np.float32
    single = np.array([[0.25], [0.5]], np.float32)
    np.testing.assert_array_equal(to_mono(single), [0.25, 0.5])
    flat = np.array([0.1, 0.2], np.float64)
    assert to_mono(flat).dtype == np.float32 and to_mono(flat).shape == (2,)


def test_to_mono_rejects_other_shapes():
    with pytest.raises(ValueError, match=r"\(n,\) or \(n, channels\)"):
        to_mono(np.zeros((2, 2, 2)))
