"""Headless Chromium for checking the newsletter: DOM measurements and screenshots.

Used by ``tests/test_browser.py`` and ``tools/screenshot.py``. Each ``Browser`` is a fresh
Chromium (a new profile folder, no network services) driven over the DevTools protocol on
``--remote-debugging-pipe`` (file descriptors 3 and 4, NUL-separated JSON): no websocket
client, no extra package. The viewport is set with ``Emulation.setDeviceMetricsOverride``,
so widths under the window's minimum (a 375px phone) are exact, and measurements run with
``Runtime.evaluate``: the page itself never carries a script.
"""

from __future__ import annotations

import base64
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any

__all__ = ["MEASURE_JS", "Browser", "find_chromium"]

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--mute-audio",
    "--remote-debugging-pipe",
)

# Reads what the checks need from the laid-out page; evaluated in the browser.
MEASURE_JS = r"""
(function () {
  var d = document, w = window, r = {};
  r.innerWidth = w.innerWidth;
  r.scrollWidth = d.documentElement.scrollWidth;
  r.bodyScrollWidth = d.body.scrollWidth;
  r.scrollHeight = d.documentElement.scrollHeight;
  r.images = [].map.call(d.images, function (i) {
    return {alt: i.getAttribute('alt'), src: i.getAttribute('src')};
  });
  r.links = [].map.call(d.querySelectorAll('a[href], area[href]'), function (a) {
    return {href: a.getAttribute('href'), text: a.textContent.trim()};
  });
  // In-mail anchors ("Also in this edition"): whether each one's target is on the page.
  r.anchors = [].map.call(d.querySelectorAll('a[href^="#"]'), function (a) {
    var id = a.getAttribute('href').slice(1);
    return {href: a.getAttribute('href'), found: !!(id && d.getElementById(id))};
  });
  var p = d.querySelector('.preheader');
  r.preheader = p ? {display: getComputedStyle(p).display,
                     height: p.getBoundingClientRect().height,
                     rendered: p.getClientRects().length > 0,
                     text: p.textContent.trim().slice(0, 80)} : null;
  function style(selector, prop) {
    var e = d.querySelector(selector);
    return e ? getComputedStyle(e)[prop] : null;
  }
  r.pxPaddingLeft = style('.px', 'paddingLeft');
  r.headlineFontSize = style('.headline', 'fontSize');
  r.bodyBackground = style('body', 'backgroundColor');
  r.containerBackground = style('.container', 'backgroundColor');
  r.pointColor = style('.point', 'color');
  var c = d.querySelector('.container');
  r.containerWidth = c ? c.getBoundingClientRect().width : null;
  r.overflowing = [].filter.call(d.querySelectorAll('body *'), function (e) {
    var b = e.getBoundingClientRect();
    return b.width > 0 && b.right > w.innerWidth + 0.5;
  }).slice(0, 10).map(function (e) { return e.tagName.toLowerCase() + '.' + e.className; });
  r.editorPanel = !!d.getElementById('digest-editor-panel');
  return JSON.stringify(r);
})()
"""


def find_chromium() -> str | None:
    """The Chromium executable: $CHROMIUM, /usr/bin/chromium, or one on PATH."""
    for candidate in (os.environ.get("CHROMIUM"), "/usr/bin/chromium"):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


class Browser:
    """One headless Chromium and one page, driven over the DevTools pipe."""

    def __init__(self, *, timeout: float = 30.0) -> None:
        executable = find_chromium()
        if executable is None:
            raise RuntimeError("no Chromium found (install Debian's chromium)")
        self.timeout = timeout
        self._profile = tempfile.TemporaryDirectory(prefix="digest-chromium-")
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()

        def wire_pipe() -> None:  # in the child: the protocol wants fds 3 (in) and 4 (out)
            # Move both ends out of the way first: either may already sit on 3 or 4.
            read_end, write_end = os.dup(to_browser_r), os.dup(from_browser_w)
            os.dup2(read_end, 3)
            os.dup2(write_end, 4)
            os.set_inheritable(3, True)
            os.set_inheritable(4, True)

        self._process = subprocess.Popen(
            [executable, *FLAGS, f"--user-data-dir={self._profile.name}", "about:blank"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            close_fds=False,
            preexec_fn=wire_pipe,  # the helper is single-threaded; fds 3 and 4 need it
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buffer = b""
        self._next_id = 0
        self._events: list[dict[str, Any]] = []
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self._session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        self.call("Page.enable", session=True)

    # --- the protocol -------------------------------------------------------------------

    def _read_message(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self._from_browser], [], [], max(left, 0))
            if not ready:
                raise TimeoutError("chromium did not answer in time")
            chunk = os.read(self._from_browser, 1 << 16)
            if not chunk:
                raise RuntimeError("chromium closed the DevTools pipe")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        message: dict[str, Any] = json.loads(raw)
        return message

    def call(
        self, method: str, params: dict[str, Any] | None = None, *, session: bool = False
    ) -> dict[str, Any]:
        self._next_id += 1
        request: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            request["sessionId"] = self._session
        os.write(self._to_browser, json.dumps(request).encode() + b"\0")
        deadline = time.monotonic() + self.timeout
        while True:
            message = self._read_message(deadline)
            if message.get("id") == self._next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                result: dict[str, Any] = message.get("result", {})
                return result
            if "method" in message:
                self._events.append(message)

    def _wait_event(self, method: str) -> None:
        deadline = time.monotonic() + self.timeout
        while True:
            for event in self._events:
                if event["method"] == method:
                    self._events.remove(event)
                    return
            self._events.append(self._read_message(deadline))

    # --- what the checks use ---------------------------------------------------------------

    def open(self, url: str, width: int, *, height: int = 900, dark: bool = False) -> None:
        """Load ``url`` in a ``width`` x ``height`` viewport, light or dark scheme."""
        self.set_viewport(width, height)
        scheme = "dark" if dark else "light"
        self.call(
            "Emulation.setEmulatedMedia",
            {"features": [{"name": "prefers-color-scheme", "value": scheme}]},
            session=True,
        )
        self._events.clear()
        self.call("Page.navigate", {"url": url}, session=True)
        self._wait_event("Page.loadEventFired")

    def click(self, selector: str) -> None:
        """Click the element ``selector`` names (a form's button) and wait for the page that
        the click loads (a form POST answered with a redirect)."""
        self._events.clear()
        found = self.evaluate(
            f"(function () {{ var e = document.querySelector({json.dumps(selector)});"
            " if (!e) { return false; } e.click(); return true; })()"
        )
        if not found:
            raise RuntimeError(f"nothing on the page matches {selector!r}")
        self._wait_event("Page.loadEventFired")

    def set_viewport(self, width: int, height: int) -> None:
        self.call(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
            session=True,
        )

    def evaluate(self, expression: str) -> Any:
        result = self.call(
            "Runtime.evaluate", {"expression": expression, "returnByValue": True}, session=True
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def measure(self) -> dict[str, Any]:
        report: dict[str, Any] = json.loads(self.evaluate(MEASURE_JS))
        return report

    def screenshot(self, png: Path, *, top: int = 0, height: int | None = None) -> Path:
        """A PNG of the page from ``top``, ``height`` pixels tall (default: to the end)."""
        width = int(self.evaluate("document.documentElement.clientWidth"))
        page_height = int(self.evaluate("document.documentElement.scrollHeight"))
        height = min(height or page_height, page_height - top)
        params: dict[str, Any] = {
            "format": "png",
            "captureBeyondViewport": True,
            "clip": {"x": 0, "y": top, "width": width, "height": height, "scale": 1},
        }
        data = self.call("Page.captureScreenshot", params, session=True)["data"]
        png.parent.mkdir(parents=True, exist_ok=True)
        png.write_bytes(base64.b64decode(data))
        return png

    def close(self) -> None:
        try:
            self.call("Browser.close")
        except (RuntimeError, TimeoutError, OSError):
            self._process.kill()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        os.close(self._to_browser)
        os.close(self._from_browser)
        self._profile.cleanup()

    def __enter__(self) -> Browser:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
