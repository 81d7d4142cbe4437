"""Running one server process and saying ``listening on`` only when it accepts connections.

uvicorn applies the app's start-up (migrations, model loading and warm-up) before it binds the
socket, which takes seconds on a quiet machine and a minute or more on a loaded one: a line printed
before that sends a newcomer's first ``curl`` to a closed port.
"""

from __future__ import annotations

import socket
import sys
from collections.abc import Sequence
from typing import Any

import typer
import uvicorn


class AnnouncingServer(uvicorn.Server):
    """A uvicorn server that prints ``lines`` once its socket is bound, before it answers anything
    (the event loop answers requests only after this start-up returns)."""

    def __init__(self, config: uvicorn.Config, lines: Sequence[str]) -> None:
        super().__init__(config)
        self.lines = tuple(lines)

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started and not self.should_exit:
            for line in self.lines:
                typer.echo(line)
            sys.stdout.flush()


def run_one_process(app: Any, host: str, port: int, lines: Sequence[str]) -> None:
    """uvicorn in this process; ``lines`` printed once it listens."""
    AnnouncingServer(uvicorn.Config(app, host=host, port=port, log_config=None), lines).run()
