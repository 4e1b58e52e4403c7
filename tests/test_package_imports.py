"""Package boundaries (DESIGN.md section 2): no package imports tools/, and the encoder and
the decoder never import each other. Checked on the syntax tree of every module, so an import
inside a function or behind a condition counts too."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bitstream", "ref_encoder", "ref_decoder", "ifvc_synthesis", "conformance", "anchors", "ifvc_common",
            "studio")
# package -> the top-level packages it must not import. The synthesis both sides run
# (ifvc_synthesis/) is shared, so it imports neither side (nor tools/, checked above).
FORBIDDEN: dict[str, tuple[str, ...]] = {"ref_encoder": ("ref_decoder",), "ref_decoder": ("ref_encoder",),
                                         "ifvc_synthesis": ("ref_encoder", "ref_decoder")}


def imported_modules(path: Path, root: Path = ROOT) -> set[str]:
    """Absolute names of the modules a file under ``root`` imports (relative imports resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    here = path.relative_to(root).with_suffix("").parts
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[:len(here) - node.level]
                names.add(".".join(base + ((node.module,) if node.module else ())))
            else:
                names.add(node.module or "")
    return names


def _modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def _top(name: str) -> str:
    return name.split(".", 1)[0]


@pytest.mark.parametrize("package", PACKAGES)
def test_no_package_imports_tools(package: str) -> None:
    files = _modules(package)
    assert files, f"no modules found under {package}/"
    offenders = [f"{path.relative_to(ROOT)}: {name}" for path in files
                 for name in sorted(imported_modules(path)) if _top(name) == "tools"]
    assert offenders == []


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_encoder_and_decoder_never_import_each_other(package: str) -> None:
    others = FORBIDDEN[package]
    offenders = [f"{path.relative_to(ROOT)}: {name}" for path in _modules(package)
                 for name in sorted(imported_modules(path)) if _top(name) in others]
    assert offenders == []


def test_the_scan_sees_imports_in_every_form(tmp_path: Path) -> None:
    """The checker itself: plain, from, nested and relative imports are all found."""
    pkg = tmp_path / "conformance" / "sub"
    pkg.mkdir(parents=True)
    module = pkg / "m.py"
    module.write_text("import tools.dump\n"
                      "def f():\n    from tools import prepare_sequences\n"
                      "from .. import stream_kit\n"
                      "from ..x import y\n")
    assert imported_modules(module, tmp_path) == {"tools.dump", "tools", "conformance", "conformance.x"}
