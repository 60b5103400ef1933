"""Driving the real app in Debian's Chromium: start `streamlit run app.py` as `make run` does, on a free
loopback port, and small helpers that wait for Streamlit's reruns and collect what went wrong."""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def running_app(repo: Path, env: dict[str, str], log: Path) -> Iterator[str]:
    """The app on 127.0.0.1:<free port>; yields its URL, stops it afterwards. Output goes to `log`."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        "app.py",
        "--server.headless=true",
        "--server.address=127.0.0.1",
        f"--server.port={port}",
        "--browser.gatherUsageStats=false",
        "--server.fileWatcherType=none",
    ]
    with open(log, "wb") as output:
        process = subprocess.Popen(
            command,
            cwd=repo,
            env={**os.environ, **env},
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            with contextlib.suppress(OSError):
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the app did not start; see {log}:\n{log.read_text()[-2000:]}")
            time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


@dataclass
class Watch:
    """Console errors and Streamlit exception boxes seen during the journey."""

    console_errors: list[str] = field(default_factory=list)
    failed_urls: list[str] = field(default_factory=list)

    def attach(self, page) -> None:
        page.on("console", lambda message: self._console(message))
        page.on("pageerror", lambda error: self.console_errors.append(f"page error: {error}"))
        page.on("response", lambda response: self._response(response))

    def _response(self, response) -> None:
        if response.status >= 400:
            self.failed_urls.append(response.url)

    def benign(self, error: str) -> bool:
        """Streamlit's own probe: on a deep link (/train) the frontend first asks /train/_stcore/health and
        /train/_stcore/host-config (404) before it finds the server root. Nothing else is excused."""
        if not error.startswith("Failed to load resource"):
            return False
        return all(re.search(r"/[^/]+/_stcore/(health|host-config)$", url) for url in self.failed_urls)

    def _console(self, message) -> None:
        if message.type == "error":
            self.console_errors.append(message.text)


def settle(page, timeout: float = 120.0) -> None:
    """Wait until Streamlit has finished the current script run: the app root reports
    data-test-script-state="notRunning" on several checks in a row (a rerun may start a moment after a click)."""
    deadline = time.monotonic() + timeout
    quiet = 0
    time.sleep(0.3)
    while time.monotonic() < deadline:
        state = page.locator('[data-testid="stApp"]').first.get_attribute("data-test-script-state")
        quiet = quiet + 1 if state == "notRunning" else 0
        if quiet >= 3:
            return
        time.sleep(0.2)
    raise TimeoutError("the app kept running for too long")


def exception_boxes(page) -> list[str]:
    return [box.inner_text() for box in page.locator('[data-testid="stException"]').all()]


def metric_value(page, label: str) -> str:
    metric = page.locator('[data-testid="stMetric"]').filter(has_text=label).first
    return metric.locator('[data-testid="stMetricValue"]').inner_text().strip()
