"""/api/docs with no internet: Swagger UI's assets come from the ``swagger-ui-bundle-v2``
package (Swagger UI 5, Apache-2.0, its licence ships in the package's dist-info) and are
served from /api/docs/assets, instead of FastAPI's default CDN links."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

DOCS_URL = "/api/docs"
ASSETS = DOCS_URL + "/assets"


def install_docs(app: FastAPI) -> None:
    """Mount the assets and serve the page (create_app passes docs_url=None)."""
    app.mount(ASSETS, StaticFiles(directory=str(swagger_ui_path)), name="swagger-ui")

    async def docs(_: Request) -> HTMLResponse:  # a framework route, as FastAPI's own is
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} - API docs",
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon-32x32.png",
        )

    app.add_route(DOCS_URL, docs, include_in_schema=False)
