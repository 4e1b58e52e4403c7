"""scripts/device_tree.sh (the GPU call's tree, docs/results/gpu_call_2026-12-04): slim takes
docs/results out of what the device tool sends without touching the files, restore puts the
index back exactly, and slim refuses while changes are staged (a commit then would delete
docs/results)."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "device_tree.sh"
pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout


def _tree(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "scripts/device_tree.sh", *args], cwd=repo, capture_output=True, text=True)


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    r = tmp_path / "repo"
    (r / "scripts").mkdir(parents=True)
    (r / "docs" / "results" / "study").mkdir(parents=True)
    shutil.copy(SCRIPT, r / "scripts" / "device_tree.sh")
    (r / "docs" / "results" / "study" / "README.md").write_text("results\n")
    (r / "README.md").write_text("readme\n")
    _git(r, "init", "-q")
    _git(r, "-c", "user.name=t", "-c", "user.email=t@t", "add", "-A")
    _git(r, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "init")
    return r


def test_slim_then_restore_leaves_the_repository_as_it_was(repo: Path) -> None:
    before = _git(repo, "ls-files")
    slim = _tree(repo, "slim")
    assert slim.returncode == 0, slim.stderr
    assert "docs/results" not in _git(repo, "ls-files")
    assert _git(repo, "status", "--short", "--untracked-files=all").splitlines() == [
        "D  docs/results/study/README.md"]                      # staged removal; not listed as untracked
    assert (repo / "docs" / "results" / "study" / "README.md").read_text() == "results\n"
    restore = _tree(repo, "restore")
    assert restore.returncode == 0, restore.stderr
    assert _git(repo, "ls-files") == before
    assert _git(repo, "status", "--short", "--untracked-files=all") == ""
    assert "/docs/results/" not in (repo / ".git" / "info" / "exclude").read_text()


def test_slim_refuses_while_changes_are_staged(repo: Path) -> None:
    (repo / "README.md").write_text("changed\n")
    _git(repo, "add", "README.md")
    res = _tree(repo, "slim")
    assert res.returncode == 1 and "staged changes" in res.stderr
    assert "docs/results/study/README.md" in _git(repo, "ls-files")


def test_unknown_verb_is_a_usage_error(repo: Path) -> None:
    res = _tree(repo, "shrink")
    assert res.returncode == 2 and "usage" in res.stderr
