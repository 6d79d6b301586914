"""``fraga feedback``: list the users' judgments of answers, or export them as gold questions."""

from __future__ import annotations

import argparse
import json
import logging
from typing import Any

logger = logging.getLogger(__name__)

MAX_SHOWN_CHARS = 160


def _store(args: argparse.Namespace):
    from fraga.feedback.store import FeedbackStore
    from fraga.index.generation import default_index_dir

    return FeedbackStore.beside(args.index_dir or default_index_dir())


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_SHOWN_CHARS else text[: MAX_SHOWN_CHARS - 1] + "…"


def cmd_list(args: argparse.Namespace) -> int:
    """``fraga feedback [--since DATE] [--json]``: the judgments, oldest first, with counts per verdict."""
    from fraga.feedback.stats import overall
    from fraga.feedback.store import VERDICT_LABELS, counts

    store = _store(args)
    entries = store.entries(since=args.since or "")
    per_verdict = counts(entries)
    if args.json:
        print(
            json.dumps(
                {
                    "database": str(store.path),
                    "since": args.since or "",
                    "total": len(entries),
                    "counts": per_verdict,
                    "entries": [fb.to_dict() for fb in entries],
                },
                ensure_ascii=False,
            )
        )
        return 0
    if not store.exists():
        print(f"Ingen återkoppling ännu ({store.path} finns inte).")
        return 0
    since = f" sedan {args.since}" if args.since else ""
    print(f"{len(entries)} omdömen{since} i {store.path}")
    print(" · ".join(f"{VERDICT_LABELS[v]}: {n}" for v, n in per_verdict.items()))
    if entries:
        print(f"Andel bra svar: {overall(entries).share * 100:.0f} %")
    for fb in entries:
        print(
            f"\n#{fb.id} {fb.created.replace('T', ' ').rstrip('Z')} · {VERDICT_LABELS[fb.verdict]} · "
            f"{', '.join(fb.districts) or 'ingen stadsdel'} · {fb.generation}"
        )
        print(f"  Fråga: {_short(fb.question)}")
        print(f"  Svar: {_short(fb.answer) if fb.answered else 'inget svar (' + _short(fb.answer) + ')'}")
        if fb.pointed:
            print(f"  Svarar i stället: {fb.pointed.chunk_id}: {_short(fb.pointed.quote)}")
        if fb.comment:
            print(f"  Kommentar: {_short(fb.comment)}")
    return 0


def _not_exported_json(items) -> list[dict[str, Any]]:
    return [{"feedback_id": n.feedback_id, "question": n.question, "verdict": n.verdict, "reason": n.reason} for n in items]


def cmd_export(args: argparse.Namespace) -> int:
    """``fraga feedback export --out FILE``: the judgments as gold questions, checked against the index."""
    from fraga.feedback.export import export_gold, write_gold
    from fraga.index.generation import load_index

    store = _store(args)
    index = load_index(args.index_dir)
    result = export_gold(store.entries(since=args.since or ""), index)
    path = write_gold(args.out, result.rows)
    if args.json:
        print(
            json.dumps(
                {
                    "out": str(path),
                    "rows": len(result.rows),
                    "answerable": result.answerable,
                    "stale": _not_exported_json(result.stale),
                    "skipped": _not_exported_json(result.skipped),
                },
                ensure_ascii=False,
            )
        )
        return 0
    print(
        f"Skrev {len(result.rows)} frågor i guldformat till {path} ({result.answerable} besvarbara, "
        f"{len(result.rows) - result.answerable} obesvarbara)."
    )
    if result.stale:
        print(f"\n{len(result.stale)} omdöme(n) gäller avsnitt som inte längre finns i indexet och exporterades inte:")
        for n in result.stale:
            print(f"  #{n.feedback_id} {_short(n.question)}: {n.reason}")
    if result.skipped:
        print(f"\n{len(result.skipped)} omdöme(n) kunde inte bli guldfrågor:")
        for n in result.skipped:
            print(f"  #{n.feedback_id} {_short(n.question)}: {n.reason}")
    if result.rows:
        print(f"\nGranska frågorna och kör: fraga eval --gold {path}")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``fraga feedback`` (and ``fraga feedback export``) on the main parser's subcommands."""
    p = sub.add_parser("feedback", help="the users' judgments of answers (Bra svar / Fel svar); export as gold")
    p.add_argument("--since", default="", metavar="DATE", help="only judgments from this day on (YYYY-MM-DD, UTC)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--index-dir", default=None, help="index folder (default: $FRAGA_INDEX_DIR or index/)")
    p.set_defaults(func=cmd_list)
    actions = p.add_subparsers(dest="feedback_command", required=False)
    e = actions.add_parser("export", help="write the judgments as gold questions (eval/GOLD.md format)")
    e.add_argument("--out", required=True, metavar="FILE", help="the gold file to write (JSON lines)")
    # SUPPRESS: the values given before "export" are kept unless repeated after it
    e.add_argument("--since", default=argparse.SUPPRESS, metavar="DATE", help="only judgments from this day on (YYYY-MM-DD, UTC)")
    e.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print a JSON summary")
    e.add_argument("--index-dir", default=argparse.SUPPRESS, help="index folder (default: $FRAGA_INDEX_DIR or index/)")
    e.set_defaults(func=cmd_export)
