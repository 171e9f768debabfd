"""`pip install ./clients/python` offline on Debian's packages: the build step
generates the protobuf/gRPC modules, and the installed package works from
outside the source tree. Built from a copy so the source tree stays clean."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[1]
PROTO_DIR = PACKAGE_DIR.parent.parent / "proto"


def test_pip_install_without_network_generates_the_stubs(tmp_path: Path) -> None:
    source = tmp_path / "src"
    shutil.copytree(PACKAGE_DIR, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    site = tmp_path / "site"
    env = dict(os.environ, CRUCIBLE_PROTO_DIR=str(PROTO_DIR), PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
    env.pop("PYTHONPATH", None)
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-build-isolation", "--no-deps",
                    "--target", str(site), str(source)], check=True, env=env, cwd=tmp_path)

    installed = site / "crucible_client"
    assert (installed / "py.typed").exists()
    assert (installed / "proto" / "jobs_pb2.pyi").exists()
    assert not (installed / "proto" / "jobs_pb2_grpc.py").exists()  # No service in jobs.proto.
    probe = ("import crucible_client, crucible_client.proto.service_pb2_grpc as s; "
             "print(crucible_client.__file__); print(s.AuditorServiceStub.__name__); "
             "print(','.join(crucible_client.engine_names()))")
    result = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True,
                            env=dict(env, PYTHONPATH=str(site)), cwd=tmp_path)
    file, stub, engines = result.stdout.split()
    assert Path(file).is_relative_to(site)
    assert stub == "AuditorServiceStub"
    assert engines.startswith("evaluate,fgsm,pgd")
