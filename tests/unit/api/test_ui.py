"""Static UI: served files, SPA fallback, version, and refusal of everything outside the UI folder."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from .conftest import make_api_config

SECRET = "TOPSECRET-CONTENT"


@pytest.fixture
def ui_dir(tmp_path: Path) -> Path:
    ui = tmp_path / "ui"
    (ui / "assets").mkdir(parents=True)
    (ui / "index.html").write_text("<html>INDEX</html>")
    (ui / "assets" / "app.js").write_text("console.log('app')")
    (ui / "assets" / "style.css").write_text("body{}")
    (ui / ".uiversion").write_text("2.1.0\n")
    (tmp_path / "secret.txt").write_text(SECRET)
    (ui / "assets" / "link.txt").symlink_to(tmp_path / "secret.txt")
    (ui / "out").symlink_to(tmp_path)
    return ui


async def asgi_get(app: Any, path: str, raw_path: bytes | None = None) -> tuple[int, bytes]:
    """Send a GET with an exact (possibly un-normalised) path, as a server would pass it on."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": raw_path or path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 1),
        "server": ("testserver", 80),
    }
    status = 0
    body = b""
    sent_request = False
    done = asyncio.Event()

    async def receive() -> dict[str, Any]:
        nonlocal sent_request
        if not sent_request:
            sent_request = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await done.wait()  # like a server: nothing more until the client goes away
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status, body
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            body += message.get("body", b"")
            if not message.get("more_body"):
                done.set()

    await asyncio.wait_for(app(scope, receive, send), 5)
    return status, body


async def test_files_index_and_version(app_factory, ui_dir: Path) -> None:
    app = app_factory(ui_dir=ui_dir)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as ac:
        js = await ac.get("/assets/app.js")
        assert js.status_code == 200 and js.headers["content-type"].startswith("application/javascript")
        assert (await ac.get("/assets/style.css")).headers["content-type"].startswith("text/css")
        for path in ("/", "/trade", "/dashboard/x", "/assets"):
            page = await ac.get(path)
            assert page.status_code == 200 and "INDEX" in page.text, path
        assert (await ac.get("/ui_version")).json() == {"version": "2.1.0"}
        for path in ("/api/v1/unknown", "/apifoo", "/.uiversion", "/.env"):
            resp = await ac.get(path)
            assert resp.status_code == 404 and resp.json() == {"detail": "Not Found"}, path


@pytest.mark.parametrize(
    ("path", "raw"),
    [
        ("/assets/../../secret.txt", b"/assets/..%2F..%2Fsecret.txt"),
        ("/../secret.txt", None),
        ("/assets/../../../../../../etc/passwd", None),
        ("/assets/%2e%2e/%2e%2e/secret.txt", None),  # double-encoded dots stay literal: no file
        ("/assets/link.txt", None),  # symlink to a file outside
        ("/out/secret.txt", None),  # symlinked directory pointing outside
        ("//etc/passwd", None),
        ("/assets/..\\..\\secret.txt", None),
        ("/assets/x\x00y", None),
    ],
)
async def test_traversal_never_serves_outside(
    app_factory, ui_dir: Path, path: str, raw: bytes | None
) -> None:
    app = app_factory(ui_dir=ui_dir)
    status, body = await asgi_get(app, path, raw)
    assert SECRET.encode() not in body and b"root:" not in body
    assert status in (200, 404)
    if status == 200:
        assert b"INDEX" in body  # only the SPA page, never a file from elsewhere


async def test_encoded_traversal_through_httpx(app_factory, ui_dir: Path) -> None:
    app = app_factory(ui_dir=ui_dir)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as ac:
        resp = await ac.get("/assets/..%2F..%2Fsecret.txt")
        assert SECRET not in resp.text and resp.status_code == 404


async def test_fallback_page_without_ui(app_factory, tmp_path: Path) -> None:
    for ui in (None, tmp_path / "missing"):
        app = app_factory(make_api_config(ui_path=ui))
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as ac:
            page = await ac.get("/trade")
            assert page.status_code == 200 and "text/html" in page.headers["content-type"]
            assert "frequi/releases" in page.text and "api_server.ui_path" in page.text
            assert (await ac.get("/ui_version")).json() == {"version": "not_installed"}


async def test_ui_path_from_config(app_factory, ui_dir: Path) -> None:
    app = app_factory(make_api_config(ui_path=str(ui_dir)))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as ac:
        assert "INDEX" in (await ac.get("/")).text
