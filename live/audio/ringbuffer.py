"""A preallocated single-producer, single-consumer ring buffer for audio frames.

The producer is an audio callback (PortAudio's thread, or a file source's pacing pump); the
consumer is the analysis thread. The callback side must never wait, allocate sample memory, log
or take a lock, so the buffer is lock-free:

* the producer first *claims* the region it is about to overwrite (`_claim`), copies the block,
  then *publishes* it (`_write_pos`);
* the consumer copies what was published, then re-reads the claim: anything the producer may have
  overwritten during that copy (the reader was too slow and the ring wrapped) is discarded and
  counted as dropped.

When the consumer falls behind by more than the capacity, the oldest frames are dropped (a live
show wants the newest sound, not a growing delay), and both the overflow events and the frames
lost are counted. Positions are absolute frame counts since creation (Python ints never wrap), so
the consumer knows the stream index of every frame it reads, gaps included.

Correctness relies on CPython's GIL making each integer assignment atomic and ordered; the buffer
is not safe for more than one producer or more than one consumer.
"""

from __future__ import annotations

import numpy as np


class RingBuffer:
    """Lock-free SPSC ring of float32 frames (``capacity`` x ``channels``).

    Args:
        capacity: frames the ring holds (e.g. two seconds of audio).
        channels: samples per frame.

    Raises:
        ValueError: capacity or channels is not a positive integer.
    """

    def __init__(self, capacity: int, channels: int = 1) -> None:
        if int(capacity) != capacity or capacity < 1:
            raise ValueError(f"RingBuffer: capacity must be a positive integer, got {capacity!r}")
        if int(channels) != channels or channels < 1:
            raise ValueError(f"RingBuffer: channels must be a positive integer, got {channels!r}")
        self.capacity = int(capacity)
        self.channels = int(channels)
        self._buf = np.zeros((self.capacity, self.channels), np.float32)
        # Producer-owned counters (written only by `write`).
        self._claim = 0  # end of the region the producer is writing or has written
        self._write_pos = 0  # end of the published, complete data
        self.overflows = 0  # writes that overwrote frames the consumer had not read yet
        # Consumer-owned counters (written only by `read_into` / `discard`).
        self._read_pos = 0
        self.frames_dropped = 0  # frames lost to overflow, counted when the consumer notices

    # ------------------------------------------------------------------ producer side
    def write(self, block: np.ndarray) -> int:
        """Copy `block` ((n, channels) or (n,) for one channel) into the ring; return n.

        Producer thread (the audio callback). Never blocks and never allocates sample memory: two
        slice copies at most. A block larger than the ring keeps only its newest `capacity`
        frames. Overwriting unread frames counts one overflow.

        Raises:
            ValueError: the block's channel count does not match (checked cheaply, by shape).
        """
        n = block.shape[0]
        if block.ndim == 1:
            if self.channels != 1:
                raise ValueError(f"RingBuffer.write: got mono samples for a {self.channels}-channel ring")
            src = block.reshape(n, 1)
        elif block.shape[1] == self.channels:
            src = block
        else:
            raise ValueError(
                f"RingBuffer.write: block has {block.shape[1]} channels, the ring holds {self.channels}"
            )
        if n == 0:
            return 0
        cap = self.capacity
        start = self._write_pos
        if n > cap:  # only the newest `cap` frames can survive anyway
            src = src[n - cap:]
            start += n - cap
        end = self._write_pos + n
        if end - self._read_pos > cap:
            self.overflows += 1
        self._claim = end  # announce the overwrite before doing it
        m = src.shape[0]
        i = start % cap
        first = min(m, cap - i)
        self._buf[i:i + first] = src[:first]
        if first < m:
            self._buf[: m - first] = src[first:]
        self._write_pos = end  # publish
        return n

    # ------------------------------------------------------------------ consumer side
    @property
    def frames_written(self) -> int:
        """Frames the producer has published since creation (any thread)."""
        return self._write_pos

    @property
    def read_position(self) -> int:
        """Absolute index of the next frame `read_into` will return (consumer thread)."""
        return self._read_pos

    def available(self) -> int:
        """Frames waiting to be read, at most `capacity` (consumer thread)."""
        return min(self._write_pos - self._read_pos, self.capacity)

    def read_into(self, out: np.ndarray) -> tuple[int, int]:
        """Copy up to ``len(out)`` of the oldest unread frames into `out` ((m, channels)).

        Consumer thread. Returns ``(n, start)``: the frames copied into ``out[:n]`` and the absolute
        index of the first of them. Frames lost to overflow since the previous read are skipped
        and added to `frames_dropped`; ``start`` then jumps past them.
        """
        cap = self.capacity
        w = self._write_pos
        start = max(self._read_pos, w - cap)
        n = min(w - start, out.shape[0])
        if n <= 0:
            self._note_drop(start)
            return 0, start
        i = start % cap
        first = min(n, cap - i)
        out[:first] = self._buf[i:i + first]
        if first < n:
            out[first:n] = self._buf[: n - first]
        # Frames in [start, claim - cap) may have been overwritten while we copied: drop them.
        valid_from = self._claim - cap
        if valid_from > start:
            skip = min(valid_from - start, n)
            if skip < n:
                out[: n - skip] = out[skip:n]
            self._note_drop(start + skip)
            self._read_pos = start + n
            return n - skip, start + skip
        self._note_drop(start)
        self._read_pos = start + n
        return n, start

    def read(self, max_frames: int | None = None) -> tuple[np.ndarray, int]:
        """Like `read_into` but returns a new (n, channels) array and its start index.

        Consumer thread (allocates: not for callbacks).
        """
        limit = self.available() if max_frames is None else min(int(max_frames), self.available())
        out = np.empty((max(limit, 0), self.channels), np.float32)
        n, start = self.read_into(out)
        return out[:n], start

    def clear(self) -> None:
        """Discard everything unread (consumer thread); dropped frames are not counted."""
        self._read_pos = self._write_pos

    def _note_drop(self, start: int) -> None:
        if start > self._read_pos:
            self.frames_dropped += start - self._read_pos
            self._read_pos = start
