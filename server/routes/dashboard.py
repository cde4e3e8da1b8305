"""GET /dashboard: the read-only web dashboard, static files shipped in the package (no build step, no
CDN). The page fetches the documented JSON routes (/v1/models, /v1/ps, /v1/usage/series, /v1/fine_tuning/jobs
and their events) with the viewer's key, so it shows what that key may see: its own data, or everyone's
for an admin key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter
from fastapi.responses import FileResponse, RedirectResponse

from llmaas._errors import NotFoundError

FOLDER = Path(__file__).resolve().parent.parent / "dashboard"
FILES = {"index.html": "text/html", "app.js": "text/javascript", "charts.js": "text/javascript",
         "style.css": "text/css"}

router: APIRouter = APIRouter(include_in_schema=False)


@router.get("/dashboard")
async def dashboard() -> Any:
    return RedirectResponse("/dashboard/")


@router.get("/dashboard/{name:path}")
async def dashboard_file(name: str) -> Any:
    name = name or "index.html"
    if name not in FILES:
        raise NotFoundError(f"no dashboard file {name!r}", status_code=404)
    return FileResponse(FOLDER / name, media_type=FILES[name],
                        headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff",
                                 "X-Frame-Options": "DENY",
                                 "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
                                                            "frame-ancestors 'none'"})
