"""``fraga prepare SKRIVELSE [--out FILE.docx|FILE.md] [--json]``: a thin layer over ``Fraga.prepare``."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

from fraga.errors import FragaError

logger = logging.getLogger(__name__)


def main_prepare(args: argparse.Namespace) -> int:
    """Run ``fraga prepare``; FragaErrors propagate to fraga.cli.main, which prints them."""
    from fraga.cli.main import open_index
    from fraga.drafting.export import counts, to_text, write
    from fraga.drafting.reader import read_skrivelse

    out = getattr(args, "out", None)
    if out:
        suffix = os.path.splitext(out)[1].lower()
        if suffix not in (".docx", ".md", ".markdown"):
            raise FragaError(f"Kan inte skriva {out!r}: välj en fil som slutar på .docx eller .md")
    if args.skrivelse == "-":
        text, title = sys.stdin.read(), ""
    else:  # read before the index is loaded: a missing file is reported at once
        text, title = read_skrivelse(args.skrivelse), Path(args.skrivelse).stem
    engine = open_index(args)
    prep = engine.prepare(text, mode=getattr(args, "mode", None) or "hybrid", title=title)
    if out:
        write(prep, out)
    if getattr(args, "json", False):
        print(json.dumps(prep.to_dict(), ensure_ascii=False, indent=1))
        if out:
            print(f"Skrev underlaget till {out}", file=sys.stderr)
        return 0
    if out:
        found = sum(c.found for c in prep.cells)
        print(f"{counts(prep)}: {found} av {len(prep.cells)} rutor har ett tidigare svar. Skrev underlaget till {out}")
        return 0
    print(to_text(prep))
    return 0
