"""A small local web site the browser tests drive: forms, dialogs, an iframe, a file input, console errors,
XHR and fetch calls, a slow page, a download, cookies, drag and drop, layout shifts and long tasks."""

# ruff: noqa: E501 - the pages are HTML, kept as written

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

PAGES: dict[str, str] = {
    "/form": """<!doctype html><title>Form</title>
<h1>Sign up</h1>
<form id="f" onsubmit="event.preventDefault(); document.getElementById('out').textContent =
  'Submitted: ' + this.name.value + ' / ' + this.plan.value + ' / ' + this.note.value">
  <label>Name <input name="name"></label>
  <label>Plan <select name="plan"><option value="free">Free</option><option value="pro">Pro</option></select></label>
  <label>Note <textarea name="note"></textarea></label>
  <button type="submit">Send</button>
</form>
<p id="out" role="status"></p>
<button id="hov" onmouseover="this.textContent='Hovered'">Hover me</button>
<button ondblclick="this.textContent='Double clicked'">Double me</button>
<label>Keys <input id="keys" onkeydown="document.getElementById('last').textContent='Key: '+event.key"></label>
<p id="last"></p>""",
    "/dialog": """<!doctype html><title>Dialogs</title>
<button onclick="alert('Hello from alert')">Alert</button>
<button onclick="document.getElementById('r').textContent = confirm('Sure?') ? 'confirmed' : 'cancelled'">Confirm</button>
<button onclick="document.getElementById('r').textContent = 'answer: ' + prompt('Your name?')">Prompt</button>
<p id="r"></p>""",
    "/iframe": """<!doctype html><title>Frames</title><h1>Outer</h1>
<iframe src="/inner" title="inner frame"></iframe>""",
    "/inner": """<!doctype html><title>Inner</title>
<button onclick="this.textContent='Inner clicked'">Inner button</button>""",
    "/upload": """<!doctype html><title>Upload</title>
<label>File <input type="file" id="file" onchange="const f=this.files[0];
  document.getElementById('u').textContent='Got '+f.name+' ('+f.size+' bytes)'"></label>
<p id="u"></p>""",
    "/console": """<!doctype html><title>Console</title><p>console page</p>
<script>console.log('hello log'); console.warn('careful'); console.error('boom error');
setTimeout(() => { throw new Error('uncaught failure') }, 0);</script>""",
    "/xhr": """<!doctype html><title>XHR</title><p id="x">loading</p>
<script>
fetch('/api/data').then(r => r.json()).then(d => { document.getElementById('x').textContent = 'fetched ' + d.items.length });
const x = new XMLHttpRequest(); x.open('POST', '/api/echo'); x.setRequestHeader('content-type', 'application/json');
x.send(JSON.stringify({hello: 'world'}));
</script>""",
    "/private": """<!doctype html><title>Private</title><p>tries private addresses</p>
<img src="http://10.0.0.1/pixel.png"><img src="http://169.254.169.254/latest/meta-data/">
<script>fetch('http://127.0.0.2:9/secret').catch(e => console.log('fetch refused'))</script>""",
    "/drag": """<!doctype html><title>Drag</title>
<div id="src" draggable="true" role="button" aria-label="Drag source"
  ondragstart="event.dataTransfer.setData('text', 'x')">Source</div>
<div id="dst" role="region" aria-label="Drop target" style="width:200px;height:100px;border:1px solid"
  ondragover="event.preventDefault()" ondrop="event.preventDefault(); this.textContent='Dropped!'">Target</div>""",
    "/download": """<!doctype html><title>Download</title><a href="/file.txt" download="report.txt">Get report</a>""",
    "/perf": """<!doctype html><title>Perf</title><div id="top"></div><p>content</p>
<script>
const t0 = performance.now(); while (performance.now() - t0 < 120) {}
setTimeout(() => { const d = document.createElement('div'); d.style.height = '300px';
  d.textContent = 'shifted'; document.getElementById('top').appendChild(d); }, 50);
</script>""",
    "/big": "<!doctype html><title>Big</title><p>" + ("lorem ipsum " * 3000) + "</p>",
    "/storage": """<!doctype html><title>Storage</title><p id="s"></p>
<script>document.getElementById('s').textContent = 'stored: ' + (localStorage.getItem('k') || 'nothing')</script>""",
    "/redirecting-image": """<!doctype html><title>Redirects</title><p>images that redirect</p>
<img src="/redirect?to=http://169.254.169.254/latest/meta-data/">""",
    "/crash": """<!doctype html><title>Crash</title><p>this page will crash</p>""",
    "/late": """<!doctype html><title>Late</title><p id="l"></p>
<script>setTimeout(() => { document.getElementById('l').textContent = 'Finally here' }, 300)</script>""",
}


@dataclass
class LocalSite:
    url: str
    requests: list[str] = field(default_factory=list)

    def at(self, path: str) -> str:
        return self.url + path


class _Handler(BaseHTTPRequestHandler):
    site: LocalSite

    def log_message(self, format: str, *args: object) -> None:
        return

    def _send(
        self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        self.site.requests.append(parts.path)
        query = parse_qs(parts.query)
        if parts.path in PAGES:
            headers = {"Set-Cookie": "visited=yes; Path=/"} if parts.path == "/form" else None
            self._send(200, PAGES[parts.path].encode(), "text/html; charset=utf-8", headers)
        elif parts.path == "/redirect":
            self._send(302, b"", "text/plain", {"Location": query["to"][0]})
        elif parts.path == "/slow":
            time.sleep(float(query.get("s", ["3"])[0]))
            self._send(200, b"<!doctype html><title>Slow</title><p>slow page done</p>", "text/html")
        elif parts.path == "/api/data":
            self._send(
                200, json.dumps({"items": list(range(5)), "pad": "x" * 30_000}).encode(), "application/json"
            )
        elif parts.path == "/file.txt":
            self._send(200, b"report contents\n", "text/plain", {"Content-Disposition": "attachment"})
        else:
            self._send(404, b"not found", "text/plain")

    def do_POST(self) -> None:
        self.site.requests.append(urlsplit(self.path).path)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self._send(200, json.dumps({"echo": body.decode()}).encode(), "application/json")


@contextlib.contextmanager
def serve_site() -> Iterator[LocalSite]:
    handler = type("Handler", (_Handler,), {})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    site = LocalSite(f"http://127.0.0.1:{server.server_port}")
    handler.site = site
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()
