"""The real uvicorn server inside the running loop, and the REST client against it."""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
from pathlib import Path

import httpx
import pytest

from tradecast.api import ApiServer
from tradecast.api.client import ApiRequestError, RestClient
from tradecast.core.errors import ConfigError

from .conftest import PASSWORD, USERNAME


async def raw_get(port: int, target: str) -> bytes:
    """Send a request line exactly as written (no client-side path normalisation)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    await writer.drain()
    data = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    return data


async def test_start_serve_mask_and_stop(
    app_factory, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    started: list[bool] = []

    async def on_startup(app: object) -> None:
        started.append(True)

    ui = tmp_path / "ui"
    ui.mkdir()
    (ui / "index.html").write_text("INDEX")
    (tmp_path / "secret.txt").write_text("TOPSECRET")
    sigint_before = signal.getsignal(signal.SIGINT)
    server = ApiServer(app_factory(on_startup=on_startup, ui_dir=ui), "127.0.0.1", 0, access_log=True)
    with caplog.at_level(logging.INFO, logger="uvicorn.access"):
        await server.start()
        try:
            assert server.port > 0 and started == [True]
            assert signal.getsignal(signal.SIGINT) is sigint_before
            async with httpx.AsyncClient(base_url=server.url) as http:
                response = await http.get("/api/v1/ping", params={"token": "hunter2-secret"})
                assert response.json() == {"status": "pong"}
            for target in ("/../secret.txt", "/assets/..%2F..%2Fsecret.txt", "/%2e%2e/secret.txt"):
                assert b"TOPSECRET" not in await raw_get(server.port, target), target
        finally:
            await server.stop()
    access = [r.getMessage() for r in caplog.records if r.name == "uvicorn.access"]
    assert any("/api/v1/ping?token=***" in line for line in access), access
    assert not any("hunter2" in r.getMessage() for r in caplog.records)
    with pytest.raises(httpx.ConnectError):
        async with httpx.AsyncClient(base_url=server.url) as http:
            await http.get("/api/v1/ping")


async def test_port_in_use_is_a_config_error(app_factory) -> None:
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    port = holder.getsockname()[1]
    try:
        with pytest.raises(ConfigError, match=rf"127\.0\.0\.1:{port}.*already in use"):
            await ApiServer(app_factory(), "127.0.0.1", port).start()
    finally:
        holder.close()


async def test_failed_startup_hook_does_not_exit(app_factory) -> None:
    def broken(app: object) -> None:
        raise RuntimeError("no database")

    server = ApiServer(app_factory(on_startup=broken), "127.0.0.1", 0)
    with pytest.raises(Exception, match="did not start"):
        await server.start()


async def test_rest_client_against_the_server(app_factory) -> None:
    server = ApiServer(app_factory(), "127.0.0.1", 0)
    await server.start()
    try:

        def use_client() -> tuple[object, ...]:
            with RestClient(server.url, USERNAME, PASSWORD) as client:
                pong = client.ping()
                version = client.version()
                tokens = dict(client.login())
                # an invalid access token makes the client refresh once and retry
                client._access = "expired-or-garbage"
                version_again = client.version()
                refreshed = client._access != "expired-or-garbage"
            with RestClient(server.url, USERNAME, PASSWORD, auth="basic") as basic_client:
                basic_version = basic_client.version()
            with RestClient(server.url, USERNAME, "wrong") as bad:
                try:
                    bad.version()
                    error = None
                except ApiRequestError as exc:
                    error = (exc.status_code, exc.payload)
            return pong, version, tokens, version_again, refreshed, basic_version, error

        pong, version, tokens, again, refreshed, basic_version, error = await asyncio.to_thread(use_client)
        assert pong == {"status": "pong"}
        assert version == again == basic_version and "version" in version
        assert set(tokens) == {"access_token", "refresh_token"} and refreshed
        assert error == (401, {"detail": "Incorrect username or password"})
    finally:
        await server.stop()


async def test_bad_host_is_a_config_error(app_factory) -> None:
    with pytest.raises(ConfigError, match="must be an IP address"):
        await ApiServer(app_factory(), "localhost", 0).start()


async def test_listening_socket_is_tcp_so_responses_skip_nagle(app_factory) -> None:
    """asyncio switches Nagle off only on sockets whose proto is TCP; with proto 0 every small answer waited
    for the peer's delayed ACK (~40 ms on loopback)."""
    from tradecast.api.server import _bind

    sock = _bind("127.0.0.1", 0)
    try:
        assert sock.proto == socket.IPPROTO_TCP
    finally:
        sock.close()
