"""The lock-free ring buffer between the audio callback and the analysis thread."""

from __future__ import annotations

import threading
import time
import tracemalloc

import numpy as np
import pytest

from live.audio.ringbuffer import RingBuffer


def ramp(start: int, n: int, channels: int = 1) -> np.ndarray:
    """Frames whose value is their absolute index (exact in float32 below 2**24), per channel."""
    idx = np.arange(start, start + n, dtype=np.float32)
    return np.stack([idx + 0.25 * c for c in range(channels)], axis=1)


def test_write_then_read_returns_frames_in_order_with_their_index():
    ring = RingBuffer(100, channels=2)
    ring.write(ramp(0, 30, 2))
    ring.write(ramp(30, 50, 2))  # wraps? not yet; next write does
    data, start = ring.read()
    assert start == 0 and data.shape == (80, 2)
    np.testing.assert_array_equal(data, ramp(0, 80, 2))
    ring.write(ramp(80, 60, 2))  # crosses the end of the storage
    data, start = ring.read()
    assert start == 80
    np.testing.assert_array_equal(data, ramp(80, 60, 2))
    assert ring.frames_written == 140 and ring.read_position == 140
    assert ring.overflows == 0 and ring.frames_dropped == 0


def test_mono_blocks_can_be_written_as_1d_arrays():
    ring = RingBuffer(16)
    ring.write(np.arange(5, dtype=np.float32))
    data, _ = ring.read()
    np.testing.assert_array_equal(data[:, 0], np.arange(5))


def test_read_into_respects_the_output_size_and_continues_later():
    ring = RingBuffer(64)
    ring.write(ramp(0, 40))
    out = np.zeros((16, 1), np.float32)
    n, start = ring.read_into(out)
    assert (n, start) == (16, 0)
    n, start = ring.read_into(out)
    assert (n, start) == (16, 16)
    np.testing.assert_array_equal(out, ramp(16, 16))
    assert ring.available() == 8


def test_overflow_drops_the_oldest_frames_and_counts_them():
    ring = RingBuffer(100)
    for k in range(5):  # 250 frames into a ring of 100 with no reader
        ring.write(ramp(50 * k, 50))
    assert ring.overflows == 3  # the writes of frames 100.., 150.., 200.. overran the reader
    data, start = ring.read()
    # The newest 100 frames survive; the reader learns that 150 were lost and where it is now.
    assert start == 150 and data.shape[0] == 100
    np.testing.assert_array_equal(data, ramp(150, 100))
    assert ring.frames_dropped == 150


def test_a_block_larger_than_the_ring_keeps_its_newest_frames():
    ring = RingBuffer(10)
    ring.write(ramp(0, 25))
    data, start = ring.read()
    assert start == 15
    np.testing.assert_array_equal(data, ramp(15, 10))
    assert ring.frames_dropped == 15


def test_frames_overwritten_during_the_readers_copy_are_discarded():
    """The producer laps the reader in the middle of its copy: stale frames must not come out."""
    ring = RingBuffer(8)
    ring.write(ramp(0, 8))

    class LappingOut(np.ndarray):
        """An output array whose first assignment lets the producer write 4 new frames first."""

        fired = False

        def __setitem__(self, key, value):
            if not LappingOut.fired:
                LappingOut.fired = True
                ring.write(ramp(8, 4))  # overwrites frames 0..3 while the reader copies
            super().__setitem__(key, value)

    out = np.zeros((8, 1), np.float32).view(LappingOut)
    n, start = ring.read_into(out)
    # Frames 0..3 may have been overwritten mid-copy: only 4..7 are trustworthy.
    assert start == 4 and n == 4
    np.testing.assert_array_equal(np.asarray(out[:n]), ramp(4, 4))
    assert ring.frames_dropped == 4
    data, start = ring.read()
    assert start == 8
    np.testing.assert_array_equal(data, ramp(8, 4))


def test_channel_mismatch_is_refused_with_a_clear_message():
    ring = RingBuffer(16, channels=2)
    with pytest.raises(ValueError, match="3 channels, the ring holds 2"):
        ring.write(np.zeros((4, 3), np.float32))
    with pytest.raises(ValueError, match="mono samples for a 2-channel ring"):
        ring.write(np.zeros(4, np.float32))
    with pytest.raises(ValueError, match="capacity must be a positive integer"):
        RingBuffer(0)


def test_the_write_path_allocates_no_sample_memory():
    """What the PortAudio callback does must not allocate buffers (only tiny view objects)."""
    ring = RingBuffer(4096, channels=2)
    block = np.ones((256, 2), np.float32)  # 2 KiB: a copy per write would show up at once
    for _ in range(20):  # warm up any lazily created objects
        ring.write(block)
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        for _ in range(1000):
            ring.write(block)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak - base < 1024, f"write() allocated up to {peak - base} bytes"


def test_concurrent_producer_and_consumer_never_see_corrupt_frames():
    """A producer thread writes a ramp in 256-frame blocks while the consumer reads.

    Every frame read must carry its own index (no torn or stale data), and frames read plus frames
    dropped must account for every frame written.
    """
    ring = RingBuffer(2048)
    total = 256 * 1500
    stop = threading.Event()

    def produce():
        pos = 0
        while pos < total and not stop.is_set():
            ring.write(ramp(pos, 256))
            pos += 256
            if pos % 4096 == 0:
                time.sleep(0)  # let the reader in now and then; it also gets lapped sometimes

    producer = threading.Thread(target=produce)
    producer.start()
    got = 0
    out = np.zeros((700, 1), np.float32)
    deadline = time.monotonic() + 30
    try:
        while time.monotonic() < deadline:
            n, start = ring.read_into(out)
            if n:
                np.testing.assert_array_equal(out[:n], ramp(start, n))
                got += n
            elif not producer.is_alive() and ring.available() == 0:
                break
    finally:
        stop.set()
        producer.join()
    assert got + ring.frames_dropped == total
    assert got > 0
