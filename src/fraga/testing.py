"""Helpers for tests and benchmark scripts: a model-free encoder, the app in a subprocess,
small PDFs and code run in a fresh interpreter.

``FakeEncoder`` is what ``get_encoder("fake")`` returns in every process, so an index built
with it can be served by a plain ``fraga serve`` (no wrapper, no ``sys.path`` changes).
``start_app`` / ``stop_app`` run ``python -m fraga serve`` on a free loopback port and wait until
it answers; the test fixtures and ``eval/loadtest.py`` share them. Nothing here needs a source
checkout: it works the same from an installed package.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from fraga.cli.serve import READY_LINE  # printed once the index is loaded and warmed up
from fraga.text import fold, words

SERVE_COMMAND = (sys.executable, "-m", "fraga", "serve")


class FakeEncoder:
    """Hashed bag of folded 4-letter word prefixes: deterministic, fast, no model.

    Texts that share words get similar vectors, which is enough for pipeline tests.
    """

    name = "fake"
    dim = 64

    def _one(self, text: str) -> np.ndarray:
        vec = np.zeros(self.dim, dtype=np.float32)
        for word in words(fold(text)):
            h = int.from_bytes(hashlib.blake2b(word[:4].encode(), digest_size=4).digest(), "little")
            vec[h % self.dim] += 1.0
        vec[0] += 0.01  # never the zero vector
        return vec / np.linalg.norm(vec)

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.vstack([self._one(t) for t in texts])

    def encode_query(self, text: str) -> np.ndarray:
        return self._one(text)


def bulk_index(folder: str | os.PathLike[str], documents, chunks, encoder: FakeEncoder | None = None, **kwargs: Any):
    """``fraga.index.bulk.write_index`` with ``encoder``'s vectors for the passages and sentences
    (the passage text alone is encoded). Returns the BulkReport."""
    from fraga.index.bulk import EncoderInfo, write_index
    from fraga.index.columns import section_list
    from fraga.index.sentences import embed_sentences

    enc = encoder or FakeEncoder()
    vectors = enc.encode_passages([c.text for c in chunks])
    sentences = embed_sentences(list(documents), section_list(chunks), enc)
    return write_index(folder, documents, chunks, vectors, encoder=EncoderInfo(enc.name, enc.dim), sentences=sentences, **kwargs)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def app_env(**extra: str) -> dict[str, str]:
    """The environment for the app: no telemetry, no model hub, unbuffered output.

    ``FRAGA_ENCODER`` is left out unless given in ``extra``: a new index gets the default
    encoder, and an existing one names its own in its manifest.
    """
    env = {k: v for k, v in os.environ.items() if k != "FRAGA_ENCODER"}
    return {
        **env,
        "GRADIO_ANALYTICS_ENABLED": "False",
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "HF_HUB_OFFLINE": "1",
        "PYTHONUNBUFFERED": "1",
        **extra,
    }


def start_app(
    index_dir: str | os.PathLike[str],
    log_path: str | os.PathLike[str],
    *,
    corpus: str | os.PathLike[str] | None = None,
    port: int | None = None,
    command: Sequence[str] | None = None,
    env: dict[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    timeout: float = 600,
) -> tuple[subprocess.Popen, str]:
    """Start ``python -m fraga serve`` (or ``command``, e.g. ``python app.py``) over ``index_dir``
    in the folder ``cwd`` (default: the current one) and wait until it serves its page.

    Ready means the app printed :data:`READY_LINE` and its page answers 200. The app's
    output goes to ``log_path``. Returns the process and the URL (ending in "/").

    Raises:
        RuntimeError: when the app exits or is not ready within ``timeout`` seconds (the
            message holds its log).
    """
    port = port or free_port()
    log_path = Path(log_path)
    argv = [*(command or SERVE_COMMAND), "--host", "127.0.0.1", "--port", str(port), "--index-dir", str(index_dir)] + (
        ["--corpus", str(corpus)] if corpus is not None else []
    )
    with open(log_path, "w", encoding="utf-8") as log:  # the child keeps its own handle
        proc = subprocess.Popen(argv, cwd=cwd, env=env or app_env(), stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"the app exited with {proc.returncode}:\n{log_path.read_text(encoding='utf-8')}")
        if READY_LINE in log_path.read_text(encoding="utf-8", errors="replace"):
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    if response.status == 200:
                        return proc, url
            except OSError:
                pass
        if time.monotonic() > deadline:
            stop_app(proc)
            raise RuntimeError(
                f"the app was not ready on {url} in {timeout:.0f} s:\n{log_path.read_text(encoding='utf-8', errors='replace')}"
            )
        time.sleep(0.3)


@contextmanager
def running_app(index_dir: str | os.PathLike[str], log_path: str | os.PathLike[str], **kwargs: Any) -> Iterator[str]:
    """``start_app`` as a context manager: yields the URL, stops the app on exit."""
    proc, url = start_app(index_dir, log_path, **kwargs)
    try:
        yield url
    finally:
        stop_app(proc)


def stop_app(proc: subprocess.Popen) -> None:
    """Terminate the app (kill it when it does not stop within 20 s)."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def make_pdf(pages: Sequence[str]) -> bytes:
    """A small text PDF with one page per string (needs ``fpdf2``, a test dependency)."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("helvetica", size=11)
    for text in pages:
        pdf.add_page()
        pdf.multi_cell(0, 6, text)
    return bytes(pdf.output())


SCAN_FONTS = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSerif-Regular.ttf",
)


def render_page(text: str, *, width: int = 1240, font_size: int = 28, mode: str = "L"):
    """``text`` drawn black on white as a PIL image, one line per line of ``text``, like a page
    scanned at about 150 dpi (DejaVu when installed, else Pillow's own font)."""
    from PIL import Image, ImageDraw, ImageFont

    font_path = next((f for f in SCAN_FONTS if Path(f).exists()), None)
    font = ImageFont.truetype(font_path, font_size) if font_path else ImageFont.load_default(size=font_size)
    lines = text.split("\n")
    step = int(font_size * 1.6)
    image = Image.new("L", (width, 2 * step + step * len(lines) + 40), 255)
    draw = ImageDraw.Draw(image)
    for n, line in enumerate(lines):
        draw.text((font_size * 3, step + n * step), line, font=font, fill=0)
    return image.convert(mode)


def make_scanned_pdf(pages: Sequence[str], *, mode: str = "L") -> bytes:
    """A PDF of scanned pages: each string rendered to an image (``render_page``), no text layer.

    ``mode`` "L" stores JPEG (DCT) images, "1" CCITT fax images, as scanners write them.
    """
    import io

    images = [render_page(text, mode=mode) for text in pages]
    out = io.BytesIO()
    images[0].save(out, "PDF", resolution=150, save_all=True, append_images=images[1:])
    return out.getvalue()


def make_mixed_pdf(pages: Sequence[tuple[str, bool]]) -> bytes:
    """A PDF whose pages are text (False) or scanned images of the text (True), in order."""
    import io

    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("helvetica", size=11)
    for text, scanned in pages:
        pdf.add_page()
        if scanned:
            buf = io.BytesIO()
            render_page(text).save(buf, "PNG")
            pdf.image(buf, x=0, y=0, w=pdf.w)
        else:
            pdf.multi_cell(0, 6, text)
    return bytes(pdf.output())


# Python source defining peak_mb(): the high-water mark of the running process's own memory
# (ru_maxrss would also count the parent's); prepend it to the code given to run_python.
PEAK_MB = """
def peak_mb():
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmHWM")) / 1024
"""


def run_python(code: str, timeout: float) -> Any:
    """Run ``code`` in a fresh interpreter (a hang or a leak cannot harm the caller) and
    return the JSON it prints on its last line; AssertionError with its stderr when it fails."""
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise AssertionError(f"exit status {proc.returncode}:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def make_odt(*, creation: str = "2023-11-20T09:30:00", title: str = "Svar om trygghet i parkerna") -> bytes:
    """A small .odt reply: two headings, a numbered list, a table, a title and a creation date (odfpy)."""
    import io

    from odf import dc, meta
    from odf.opendocument import OpenDocumentText
    from odf.style import ListLevelProperties
    from odf.table import Table, TableCell, TableColumn, TableRow
    from odf.text import H, List, ListItem, ListLevelStyleNumber, ListStyle, P

    document = OpenDocumentText()
    numbered = ListStyle(name="Numrerad")
    level = ListLevelStyleNumber(level=1, numformat="1", numsuffix=".")
    level.addElement(ListLevelProperties())
    numbered.addElement(level)
    document.automaticstyles.addElement(numbered)
    document.text.addElement(P(text="Stadsdelsförvaltningen svarar på skrivelsen om parkerna."))
    document.text.addElement(H(outlinelevel=1, text="Bakgrund"))
    document.text.addElement(P(text="Boende har frågat om belysningen i Vivstavarvsparken."))
    document.text.addElement(H(outlinelevel=2, text="Belysning"))
    document.text.addElement(P(text="Förvaltningen byter trettio armaturer under hösten."))
    items = List(stylename="Numrerad")
    for text in ("Gångvägarna lyses upp först.", "Lekplatsen följer i vår."):
        item = ListItem()
        item.addElement(P(text=text))
        items.addElement(item)
    document.text.addElement(items)
    table = Table(name="Kostnader")
    table.addElement(TableColumn(numbercolumnsrepeated=2))
    for cells in (("Åtgärd", "Kostnad"), ("Armaturer", "450 000 kr")):
        row = TableRow()
        for value in cells:
            cell = TableCell()
            cell.addElement(P(text=value))
            row.addElement(cell)
        table.addElement(row)
    document.text.addElement(table)
    document.meta.addElement(dc.Title(text=title))
    document.meta.addElement(meta.CreationDate(text=creation))
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def new_database(server_url: str, name: str) -> str:
    """Create an empty database named after ``name`` on the PostgreSQL server ``server_url``
    (dropping one of that name) and return its URL."""
    import re

    from fraga.index.postgres.schema import create_database

    return create_database(server_url, "t_" + re.sub(r"[^a-z0-9_]", "_", name.lower())[:50])
