"""What the browser components load, served by the app's own server (nothing from elsewhere).

Three kinds of files, all under `/latentlab/` on the Streamlit server:

- `ort/…`: onnxruntime-web's wasm build (Microsoft's ONNX Runtime for the web), from the npm
  package that `npm ci --prefix latentlab/ui/components` installs next to this file;
- `build/scatter.mjs`: regl-scatterplot (Lekschas 2023, WebGL scatter plots) bundled by the
  same install step (esbuild, see package.json), and `js/…`: our own worker script;
- `decoder/<content hash>.onnx`: a checkpoint's decoder exported by `latentlab.export`. The
  handler waits for an export in progress, so a page may hand out the URL before the file exists.

`routes()` is passed to `st.App(..., routes=routes())` in app.py. When the npm step has not run,
`missing()` says what to do and the components fall back to the server path.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

HERE = Path(__file__).resolve().parent
NODE = HERE / "node_modules"
ORT_DIST = NODE / "onnxruntime-web" / "dist"
BUILD = HERE / "build"
JS = HERE / "js"
PREFIX = "/latentlab"
INSTALL = "npm ci --prefix latentlab/ui/components"
# The files the browser fetches: the wasm build of onnxruntime-web (no WebGPU/JSEP variants) and
# the bundled scatter plot.
REQUIRED = {"live": [ORT_DIST / "ort.wasm.min.mjs", ORT_DIST / "ort-wasm-simd-threaded.mjs",
                     ORT_DIST / "ort-wasm-simd-threaded.wasm"],
            "scatter": [BUILD / "scatter.mjs"]}


def missing(kind: str) -> str | None:
    """None when the browser files of `kind` ("live" or "scatter") are installed, else a message."""
    absent = [p for p in REQUIRED[kind] if not p.is_file()]
    if not absent:
        return None
    return (f"{absent[0].relative_to(HERE.parent.parent.parent)} is missing: run `{INSTALL}` "
            "(the README's set-up command does)")


async def _decoder(request):
    from starlette.responses import FileResponse, PlainTextResponse

    from latentlab import export

    name = request.path_params["name"]
    digest = name.removesuffix(".onnx")
    try:
        job = export.find_export(digest) if name.endswith(".onnx") else None
    except export.ExportError:
        job = None
    if job is None:
        return PlainTextResponse("no such decoder", status_code=404)
    try:
        path = await asyncio.wrap_future(job)
    except Exception as exc:  # noqa: BLE001 - reported to the browser, which falls back
        return PlainTextResponse(f"export failed: {exc}", status_code=500)
    # The file name is the checkpoint's content hash: its bytes never change.
    return FileResponse(path, media_type="application/octet-stream",
                        headers={"Cache-Control": "public, max-age=31536000, immutable"})


def routes() -> list:
    """Starlette routes for `st.App(routes=...)`; directories that are not installed answer 404."""
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles

    return [
        Route(f"{PREFIX}/decoder/{{name}}", _decoder),
        Mount(f"{PREFIX}/ort", StaticFiles(directory=ORT_DIST, check_dir=False)),
        Mount(f"{PREFIX}/build", StaticFiles(directory=BUILD, check_dir=False)),
        Mount(f"{PREFIX}/js", StaticFiles(directory=JS, check_dir=False)),
    ]
