"""WAV files for the simulator: read a prompt's duration from its header, write a silent recording."""

from __future__ import annotations

import os
import struct
from pathlib import Path

__all__ = ["wav_duration", "write_silence"]


def wav_duration(path: str | Path) -> float | None:
    """Seconds of audio in a RIFF/WAVE file, from its ``fmt `` and ``data`` chunks; None if unreadable."""
    try:
        with open(path, "rb") as f:
            head = f.read(12)
            if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
                return None
            byte_rate = 0
            size = os.fstat(f.fileno()).st_size
            while True:
                ch = f.read(8)
                if len(ch) < 8:
                    return None
                cid, clen = ch[:4], int(struct.unpack("<I", ch[4:])[0])
                if cid == b"fmt ":
                    fmt = f.read(clen)
                    if len(fmt) < 16:
                        return None
                    byte_rate = int(struct.unpack("<I", fmt[8:12])[0])
                    if clen % 2:
                        f.read(1)
                elif cid == b"data":
                    if not byte_rate:
                        return None
                    avail = size - f.tell()
                    return min(clen, max(avail, 0)) / byte_rate
                else:
                    f.seek(clen + (clen % 2), 1)
    except OSError:
        return None


def write_silence(path: str | Path, seconds: float, rate: int = 8000) -> None:
    """Write a mono 16-bit PCM WAV of ``seconds`` of silence (parents made; written atomically)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    frames = max(0, round(seconds * rate))
    data_len = frames * 2
    header = b"RIFF" + struct.pack("<I", 36 + data_len) + b"WAVE"
    header += b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16)
    header += b"data" + struct.pack("<I", data_len)
    tmp = p.with_name(p.name + ".part")
    with open(tmp, "wb") as f:
        f.write(header)
        chunk = b"\0" * 65536
        left = data_len
        while left > 0:
            n = min(left, len(chunk))
            f.write(chunk[:n])
            left -= n
    os.replace(tmp, p)
