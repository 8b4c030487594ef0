"""The interop scenario every client script runs against our binary, over stdio.

A client script wraps one published client library in an ``Adapter`` and calls ``main``; the
scenario prints one JSON object (the answers and notifications as the client saw them, and the
argv the client launched us with) that the Rust test ``tests/it/interop`` asserts. Nothing leaves
loopback: the binary runs with ``--demo`` (an embedded issuer on 127.0.0.1) and a temporary
``CODEX_HOME`` given by the test.
"""

import asyncio
import json
import sys
from pathlib import Path

TIMEOUT = 15.0


class Adapter:
    """What the scenario needs from a client; one subclass per client library."""

    notifications: list

    async def start(self) -> dict: ...
    async def request(self, method: str, params) -> dict: ...
    def child_pid(self) -> int: ...
    async def close(self) -> None: ...


def argv_of(pid: int) -> list:
    """The argv our binary was started with (Linux), without the executable path."""
    raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    return [part.decode() for part in raw.split(b"\0") if part][1:]


async def wait_for(adapter: Adapter, count: int) -> list:
    """Waits until ``count`` notifications arrived; returns them (and keeps any extra)."""
    deadline = asyncio.get_running_loop().time() + TIMEOUT
    while len(adapter.notifications) < count:
        if asyncio.get_running_loop().time() > deadline:
            break
        await asyncio.sleep(0.02)
    return list(adapter.notifications)


async def run(adapter: Adapter) -> dict:
    out = {}
    out["initialize"] = await adapter.start()
    out["argv"] = argv_of(adapter.child_pid())
    out["read_signed_out"] = await adapter.request("account/read", {})
    out["api_key_login"] = await adapter.request(
        "account/login/start", {"type": "apiKey", "apiKey": "sk-interop"}
    )
    seen = await wait_for(adapter, 2)
    out["api_key_notifications"] = seen[:2]
    out["read_api_key"] = await adapter.request("account/read", {})
    out["logout"] = await adapter.request("account/logout", None)
    seen = await wait_for(adapter, 3)
    out["logout_notifications"] = seen[2:3]
    out["chatgpt_login"] = await adapter.request("account/login/start", {"type": "chatgpt"})
    login_id = out["chatgpt_login"].get("loginId")
    out["cancel"] = await adapter.request("account/login/cancel", {"loginId": login_id})
    seen = await wait_for(adapter, 4)
    out["cancel_notifications"] = seen[3:4]
    out["read_after"] = await adapter.request("account/read", {})
    await asyncio.sleep(0.2)
    out["extra_notifications"] = adapter.notifications[4:]
    await adapter.close()
    return out


def main(adapter: Adapter) -> None:
    result = asyncio.run(asyncio.wait_for(run(adapter), timeout=60))
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
