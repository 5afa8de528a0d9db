"""An outside client: Python's `websockets`, speaking to `tumble serve` the way the original
firmware's scripts and web app did. Usage: original_client.py ws://HOST:PORT/ws"""

import asyncio
import json
import sys

import websockets

CYCLE = {
    "phases": [
        {"id": "fill", "startTime": 0,
         "components": [{"id": "1", "compId": "Cold Valve", "start": 0, "duration": 10000}]},
        {"id": "wash", "startTime": 0,
         "components": [{"id": "2", "compId": "Motor", "start": 0, "duration": 1200,
                         "motorConfig": {"repeatTimes": 2, "pattern": [
                             {"stepTime": 300, "pauseTime": 300, "direction": "cw"}]}}]},
    ]
}


async def reply(ws):
    """The next frame that is not telemetry or hello (the original app ignores those too)."""
    while True:
        frame = await asyncio.wait_for(ws.recv(), 10)
        try:
            kind = json.loads(frame).get("type")
        except (ValueError, AttributeError):
            return frame  # plain-text v1 reply
        if kind not in ("telemetry", "hello"):
            return frame


async def telemetry(ws):
    while True:
        frame = await asyncio.wait_for(ws.recv(), 10)
        if frame.startswith('{"type":"telemetry"'):
            return json.loads(frame)


async def expect(ws, message, want):
    await ws.send(message if isinstance(message, str) else json.dumps(message))
    got = await reply(ws)
    assert got == want, f"{message!r}: expected {want!r}, got {got!r}"


async def main(url):
    async with websockets.connect(url) as ws:
        await expect(ws, "connect", "ok: connected")
        await expect(ws, {"action": "ping"}, "ok: pong")
        await expect(ws, {"action": "write_json", "data": CYCLE}, "ok: cycle loaded")
        await expect(ws, {"action": "start_cycle"}, "ok: starting cycle")
        t = await telemetry(ws)
        assert t["cycle"]["cycle_running"] is True, t
        assert [g["pin"] for g in t["gpio"]] == [7, 8, 5, 19, 9, 18, 4, 10], t
        # Wait for the run to finish by itself (about 1.1 s: the server runs 10 times faster).
        for _ in range(500):
            t = await telemetry(ws)
            if not t["cycle"]["cycle_running"]:
                break
        assert not t["cycle"]["cycle_running"], t
        assert all(g["state"] == 1 for g in t["gpio"]), t
        await expect(ws, {"action": "toggle_gpio", "pin": 5, "state": 0}, "ok: GPIO 5 set to 0")
        await expect(ws, {"action": "stop_cycle"}, "error: cycle not running")
        await ws.send(json.dumps({"cmd": "get_status", "id": "py"}))
        answer = json.loads(await reply(ws))
        assert answer["id"] == "py" and answer["ok"] is True, answer
        # stop_cycle found no cycle, and said so; it still left every output OFF.
        assert answer["result"]["gpio"][2] == {"pin": 5, "state": 1, "name": "Cold Valve", "on": False}, answer
    print("python client: ok")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
