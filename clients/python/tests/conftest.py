"""Fixtures of the client tests: a real crucible-server on a free loopback port
with its own data directory, and the repository's test fixtures.

CRUCIBLE_SERVER_BINARY names the server (ctest sets it); CRUCIBLE_FIXTURES_DIR
the fixtures (default: tests/fixtures of this repository).
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest

from crucible_client import Client

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="session")
def fixtures() -> Path:
    return Path(os.environ.get("CRUCIBLE_FIXTURES_DIR", REPO / "tests" / "fixtures"))


@pytest.fixture(scope="session")
def server_address(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    binary = os.environ.get("CRUCIBLE_SERVER_BINARY")
    if not binary:
        pytest.fail("set CRUCIBLE_SERVER_BINARY to the crucible-server binary")
    data_dir = tmp_path_factory.mktemp("server")
    log_path = data_dir / "server.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen([binary, "--listen=127.0.0.1:0", f"--data_dir={data_dir}", "--workers=2"],
                                   stdout=subprocess.DEVNULL, stderr=log)
    try:
        deadline = time.monotonic() + 20
        while True:
            match = re.search(r"event=server_started .*port=(\d+)", log_path.read_text(errors="replace"))
            if match:
                break
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"crucible-server did not start:\n{log_path.read_text(errors='replace')}")
            time.sleep(0.05)
        yield f"127.0.0.1:{match.group(1)}"
    finally:
        process.kill()
        process.wait()


@pytest.fixture()
def client(server_address: str) -> Iterator[Client]:
    with Client(server_address) as c:
        yield c


@pytest.fixture(scope="session")
def images(fixtures: Path) -> np.ndarray:
    return np.load(fixtures / "data" / "fmnist_test_1000_images.npy")


@pytest.fixture(scope="session")
def labels(fixtures: Path) -> np.ndarray:
    return np.load(fixtures / "data" / "fmnist_test_1000_labels.npy")
