"""Generates the Python modules of Crucible's API from proto/crucible/v1/*.proto.

protoc writes messages (``*_pb2.py`` with ``.pyi`` type stubs) and Debian's
``grpc_python_plugin`` the service stub (``service_pb2_grpc.py``). protoc lays
them out as the package ``crucible.v1``; this script puts them flat into
``crucible_client/proto`` instead and rewrites their imports to match, so the
client does not claim the top-level name ``crucible``.

Used by setup.py (``pip install``) and by CMake (the build tree's copy that the
tests import)::

    python3 generate_protos.py --proto-dir ../../proto --out build/crucible_client/proto
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

PROTO_PACKAGE = Path("crucible") / "v1"
IMPORT_PATTERN = re.compile(r"^from crucible\.v1 import ", re.MULTILINE)
IMPORT_REPLACEMENT = "from crucible_client.proto import "


def default_proto_dir() -> Path:
    return Path(__file__).resolve().parent.parent.parent / "proto"


def generate(proto_dir: Path, out_dir: Path, protoc: str = "protoc",
             grpc_plugin: str = "grpc_python_plugin") -> list[Path]:
    """Writes the generated modules into out_dir; returns their paths."""
    protos = sorted((proto_dir / PROTO_PACKAGE).glob("*.proto"))
    if not protos:
        raise FileNotFoundError(f"no .proto files under {proto_dir / PROTO_PACKAGE}")
    plugin = shutil.which(grpc_plugin) or grpc_plugin
    if not os.path.isfile(plugin):
        raise FileNotFoundError(
            f"{grpc_plugin} not found (Debian: apt-get install protobuf-compiler-grpc)")
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    with tempfile.TemporaryDirectory() as scratch:
        command = [protoc, f"--proto_path={proto_dir}", f"--python_out={scratch}",
                   f"--pyi_out={scratch}", f"--grpc_python_out={scratch}",
                   f"--plugin=protoc-gen-grpc_python={plugin}"]
        command += [str(p.relative_to(proto_dir)) for p in protos]
        subprocess.run(command, check=True)
        for generated in sorted((Path(scratch) / PROTO_PACKAGE).iterdir()):
            text = IMPORT_PATTERN.sub(IMPORT_REPLACEMENT, generated.read_text())
            if generated.name.endswith("_pb2_grpc.py") and "class " not in text:
                continue  # A proto without services.
            target = out_dir / generated.name
            target.write_text(text)
            written.append(target)
    init = out_dir / "__init__.py"
    if not init.exists():
        init.write_text('"""Generated protobuf and gRPC modules of crucible.v1."""\n')
        written.append(init)
    return written


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--proto-dir", type=Path, default=default_proto_dir())
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--protoc", default="protoc")
    parser.add_argument("--grpc-plugin", default="grpc_python_plugin")
    args = parser.parse_args(argv)
    generate(args.proto_dir, args.out, args.protoc, args.grpc_plugin)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
