"""Serving a FreqUI build (spec §4 "UI"), without freqtrade's path traversal (spec §6.2).

freqtrade checks containment lexically, so ``/assets/..%2F..%2Fetc/passwd`` escapes the UI folder. Here a
request path is refused when any segment starts with ``.`` (this also covers ``..``, ``.env`` and the
``.uiversion`` file), and what remains is served only if ``(ui_dir / path).resolve()`` (symlinks followed)
is still inside ``ui_dir.resolve()``. Unknown paths get ``index.html`` so the single-page app can route
them; with no UI installed a short page explains how to install one.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from starlette.responses import Response

__all__ = ["FALLBACK_HTML", "create_ui_router"]

FALLBACK_HTML = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>tradecast: no UI installed</title></head>
<body style="font-family: sans-serif; max-width: 42em; margin: 3em auto; line-height: 1.5">
<h1>tradecast is running</h1>
<p>The REST API answers under <code>/api/v1</code> (try <a href="/api/v1/ping">/api/v1/ping</a>),
but no web UI is installed{where}.</p>
<p>To use FreqUI: download a release zip from
<a href="https://github.com/freqtrade/frequi/releases">github.com/freqtrade/frequi/releases</a>,
unpack it into the folder named by <code>api_server.ui_path</code> in your config (or into
<code>&lt;user_data_dir&gt;/ui</code>, so that <code>index.html</code> sits directly in it) and reload
this page.</p>
</body>
</html>
"""


def _not_found() -> JSONResponse:
    return JSONResponse({"detail": "Not Found"}, status_code=404)


def _inside(root: Path, relative: str) -> Path | None:
    """``root / relative`` resolved, or ``None`` if it leaves ``root`` or cannot be resolved."""
    try:
        target = (root / relative).resolve()
    except (OSError, ValueError, RuntimeError):  # NUL bytes, symlink loops
        return None
    return target if target == root or target.is_relative_to(root) else None


def create_ui_router(ui_dir: str | Path | None, *, reserved: Iterable[str] = ()) -> APIRouter:
    """Router for ``/ui_version``, ``/`` and the ``/{path}`` catch-all; include it last.

    ``reserved`` names top-level paths that must 404 instead of serving the UI (``docs`` and
    ``openapi.json`` when OpenAPI is disabled).
    """
    root = Path(ui_dir).expanduser().resolve() if ui_dir else None
    reserved_paths = frozenset(reserved)
    router = APIRouter(include_in_schema=False)

    def fallback() -> HTMLResponse:
        where = f" (looked in {html.escape(str(root))})" if root else ""
        return HTMLResponse(FALLBACK_HTML.replace("{where}", where))

    def index() -> Response:
        if root is None:
            return fallback()
        index_file = _inside(root, "index.html")
        if index_file is None or not index_file.is_file():
            return fallback()
        return FileResponse(index_file, media_type="text/html")

    @router.get("/ui_version")
    def ui_version() -> dict[str, str]:
        version = "not_installed"
        version_file = _inside(root, ".uiversion") if root else None
        if version_file is not None and version_file.is_file():
            version = version_file.read_text(encoding="utf-8", errors="replace").strip() or version
        return {"version": version}

    @router.get("/")
    def ui_root() -> Response:
        return index()

    @router.get("/{path:path}")
    def ui_file(path: str) -> Response:
        segments = path.split("/")
        if (
            path.startswith("api")
            or path in reserved_paths
            or any(segment.startswith(".") for segment in segments)
            or "\\" in path
            or "\x00" in path
        ):
            return _not_found()
        if root is None:
            return fallback()
        target = _inside(root, path.lstrip("/") if path.startswith("/") else path)
        if path.startswith("/") or target is None:
            return _not_found()  # absolute paths and anything resolving outside the UI folder
        if target.is_file():
            media_type = "application/javascript" if target.suffix == ".js" else None
            return FileResponse(target, media_type=media_type)
        return index()

    return router
