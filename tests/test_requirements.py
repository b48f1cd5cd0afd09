"""Installs are reproducible: the direct dependencies in requirements.in (and
requirements-dev.in for tests) are locked with exact versions and hashes in requirements.txt (and
requirements-dev.txt), the lock agrees with them, and the image gets no
test-only package."""

from __future__ import annotations

import re
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
TEST_ONLY = {"pytest", "pytest-django", "pytest-xdist", "factory-boy", "playwright"}


def direct_requirements(name: str) -> list[Requirement]:
    """The requirements a .in file names itself (not its -r / -c includes)."""
    lines = (line.split("#", 1)[0].strip() for line in (ROOT / name).read_text().splitlines())
    return [Requirement(line) for line in lines if line and not line.startswith("-")]


def locked(name: str) -> dict[str, tuple[Version, int]]:
    """Package -> (pinned version, number of hashes) in a lock file."""
    pins: dict[str, tuple[Version, int]] = {}
    for entry in re.split(r"\n(?=\S)", (ROOT / name).read_text()):
        match = re.match(r"([A-Za-z0-9._-]+)(?:\[[^\]]*\])?==(\S+)", entry)
        if match:
            pins[canonicalize_name(match[1])] = (Version(match[2]), entry.count("--hash=sha256:"))
    return pins


def test_every_direct_dependency_is_locked_at_a_version_it_allows():
    for in_file, lock_file in (("requirements.in", "requirements.txt"),
                               ("requirements-dev.in", "requirements-dev.txt")):
        pins = locked(lock_file)
        for requirement in direct_requirements(in_file):
            name = canonicalize_name(requirement.name)
            assert name in pins, f"{name} is in {in_file} but not in {lock_file}: run `make lock`"
            assert requirement.specifier.contains(pins[name][0], prereleases=True), (
                f"{lock_file} pins {name}=={pins[name][0]}, outside {requirement.specifier}: run `make lock`")


def test_every_locked_package_has_an_exact_version_and_a_hash():
    for lock_file in ("requirements.txt", "requirements-dev.txt"):
        text = (ROOT / lock_file).read_text()
        requirement_lines = [line for line in text.splitlines() if re.match(r"[A-Za-z0-9]", line)]
        assert requirement_lines, lock_file
        for line in requirement_lines:
            assert "==" in line, f"{lock_file}: {line!r} is not an exact pin"
        assert all(hashes for _, hashes in locked(lock_file).values()), f"{lock_file}: a pin without a hash"


def test_the_test_lock_adds_packages_but_changes_no_application_pin():
    application, development = locked("requirements.txt"), locked("requirements-dev.txt")
    for name, (version, _) in application.items():
        assert development.get(name, (None,))[0] == version, f"{name}: the two locks disagree"
    assert TEST_ONLY <= set(development)
    assert not TEST_ONLY & set(application), "test-only packages would go into the image"
    assert not TEST_ONLY & {canonicalize_name(r.name) for r in direct_requirements("requirements.in")}


def test_make_ci_and_the_image_install_from_the_locks():
    makefile, dockerfile = (ROOT / "Makefile").read_text(), (ROOT / "Dockerfile").read_text()
    assert "--require-hashes -r requirements-dev.txt" in makefile
    assert "--require-hashes -r requirements.txt" in dockerfile
    assert "requirements-dev" not in dockerfile and "requirements.in" not in dockerfile


def test_the_requirements_file_a_newcomer_installs_is_the_lock():
    """`pip install -r requirements.txt`, what anyone tries first, installs
    the application's locked pins with their hashes, nothing looser."""
    options = [line for line in (ROOT / "requirements.txt").read_text().splitlines() if line.startswith("-")]
    assert not options, f"requirements.txt includes or loosens something: {options}"
    direct = {canonicalize_name(r.name) for r in direct_requirements("requirements.in")}
    assert set(locked("requirements.txt")) >= direct
    assert not (ROOT / "requirements.lock").exists() and not (ROOT / "requirements-dev.lock").exists(), (
        "one lock per set: requirements.txt and requirements-dev.txt")
