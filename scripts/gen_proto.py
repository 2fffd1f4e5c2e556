#!/usr/bin/env python3
"""Regenerate src/ranvier/_pb from proto/axonserver/*.proto and proto/ranvier/*.proto.

Run with the project venv (``make proto``); needs grpcio-tools. The output is
committed, so neither CI nor users need grpcio-tools.

After protoc runs, the generated modules are rewritten so that:

* imports between them are package-relative (``from ranvier._pb import
  common_pb2``) instead of top-level (``import common_pb2``);
* their descriptors go into ``ranvier._pb.POOL``, a private descriptor pool,
  not protobuf's default pool. axonclient (and any other Axon client) defines
  the very same fully qualified names; with a shared pool, importing both
  into one process would fail or silently mix definitions;
* the runtime version guards ask for the floors pyproject.toml declares
  (see PROTOBUF_FLOOR / GRPC_FLOOR) rather than the exact versions of the
  grpcio-tools that happened to generate the code. The generated code only
  uses the builder API that protobuf has had since 5.x and the registered-
  method API grpcio has had since 1.63, so the lower floors are safe.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTO_DIR = ROOT / "proto" / "axonserver"
# Ranvier's own protocols (the node-to-node peer service); same output, same pool.
PROTO_DIRS = (PROTO_DIR, ROOT / "proto" / "ranvier")
OUT_DIR = ROOT / "src" / "ranvier" / "_pb"
PACKAGE = "ranvier._pb"

# Keep in step with the dependency floors in pyproject.toml.
PROTOBUF_FLOOR = (6, 31, 1)
GRPC_FLOOR = "1.75.0"

INIT = '''\
"""Generated protobuf and gRPC code for Axon Server's client API and Ranvier's
own node-to-node protocol.

Do not edit the *_pb2*.py files: run ``make proto`` (scripts/gen_proto.py).
The sources are proto/axonserver/*.proto and proto/ranvier/*.proto.

All descriptors live in POOL, a private pool, so these modules can share a
process with other code (e.g. axonclient) that defines the same names.
"""

from google.protobuf import descriptor_pool as _descriptor_pool
from google.protobuf import empty_pb2 as _empty_pb2

POOL = _descriptor_pool.DescriptorPool()

# Well-known types our files import must be in the private pool as well.
POOL.AddSerializedFile(_empty_pb2.DESCRIPTOR.serialized_pb)
'''


def _protoc_include() -> str:
    import grpc_tools

    return str(Path(grpc_tools.__file__).parent / "_proto")


def _rewrite(path: Path, modules: set[str]) -> None:
    text = path.read_text()
    # import common_pb2 as common__pb2  ->  from ranvier._pb import common_pb2 as common__pb2
    def fix_import(m: re.Match[str]) -> str:
        mod = m.group(1)
        if mod not in modules:
            return m.group(0)
        return f"from {PACKAGE} import {mod}{m.group(2)}"

    text = re.sub(r"^import (\w+_pb2)( as \w+)?$", fix_import, text, flags=re.M)

    if path.name.endswith("_pb2.py"):
        if "_descriptor_pool.Default()" not in text:
            raise SystemExit(f"{path.name}: expected a default-pool registration")
        text = text.replace("_descriptor_pool.Default()", "_POOL")
        text = text.replace(
            "# @@protoc_insertion_point(imports)",
            f"from {PACKAGE} import POOL as _POOL\n# @@protoc_insertion_point(imports)",
            1,
        )
        major, minor, patch = PROTOBUF_FLOOR
        text, n = re.subn(
            r"(ValidateProtobufRuntimeVersion\(\s*_runtime_version\.Domain\.PUBLIC,\s*)"
            r"\d+,\s*\d+,\s*\d+,",
            rf"\g<1>{major}, {minor}, {patch},",
            text,
        )
        if n != 1:
            raise SystemExit(f"{path.name}: runtime version guard not found")
        text = re.sub(
            r"^# Protobuf Python Version: .*$",
            f"# Protobuf Python Version: {major}.{minor}.{patch} (floor set by scripts/gen_proto.py)",
            text,
            count=1,
            flags=re.M,
        )
    elif path.name.endswith("_pb2_grpc.py"):
        text, n = re.subn(
            r"^GRPC_GENERATED_VERSION = '[^']*'$",
            f"GRPC_GENERATED_VERSION = '{GRPC_FLOOR}'",
            text,
            flags=re.M,
        )
        if n != 1 and "GRPC_GENERATED_VERSION" in text:
            raise SystemExit(f"{path.name}: grpc version guard not found")
    path.write_text(text)


def main() -> int:
    by_dir = {d: sorted(d.glob("*.proto")) for d in PROTO_DIRS}
    protos = [p for files in by_dir.values() for p in files]
    for d, files in by_dir.items():
        if not files:
            print(f"no .proto files in {d}", file=sys.stderr)
            return 1
    stems = [p.stem for p in protos]
    if len(set(stems)) != len(stems):
        print("two .proto files share a name; module names must be unique", file=sys.stderr)
        return 1
    modules = {p.stem + "_pb2" for p in protos} | {p.stem + "_pb2_grpc" for p in protos}
    with tempfile.TemporaryDirectory() as tmp:
        for d, files in by_dir.items():
            cmd = [
                sys.executable,
                "-m",
                "grpc_tools.protoc",
                f"-I{d}",
                f"-I{_protoc_include()}",
                f"--python_out={tmp}",
                f"--pyi_out={tmp}",
                f"--grpc_python_out={tmp}",
                *[p.name for p in files],
            ]
            subprocess.run(cmd, check=True, cwd=d)
        if OUT_DIR.exists():
            shutil.rmtree(OUT_DIR)
        OUT_DIR.mkdir(parents=True)
        for f in sorted(Path(tmp).iterdir()):
            target = OUT_DIR / f.name
            shutil.copyfile(f, target)
            _rewrite(target, modules)
    (OUT_DIR / "__init__.py").write_text(INIT)
    print(f"generated {len(protos)} files into {OUT_DIR.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
