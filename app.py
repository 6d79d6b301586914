"""Start the fraga web app: ``python app.py [--host H] [--port P] [--index-dir DIR] [--corpus DIR]``.

Builds the index from the corpus first when there is none. Listens on 127.0.0.1 unless
told otherwise ($GRADIO_SERVER_NAME / $GRADIO_SERVER_PORT or --host / --port).
"""
from __future__ import annotations

import argparse
import ctypes
import logging
import os
import sys

# The encoder's OpenMP threads spin while they wait by default, which makes every question
# several times slower when the machine is busy (measured: p50 1.3 s -> 0.08 s under load).
# It must be set before the first OpenMP library loads.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
# Gradio and its client send usage statistics and version checks unless told not to; the
# app serves local users and must not call out.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
# Gradio also keeps a record of its last 10,000 events (by default) for a monitoring page
# the app does not use; 1,000 is plenty and keeps a long-running server's memory flat.
os.environ.setdefault("GRADIO_ANALYTICS_MAX_EVENTS", "1000")
M_ARENA_MAX = -8  # glibc's mallopt parameter


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


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Webbappen fraga: frågor och svar med källor över stadsdelarnas svar.")
    p.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME") or "127.0.0.1",
                   help="address to listen on (default: $GRADIO_SERVER_NAME or 127.0.0.1)")
    p.add_argument("--port", type=int, default=None, help="port (default: $GRADIO_SERVER_PORT or 7860)")
    p.add_argument("--index-dir", default=None, help="index folder (default: $FRAGA_INDEX_DIR or index/)")
    p.add_argument("--corpus", default="corpus", help="corpus to index when there is no index (default: corpus/)")
    args = p.parse_args(argv)
    if args.port is None:
        env_port = os.environ.get("GRADIO_SERVER_PORT") or "7860"
        if not env_port.isdigit():
            p.error(f"GRADIO_SERVER_PORT={env_port!r} är inget portnummer")
        args.port = int(env_port)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    limit_malloc_arenas()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    from fraga.errors import FragaError
    from fraga.webapp.service import Service
    from fraga.webapp.live import LiveService
    from fraga.webapp.ui import build_ui, launch

    try:
        service = Service.open(args.index_dir, corpus=args.corpus, on_build=lambda m: print(m, flush=True))
        service.warm_up()
        service = LiveService(service, args.index_dir)  # follows `fraga index`: new documents live, no restart
    except FragaError as exc:
        print(f"fel: {exc}", file=sys.stderr)
        return 2
    try:
        launch(build_ui(service), host=args.host, port=args.port,
               on_ready=lambda url: print(f"fraga lyssnar på {url}", flush=True))
    except OSError as exc:
        logging.getLogger("fraga.app").debug("launch failed: %s", exc)
        print(f"fel: kan inte lyssna på {args.host}:{args.port} (porten är upptagen eller adressen fel); "
              "välj en annan med --port eller --host", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
