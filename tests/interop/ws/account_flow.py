"""Drives a real app-server over WebSocket with the published codex-app-server-sdk client.

Usage: account_flow.py ws://127.0.0.1:PORT

Connects, initializes (the client sends `initialize`, then a bare `{"method":"initialized"}`),
reads the account (signed out), signs in with an API key, waits for the plain
`account/login/completed` and `account/updated` frames, reads the account again, logs out and
waits for `account/updated` again. Prints one line per step and `OK` at the end; exits non-zero
with the reason on the first deviation.
"""

import asyncio
import sys

from codex_app_server_sdk import CodexClient
from codex_app_server_sdk.transport import WebSocketTransport

API_KEY = "sk-interop-ws"
TIMEOUT = 20.0


class RecordingTransport(WebSocketTransport):
    """The client's own WebSocket transport, also keeping every server notification."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.notifications: asyncio.Queue = asyncio.Queue()

    async def recv(self):
        message = await super().recv()
        if "method" in message and "id" not in message:
            await self.notifications.put(message)
        return message


def check(condition: bool, what: str) -> None:
    if not condition:
        print(f"FAILED: {what}", flush=True)
        sys.exit(1)


async def notification(transport: RecordingTransport, method: str) -> dict:
    """The next notification of `method` (others are skipped and printed)."""
    while True:
        message = await asyncio.wait_for(transport.notifications.get(), TIMEOUT)
        if message.get("method") == method:
            check("jsonrpc" not in message or message["jsonrpc"] == "2.0", f"envelope {message}")
            return message["params"]
        print(f"skipped {message.get('method')}", flush=True)


async def main(url: str) -> None:
    transport = RecordingTransport(url)
    client = CodexClient(transport, request_timeout=TIMEOUT)
    await client.start()
    try:
        init = await client.initialize()
        check("userAgent" in init.raw, f"initialize result {init.raw}")
        print(f"initialized: {init.raw['userAgent'].split(' ')[0]}", flush=True)

        account = await client.request("account/read", {})
        check(account.get("account") is None, f"signed out at first: {account}")
        print("account/read: signed out", flush=True)

        started = await client.request(
            "account/login/start", {"type": "apiKey", "apiKey": API_KEY}
        )
        check(started == {"type": "apiKey"}, f"login start {started}")
        completed = await notification(transport, "account/login/completed")
        check(completed.get("success") is True, f"login completed {completed}")
        print("account/login/completed: success", flush=True)
        updated = await notification(transport, "account/updated")
        check(updated.get("authMode") == "apikey", f"account updated {updated}")
        print("account/updated: apikey", flush=True)

        account = await client.request("account/read", {})
        check((account.get("account") or {}).get("type") == "apiKey", f"read {account}")
        print("account/read: apiKey", flush=True)

        logged_out = await client.request("account/logout", {})
        check(logged_out == {}, f"logout {logged_out}")
        updated = await notification(transport, "account/updated")
        check(updated.get("authMode") is None, f"account updated after logout {updated}")
        print("account/logout: signed out, account/updated: null", flush=True)

        account = await client.request("account/read", {})
        check(account.get("account") is None, f"signed out at the end: {account}")
    finally:
        await client.close()
    print("OK", flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
