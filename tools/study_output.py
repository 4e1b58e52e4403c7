"""The output of a study tool: its Markdown and JSON side by side, written atomically."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ifvc_common.outputs import OutputTransaction


def write_study(out_dir: Path, part: str, title: str, command: str, text: str, data: Any) -> str:
    """Writes OUT/<part>.md (headed by the title and the command that made it) and
    OUT/<part>.json; returns the Markdown."""
    text = f"## {title}: {part}\n\nMade by `{command.strip()}`.\n\n{text}"
    out_dir.mkdir(parents=True, exist_ok=True)
    with OutputTransaction() as outputs:
        outputs.write_text(out_dir / f"{part}.md", text)
        outputs.write_text(out_dir / f"{part}.json", json.dumps(data, indent=1, default=float) + "\n")
    return text
