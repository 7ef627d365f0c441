"""The committed stubs must be exactly what scripts/gen_protos.py produces from protos/."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_stubs_are_current():
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "gen_protos.py"), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_every_package_is_declared_in_pyproject():
    import tomllib

    declared = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    on_disk = {"kernelwright"} | {
        "kernelwright." + ".".join(p.parent.relative_to(ROOT / "services").parts)
        for p in (ROOT / "services").rglob("__init__.py") if p.parent != ROOT / "services"
    }
    assert on_disk == declared, f"pyproject packages out of date: {sorted(on_disk ^ declared)}"


def test_proto_packages_are_versioned_per_service():
    for proto in (ROOT / "protos").rglob("*.proto"):
        parts = proto.relative_to(ROOT / "protos").parts
        assert parts[0] == "kernelwright" and parts[2] == "v1", proto
        expected = f"package kernelwright.{parts[1]}.v1;"
        assert expected in proto.read_text(), f"{proto} should declare {expected}"
