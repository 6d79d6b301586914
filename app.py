"""Start the fraga web app: ``python app.py [--host H] [--port P] [--index-dir DIR] [--corpus DIR]``.

The same as ``fraga serve`` (``fraga.cli.serve``): builds the index from the corpus first when
there is none, and listens on 127.0.0.1 unless told otherwise.
"""
import sys

from fraga.cli.serve import main

if __name__ == "__main__":
    sys.exit(main())
