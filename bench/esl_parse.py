"""Events parsed per second by the parser that runs on the wire (cc.esl.protocol.FrameParser + Event).

Feeds the captured event frames of inbound_events_plain.esl / inbound_events_json.esl through a
FrameParser in socket-sized chunks (64 KiB), and for each event reads the headers a controller reads
(Event-Name, Unique-ID, Application-UUID, Application-Response, Job-UUID, Hangup-Cause, one variable).
Rates are per second of this process's CPU time (one core; the machine is shared, so wall time is noisy).
Prints one JSON object. Usage: python bench/esl_parse.py [--seconds S]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cc.esl.capture import read_capture
from cc.esl.protocol import FrameParser

CAPTURES = Path(os.environ.get("CC_ESL_CAPTURES",
                              Path(__file__).resolve().parents[1] / "tests" / "data" / "esl-captures"))
READ = ("Event-Name", "Unique-ID", "Application-UUID", "Application-Response", "Job-UUID", "Hangup-Cause")


def stream_of(name: str) -> tuple[bytes, int]:
    cap = read_capture(CAPTURES / f"{name}.esl")
    frames = [r.data for r in cap.recvs if b"Content-Type: text/event-" in r.data[:80]]
    return b"".join(frames), len(frames)


def run(stream: bytes, n_events: int, seconds: float) -> float:
    chunks = [stream[i:i + 65536] for i in range(0, len(stream), 65536)]
    done = 0
    t0 = time.process_time()      # CPU time of this process: the machine is shared, wall time is noisy
    while True:
        parser = FrameParser()
        for c in chunks:
            for fr in parser.feed(c):
                ev = fr.event()
                for h in READ:
                    ev.header(h)
                ev.variable("cc_digits")
        done += n_events
        dt = time.process_time() - t0
        if dt >= seconds:
            return done / dt


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seconds", type=float, default=2.0)
    a = ap.parse_args()
    plain, n_plain = stream_of("inbound_events_plain")
    js, n_json = stream_of("inbound_events_json")
    out = {
        "plain_events_per_s": round(run(plain, n_plain, a.seconds)),
        "json_events_per_s": round(run(js, n_json, a.seconds)),
        "plain_events": n_plain,
        "json_events": n_json,
        "avg_event_bytes": round((len(plain) + len(js)) / (n_plain + n_json)),
        "headers_read_per_event": len(READ) + 1,
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
