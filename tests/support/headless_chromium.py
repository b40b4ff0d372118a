"""Debian's chromium, headless, for the status page tests: one-shot runs (--dump-dom,
--screenshot) and a live page driven over the DevTools protocol on 127.0.0.1 (with
python3-websockets), for what one-shot runs cannot see: a page that keeps running while
greenlb stops and starts again. Every wait is bounded; each browser gets a fresh profile.
"""
import asyncio
import base64
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request

import websockets

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

# Quiet, hermetic: no GPU, no QUIC, no background traffic, no updates, no sync.
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--hide-scrollbars"]


def _end_browser(proc, profile):
    """Kills the browser's whole process group (renderer, zygote and crashpad helpers outlive
    a killed parent and keep writing to the profile), waits until the group is gone, then
    removes the profile."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=10)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    shutil.rmtree(profile, ignore_errors=True)


def run(*args, timeout=90):
    """One chromium run (e.g. "--dump-dom", url): the CompletedProcess."""
    profile = tempfile.mkdtemp(prefix="greenlb-chromium-")
    proc = subprocess.Popen([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    finally:
        _end_browser(proc, profile)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


class LivePage:
    """A page left running in a headless chromium, queried with JavaScript:

        with LivePage(url) as page:
            page.wait_for("document.title === 'x'")
    """

    def __init__(self, url, window="1200,900", timeout=30):
        self._profile = tempfile.mkdtemp(prefix="greenlb-chromium-")
        # A file, not a pipe: chromium keeps logging, and a full pipe would stall it.
        self._log = tempfile.TemporaryFile(mode="w+")
        self._proc = subprocess.Popen(
            [CHROMIUM, *FLAGS, f"--user-data-dir={self._profile}", f"--window-size={window}",
             "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=self._log, start_new_session=True)
        self._loop = asyncio.new_event_loop()
        self._ws = None
        self._next_id = 0
        try:
            port = self._devtools_port(timeout)
            self._ws = self._run(self._attach(port), timeout)
            self._call("Page.navigate", {"url": url})
        except BaseException:
            self.close()
            raise

    def _devtools_port(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self._proc.poll() is None:
            self._log.seek(0)
            m = re.search(r"DevTools listening on ws://127\.0\.0\.1:(\d+)/", self._log.read())
            if m:
                return int(m.group(1))
            time.sleep(0.05)
        self._log.seek(0)
        raise RuntimeError("chromium did not open its DevTools port: " + self._log.read()[-2000:])

    async def _attach(self, port):
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=5) as r:
            targets = json.loads(r.read())
        page = next(t for t in targets if t["type"] == "page")
        return await websockets.connect(page["webSocketDebuggerUrl"], max_size=None,
                                        open_timeout=10)

    def _run(self, coroutine, timeout):
        return self._loop.run_until_complete(asyncio.wait_for(coroutine, timeout))

    async def _send(self, method, params):
        self._next_id += 1
        call = self._next_id
        await self._ws.send(json.dumps({"id": call, "method": method, "params": params}))
        while True:  # events arrive in between; only the answer to this call matters
            message = json.loads(await self._ws.recv())
            if message.get("id") == call:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message["result"]

    def _call(self, method, params=None, timeout=30):
        return self._run(self._send(method, params or {}), timeout)

    def evaluate(self, expression):
        """The JSON value of a JavaScript expression in the page."""
        result = self._call("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression, timeout=20, what=None):
        """Waits until `expression` is truthy in the page; returns its value."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                value = self.evaluate(expression)
            except RuntimeError:  # the page is still loading
                value = None
            if value:
                return value
            time.sleep(0.1)
        raise TimeoutError(f"timed out after {timeout}s waiting for {what or expression}")

    def screenshot(self, path):
        data = self._call("Page.captureScreenshot", {"format": "png"})["data"]
        path.write_bytes(base64.b64decode(data))

    def close(self):
        if self._ws is not None:
            try:
                self._run(self._ws.close(), 5)
            except Exception:  # the browser may be gone already: it is killed next anyway
                pass
        _end_browser(self._proc, self._profile)
        self._loop.close()
        self._log.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
