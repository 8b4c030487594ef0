"""codex-agent-sdk (PyPI) against our binary: ``CodexClient`` with our binary as ``codex_path``
and ``--demo`` in ``args`` (it launches ``<bin> app-server --demo``); requests through its
``request`` and notifications through its ``notifications()`` stream."""

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from codex_agent_sdk.client import CodexClient  # noqa: E402
from codex_agent_sdk.types import CodexClientOptions  # noqa: E402

import scenario  # noqa: E402


class Adapter(scenario.Adapter):
    def __init__(self, binary: str) -> None:
        self.client = CodexClient(CodexClientOptions(codex_path=binary, args=["--demo"]))
        self.notifications = []
        self._pump = None

    async def _drain(self) -> None:
        async for note in self.client.notifications():
            self.notifications.append(note)

    async def start(self) -> dict:
        await self.client.connect()
        self._pump = asyncio.create_task(self._drain())
        return {"connected": True}

    def child_pid(self) -> int:
        return self.client._transport._process.pid

    async def request(self, method, params):
        return await self.client.request(method, params)

    async def close(self) -> None:
        if self._pump is not None:
            self._pump.cancel()
        await self.client.close()


if __name__ == "__main__":
    scenario.main(Adapter(sys.argv[1]))
