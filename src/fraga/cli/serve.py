"""``fraga serve [--host H] [--port P] [--index-dir DIR] [--corpus DIR]``: start the web app.

``python app.py`` in a source checkout runs the same code. When the index folder holds no
index, it is built first from the corpus: ``--corpus``, else ``./corpus`` when that folder
exists (the bundled corpus of a checkout); an installed package without either says so in
one line. Listens on 127.0.0.1 unless told otherwise ($GRADIO_SERVER_NAME /
$GRADIO_SERVER_PORT or --host / --port).
"""

from __future__ import annotations

import argparse
import ctypes
import logging
import os
import sys
from pathlib import Path
from typing import cast

from fraga.errors import CorpusError, FragaError, IndexNotFoundError

logger = logging.getLogger(__name__)

M_ARENA_MAX = -8  # glibc's mallopt parameter
READY_LINE = "fraga lyssnar på"  # printed once the index is loaded and warmed up (fraga.testing waits for it)


def limit_malloc_arenas(arenas: int = 2) -> bool:
    """Let glibc's malloc use at most ``arenas`` arenas; True when it could be set.

    By default each thread that allocates may get its own arena (up to 8 per core), and the
    memory freed in the arenas of Gradio's many worker threads stays with the process, so its
    resident memory creeps up over thousands of questions. Elsewhere than glibc it does nothing.
    """
    try:
        return bool(ctypes.CDLL("libc.so.6").mallopt(M_ARENA_MAX, arenas))
    except (OSError, AttributeError):
        return False


def set_server_environment() -> None:
    """Environment defaults for a long-running server; call before numpy, FAISS or Gradio load."""
    # The encoder's OpenMP threads spin while they wait by default, which makes every question
    # several times slower when the machine is busy (measured: p50 1.3 s -> 0.08 s under load).
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    # Gradio and its client send usage statistics and version checks unless told not to; the
    # app serves local users and must not call out.
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    # Gradio also keeps a record of its last 10,000 events (by default) for a monitoring page
    # the app does not use; 1,000 is plenty and keeps a long-running server's memory flat.
    os.environ.setdefault("GRADIO_ANALYTICS_MAX_EVENTS", "1000")


def add_serve_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default=None, help="address to listen on (default: $GRADIO_SERVER_NAME or 127.0.0.1)")
    p.add_argument("--port", type=int, default=None, help="port (default: $GRADIO_SERVER_PORT or 7860)")
    p.add_argument("--index-dir", default=None, help="index folder (default: $FRAGA_INDEX_DIR or index/)")
    p.add_argument("--corpus", default=None, help="corpus to index when there is no index (default: ./corpus when it exists)")
    p.add_argument(
        "--store",
        default=None,
        metavar="URL",
        help="serve a PostgreSQL store, postgresql://… (default: $FRAGA_STORE; without one, the index folder)",
    )


def address(args: argparse.Namespace) -> tuple[str, int]:
    host = args.host or os.environ.get("GRADIO_SERVER_NAME") or "127.0.0.1"
    if args.port is not None:
        return host, args.port
    env_port = os.environ.get("GRADIO_SERVER_PORT") or "7860"
    if not env_port.isdigit():
        raise FragaError(f"GRADIO_SERVER_PORT={env_port!r} är inget portnummer; ange ett med --port")
    return host, int(env_port)


def corpus_for(args: argparse.Namespace) -> str | None:
    """The corpus to build a missing index from: --corpus, else ./corpus when it exists, else None."""
    if args.corpus:
        return args.corpus
    return "corpus" if Path("corpus").is_dir() else None


def serve(args: argparse.Namespace) -> int:
    """Load (or build) the index, warm up and serve until interrupted. Raises FragaError for user errors."""
    set_server_environment()
    limit_malloc_arenas()
    host, port = address(args)
    from fraga.api import open as open_fraga
    from fraga.index.generation import default_index_dir
    from fraga.webapp.live import LiveService
    from fraga.webapp.service import Service
    from fraga.webapp.ui import build_ui, launch

    corpus = corpus_for(args)
    try:
        engine = open_fraga(
            args.index_dir,
            corpus=corpus,
            build=corpus is not None,
            on_build=lambda m: print(m, flush=True),
            store=getattr(args, "store", None),
        )
    except IndexNotFoundError as exc:
        if corpus is not None:
            raise
        folder = args.index_dir or default_index_dir()
        raise CorpusError(
            f"Inget index i {str(folder)!r} och ingen korpus att bygga det från (./corpus "
            "finns inte); ange korpusmappen med --corpus MAPP"
        ) from exc
    service = Service(engine)
    service.warm_up()
    # LiveService follows `fraga index` (new documents live, no restart) and stands in for the Service it wraps;
    # an index in PostgreSQL follows the database by itself.
    live = service if engine.index.kind == "postgresql" else cast(Service, LiveService(service, args.index_dir))
    try:
        launch(build_ui(live), host=host, port=port, on_ready=lambda url: print(f"{READY_LINE} {url}", flush=True))
    except OSError as exc:
        logger.debug("launch failed: %s", exc)
        raise FragaError(
            f"kan inte lyssna på {host}:{port} (porten är upptagen eller adressen fel); välj en annan med --port eller --host"
        ) from exc
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python app.py``: the same as ``fraga serve``."""
    p = argparse.ArgumentParser(description="Webbappen fraga: frågor och svar med källor över stadsdelarnas svar.")
    add_serve_args(p)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    try:
        return serve(args)
    except FragaError as exc:
        print(f"fel: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
