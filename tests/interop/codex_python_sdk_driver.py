"""codex-python-sdk (PyPI) against our binary: ``AsyncCodexAgenticClient`` with our binary as
``codex_command`` and ``app_server_args=["app-server", "--demo"]``; it appends its own flags
(``--enable guardian_approval -c web_search="live"``) and sends ``"jsonrpc": "2.0"`` on every
message. It has no public auth wrappers besides ``account_read``, so the scenario uses its request
and notification primitives (``_request``, ``_wait_for_notification``)."""

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from codex_python_sdk import AsyncCodexAgenticClient  # noqa: E402

import scenario  # noqa: E402


class Adapter(scenario.Adapter):
    def __init__(self, binary: str) -> None:
        self.client = AsyncCodexAgenticClient(
            codex_command=binary, app_server_args=["app-server", "--demo"]
        )
        self.notifications = []
        self._pump = None

    async def _drain(self) -> None:
        while True:
            try:
                note = await self.client._wait_for_notification(lambda _: True, timeout=3600)
            except asyncio.TimeoutError:
                continue
            self.notifications.append(note)

    async def start(self) -> dict:
        await self.client.connect()
        self._pump = asyncio.create_task(self._drain())
        return {"connected": True}

    def child_pid(self) -> int:
        return self.client._proc.pid

    async def request(self, method, params):
        if method == "account/read":
            return await self.client.account_read()
        return await self.client._request(method, params)

    async def close(self) -> None:
        if self._pump is not None:
            self._pump.cancel()
        await self.client.close()


if __name__ == "__main__":
    scenario.main(Adapter(sys.argv[1]))
