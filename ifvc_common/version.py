"""The text of ``--version``: package version, specification version, git revision when known."""
from __future__ import annotations

import subprocess
from importlib import metadata
from pathlib import Path

DISTRIBUTION = "ifvc"
REPO_ROOT = Path(__file__).resolve().parents[1]


def package_version() -> str:
    """The installed distribution's version, else the version in the source tree's pyproject.toml."""
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        pass
    try:
        import tomllib
        return str(tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["version"])
    except (OSError, KeyError, ValueError):
        return "unknown"


def spec_version() -> str:
    """The edition of the specification this software implements, and the stream version it
    writes (sh_version_major.sh_version_minor)."""
    try:
        from bitstream.structures import SPEC_TEXT_VERSION, VERSION_MAJOR, VERSION_MINOR
    except ImportError:          # bitstream not importable (a broken install): still answer
        return "unknown"
    return f"{SPEC_TEXT_VERSION}, streams of version {VERSION_MAJOR}.{VERSION_MINOR}"


def git_revision() -> str | None:
    """The commit of the source tree (with ``-dirty`` when it has uncommitted changes), or None
    when the code does not run from a git checkout or git is not installed."""
    if not (REPO_ROOT / ".git").exists():      # a directory, or a file in a worktree
        return None
    try:
        rev = subprocess.run(["git", "-C", str(REPO_ROOT), "rev-parse", "--short=12", "HEAD"],
                             capture_output=True, text=True, timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(REPO_ROOT), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return (rev + ("-dirty" if dirty else "")) or None


def version_text(prog: str) -> str:
    git = git_revision()
    return (f"{prog} {package_version()} (IFVC specification {spec_version()}"
            f"{f', git {git}' if git else ''})")
