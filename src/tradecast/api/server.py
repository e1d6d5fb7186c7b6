"""Running the API with uvicorn inside the bot's own event loop.

freqtrade runs uvicorn in a thread with its own loop; tradecast runs it as a task of the bot's loop, so
routes can await the engine directly. The socket is bound here, before uvicorn starts, so that a port in
use becomes a clear :class:`ConfigError` instead of uvicorn's ``sys.exit``. uvicorn does not get to
install signal handlers: the bot owns SIGINT/SIGTERM and calls :meth:`ApiServer.stop`.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
from collections.abc import Generator

import uvicorn

from tradecast.core.errors import ConfigError, TradecastError
from tradecast.core.logbuffer import install_secret_mask

__all__ = ["ApiServer"]

logger = logging.getLogger(__name__)


class _InLoopServer(uvicorn.Server):
    """A uvicorn server that leaves signal handling to its owner."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:  # uvicorn >= 0.29
        yield

    def install_signal_handlers(self) -> None:  # older uvicorn versions
        return None


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ipaddress.ip_address(host).version == 6 else socket.AF_INET
    # proto IPPROTO_TCP, not 0: accepted sockets inherit it, and asyncio turns Nagle off (TCP_NODELAY) only
    # for sockets whose proto is TCP; without that, small responses waited ~40 ms for a delayed ACK
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        # lets a restarted bot reuse a port in TIME_WAIT; a port with a live listener still fails
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        reason = "already in use" if exc.errno in (98, 48, 10048) else exc.strerror or str(exc)
        raise ConfigError(
            f"cannot listen on {host}:{port} (api_server.listen_port): {reason}; "
            "stop the other program or choose another port"
        ) from None
    sock.set_inheritable(True)
    return sock


class ApiServer:
    """uvicorn serving ``app`` on ``host:port`` as a task of the running event loop.

    ``port=0`` picks a free port; :attr:`port` tells which one after :meth:`start`.
    """

    def __init__(self, app: object, host: str, port: int, access_log: bool = False) -> None:
        self.app = app
        self.host = host
        self.port = port
        self.access_log = access_log
        self._server: _InLoopServer | None = None
        self._task: asyncio.Task[None] | None = None
        self._failed = False

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def start(self, timeout_s: float = 10.0) -> None:
        """Bind, start serving and return once the server accepts connections."""
        if self._task is not None:
            raise RuntimeError("the API server is already started")
        try:
            ipaddress.ip_address(self.host)
        except ValueError:
            raise ConfigError(
                f"api_server.listen_ip_address must be an IP address, got {self.host!r}"
            ) from None
        sock = _bind(self.host, self.port)
        self.port = sock.getsockname()[1]
        install_secret_mask(logging.getLogger("uvicorn.access"))
        install_secret_mask(logging.getLogger("uvicorn.error"))
        config = uvicorn.Config(
            self.app,  # type: ignore[arg-type]
            log_config=None,  # our logging setup stays in charge
            access_log=self.access_log,
            ws_ping_interval=None,  # the message websocket has no server ping (spec §2.5)
            lifespan="on",
            timeout_graceful_shutdown=5,  # then open connections (websockets) are cancelled
        )
        self._server = _InLoopServer(config)
        self._failed = False
        self._task = asyncio.create_task(self._serve(sock), name="api-server")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while not self._server.started:
            if self._task.done() or loop.time() > deadline:
                await self.stop()
                raise TradecastError(f"the API server did not start on {self.url} (see the log above)")
            await asyncio.sleep(0.01)
        logger.info("API server listening on %s", self.url)

    async def _serve(self, sock: socket.socket) -> None:
        assert self._server is not None
        try:
            await self._server.serve(sockets=[sock])
        except SystemExit:
            # uvicorn exits the process when the lifespan startup fails; keep the bot in charge instead
            self._failed = True
        finally:
            sock.close()

    async def stop(self, timeout_s: float = 10.0) -> None:
        """Stop accepting connections, let running requests finish (up to ``timeout_s``) and return."""
        if self._server is None or self._task is None:
            return
        self._server.should_exit = True
        try:
            await asyncio.wait_for(asyncio.shield(self._task), timeout_s)
        except TimeoutError:
            logger.warning("API server did not stop within %.0f s; closing connections", timeout_s)
            self._server.force_exit = True
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(self._task, 2.0)
        finally:
            self._server = None
            self._task = None
