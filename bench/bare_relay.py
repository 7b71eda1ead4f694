"""Baseline (a): a bare WebSocket relay between pairs of sockets, nothing else.

    .venv/bin/python bench/bare_relay.py PORT

`/c/<id>` is the customer, `/a/<id>` the agent of pair <id>. Customer text frames go to the agent
as they are, agent frames to the customer. When both ends are present the customer gets
`{"type":"snapshot.request"}` (so that bench/relay.py's client runs the same handshake as against
the real service). No auth, no parsing, no ordering checks, no persistence. Binds 127.0.0.1 only.
"""

import asyncio
import sys

from websockets.asyncio.server import serve

SNAPSHOT_REQUEST = '{"type":"snapshot.request","reason":"agent_joined"}'

customers: dict[str, object] = {}
agents: dict[str, object] = {}


async def handler(ws) -> None:
    path = ws.request.path
    role, _, pair = path.strip("/").partition("/")
    if role not in ("c", "a") or not pair:
        await ws.close(4404)
        return
    mine, other = (customers, agents) if role == "c" else (agents, customers)
    mine[pair] = ws
    try:
        if role == "c":
            await ws.send('{"type":"state"}')
            if pair in agents:
                await ws.send(SNAPSHOT_REQUEST)
        else:
            await ws.send('{"type":"state"}')
            peer = customers.get(pair)
            if peer is not None:
                await peer.send(SNAPSHOT_REQUEST)
        async for message in ws:
            peer = other.get(pair)
            if peer is not None:
                await peer.send(message)
    except Exception:  # a dropped peer must not kill the relay
        pass
    finally:
        if mine.get(pair) is ws:
            del mine[pair]


async def main(port: int) -> None:
    async with serve(
        handler, "127.0.0.1", port, compression=None, max_size=2**24, ping_interval=None
    ) as server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
