"""Dependencies: an upper bound on each, and a hash-pinned lock that satisfies them and that make installs from."""

from __future__ import annotations

import re
import tomllib

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from joshua.settings import PROJECT_ROOT

PROJECT = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
DECLARED = [Requirement(line) for line in [*PROJECT["dependencies"], *PROJECT["optional-dependencies"]["dev"]]]


def locked() -> dict[str, tuple[Version, list[str]]]:
    """requirements.lock as {name: (version, hashes)}."""
    text = (PROJECT_ROOT / "requirements.lock").read_text(encoding="utf-8")
    pins = {}
    for block in re.split(r"\n(?=[A-Za-z0-9])", text):
        match = re.match(r"([A-Za-z0-9._-]+)==([^\s\\;]+)", block)
        if match:
            pins[canonicalize_name(match.group(1))] = (Version(match.group(2)), re.findall(r"--hash=sha256:([0-9a-f]{64})", block))
    return pins


def test_every_dependency_has_an_upper_bound():
    unbounded = [str(r) for r in DECLARED if not any(s.operator in ("<", "<=", "==", "~=") for s in r.specifier)]
    assert unbounded == []


def test_the_lock_pins_every_dependency_with_hashes_within_its_bounds():
    pins = locked()
    for requirement in DECLARED:
        version, hashes = pins[canonicalize_name(requirement.name)]
        assert requirement.specifier.contains(version, prereleases=True), (requirement, version)
    assert all(hashes for _, hashes in pins.values()), [name for name, (_, h) in pins.items() if not h]


def test_make_installs_from_the_lock_only():
    makefile = (PROJECT_ROOT / "Makefile").read_text(encoding="utf-8")
    assert "--require-hashes -r requirements.lock" in makefile and "--no-deps -e ." in makefile
    assert "install --quiet -e '.[dev]'" not in makefile
