"""codex-app-server-client (PyPI) against our binary: its own ``AsyncCodexClient`` with our binary
as ``codex_bin`` and ``--demo`` as its ``extra_args`` (it launches
``<bin> --demo app-server --listen stdio://``)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from codex_app_server_client import AsyncCodexClient  # noqa: E402
from codex_app_server_client.types.auth import LoginAccountParams  # noqa: E402

import scenario  # noqa: E402


class Adapter(scenario.Adapter):
    def __init__(self, binary: str) -> None:
        self.client = AsyncCodexClient(codex_bin=binary, extra_args=["--demo"])
        self.notifications = []
        self.client.on_notification(None, self._record)

    def _record(self, method, event) -> None:
        params = event.model_dump(by_alias=True, mode="json") if event is not None else None
        self.notifications.append({"method": method, "params": params})

    async def start(self) -> dict:
        response = await self.client.start()
        return response.model_dump(by_alias=True, mode="json")

    def child_pid(self) -> int:
        return self.client._transport._proc.pid

    async def request(self, method, params):
        # The client's typed wrappers for the account methods.
        if method == "account/read":
            return (await self.client.account_read()).model_dump(by_alias=True, mode="json")
        if method == "account/login/start":
            return await self.client.account_login_start(LoginAccountParams(**params))
        if method == "account/login/cancel":
            return await self.client.account_login_cancel(params["loginId"])
        if method == "account/logout":
            return await self.client.account_logout()
        return await self.client.request(method, params)

    async def close(self) -> None:
        await self.client.close()


if __name__ == "__main__":
    scenario.main(Adapter(sys.argv[1]))
