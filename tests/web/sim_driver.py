"""A cc.sim switch in its own process for the browser tests: places a call for each line read on stdin.

``python tests/web/sim_driver.py --listen 127.0.0.1:PORT --socket 127.0.0.1:PORT --agents 1001,1002``; then
``call DEST NUMBER`` on stdin places a call and prints ``placed``; ``channels`` prints the channels as one JSON
line; EOF stops the switch. (Playwright's sync
API and gevent do not share one process, so the switch runs apart from the test.)
"""

from __future__ import annotations

import argparse
import json
import sys

import gevent
from gevent.fileobject import FileObjectThread

from cc.sim.endpoints import AgentSpec, CallerSpec
from cc.sim.parties import PartyPopulation, PartySpec
from cc.sim.simulator import Simulator


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--listen", required=True)
    parser.add_argument("--socket", required=True)
    parser.add_argument("--agents", required=True, help="comma-separated agent ids (their phones answer)")
    parser.add_argument("--answer-after", type=float, default=2.0)
    parser.add_argument("--talk-time", type=float, default=4.0)
    parser.add_argument("--time-scale", type=float, default=1.0, help="the controller's --time-scale")
    parser.add_argument("--answer", default="", help="comma-separated numbers that answer outbound calls "
                        "(gateway carrier) and talk --talk-time seconds")
    args = parser.parse_args()
    host, port = args.socket.rsplit(":", 1)
    agents = [AgentSpec(a, answer_after=args.answer_after, talk_time=args.talk_time) for a in args.agents.split(",")]
    sim = Simulator(listen=args.listen, socket_address=(host, int(port)), time_scale=args.time_scale,
                    agents=agents).start()
    if args.answer:
        sim.parties = PartyPopulation(numbers={n: PartySpec(outcome="answer", ring=2.0, talk=args.talk_time,
                                                            patience=60.0) for n in args.answer.split(",")})
    print("ready", flush=True)
    lines = FileObjectThread(sys.stdin, "r")
    try:
        for line in lines:
            words = line.split()
            if len(words) == 3 and words[0] == "call":
                sim.place_call(CallerSpec(words[1], caller_id_number=words[2], caller_id_name="web test"))
                print("placed", flush=True)
            elif words == ["channels"]:   # what the tests check of the switch (eavesdrop on an agent's leg)
                print(json.dumps([{"uuid": ch.uuid, "cc_agent": ch.get_var("cc_agent"),
                                   "cc_member_uuid": ch.get_var("cc_member_uuid"), "hungup": ch.hungup,
                                   "app": ch.get_var("current_application"),
                                   "app_data": ch.get_var("current_application_data"),
                                   "eavesdrop_mode": ch.eavesdrop_mode, "name": ch.name, "created": ch.created,
                                   "cc_campaign": ch.get_var("cc_campaign"), "cc_lead": ch.get_var("cc_lead"),
                                   "cc_dial_uuid": ch.get_var("cc_dial_uuid"),
                                   "bridged_to": ch.bridged_to.uuid if ch.bridged_to is not None else None}
                                  for ch in list(sim.channels.values())]),
                      flush=True)
            gevent.sleep(0)
    finally:
        sim.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
