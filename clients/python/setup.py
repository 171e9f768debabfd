"""Build step of crucible-client: the protobuf/gRPC modules are generated from
proto/crucible/v1 into the build directory (never into the source tree) while
the package is built. Metadata is in pyproject.toml.

Offline on Debian 12 (python3-grpcio, python3-protobuf, python3-numpy,
protobuf-compiler, protobuf-compiler-grpc)::

    python3 -m pip install --no-build-isolation --no-deps ./clients/python

CRUCIBLE_PROTO_DIR overrides where the .proto files are (default: ../../proto).
"""

import os
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from generate_protos import generate  # noqa: E402


class BuildPyWithProtos(build_py):
    def run(self):
        super().run()
        proto_dir = Path(os.environ.get("CRUCIBLE_PROTO_DIR", HERE.parent.parent / "proto"))
        generate(proto_dir, Path(self.build_lib) / "crucible_client" / "proto")


setup(cmdclass={"build_py": BuildPyWithProtos})
