"""Start the fraga web app: ``python app.py [--host H] [--port P] [--index-dir DIR] [--corpus DIR]``.

Builds the index from the corpus first when there is none. Listens on 127.0.0.1 unless
told otherwise ($GRADIO_SERVER_NAME / $GRADIO_SERVER_PORT or --host / --port).
"""
from __future__ import annotations

import argparse
import logging
import os
import sys


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Webbappen fraga: frågor och svar med källor över stadsdelarnas svar.")
    p.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME") or "127.0.0.1",
                   help="address to listen on (default: $GRADIO_SERVER_NAME or 127.0.0.1)")
    p.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT") or 7860),
                   help="port (default: $GRADIO_SERVER_PORT or 7860)")
    p.add_argument("--index-dir", default=None, help="index folder (default: $FRAGA_INDEX_DIR or index/)")
    p.add_argument("--corpus", default="corpus", help="corpus to index when there is no index (default: corpus/)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    from fraga.errors import FragaError
    from fraga.webapp.service import Service
    from fraga.webapp.ui import build_ui, launch

    try:
        service = Service.open(args.index_dir, corpus=args.corpus, on_build=lambda m: print(m, flush=True))
        service.warm_up()
    except FragaError as exc:
        print(f"fel: {exc}", file=sys.stderr)
        return 2
    print(f"fraga lyssnar på http://{args.host}:{args.port}/", flush=True)
    launch(build_ui(service), host=args.host, port=args.port, quiet=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
