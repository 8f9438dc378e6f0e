"""The built front-end bundles (jupyter_desktop/static) and a reader of their stylesheets' selectors."""

from __future__ import annotations

import re
from pathlib import Path

STATIC = Path(__file__).resolve().parents[2] / "jupyter_desktop" / "static"


def css_selectors(text: str) -> list[str]:
    """Every selector of a stylesheet's style rules (inside @media / @container too, not @keyframes' steps)."""
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    selectors: list[str] = []
    stack: list[str] = []
    buf = ""
    for ch in text:
        if ch == "{":
            head, buf = buf.strip(), ""
            if not head.startswith("@") and not (stack and stack[-1].startswith("@keyframes")):
                selectors += [s.strip() for s in head.split(",")]
            stack.append(head)
        elif ch == "}":
            stack.pop()
            buf = ""
        elif ch == ";":
            buf = ""
        else:
            buf += ch
    return selectors

