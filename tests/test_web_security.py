"""The web app serves only documents of the index: crafted ids and paths are refused.

Unit level: the service and UI handler calls that open a source document or hand out its
original file, called with path-traversal ids. App level: Gradio's own file route of a
running ``app.py`` does not give out files outside what the app put there.
"""

from __future__ import annotations

import os
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from fraga.errors import FragaError
from fraga.testing import running_app
from fraga.webapp.service import Service

ROOT = Path(__file__).resolve().parents[1]
SKARPNACK = "skarpnack-2024-09-24-starkt-skydd"
PASSWD = Path("/etc/passwd")
START_TIMEOUT = 180

CRAFTED_IDS = [
    "../../etc/passwd",
    "../../../../../../../../etc/passwd",
    "/etc/passwd",
    "//etc/passwd",
    "file:///etc/passwd",
    "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "..%2F..%2Fetc%2Fpasswd",
    "%2Fetc%2Fpasswd",
    "%252e%252e%252fetc%252fpasswd",
    "..%c0%af..%c0%afetc%c0%afpasswd",
    "..\\..\\etc\\passwd",
    "..\\..\\..\\Windows\\win.ini",
    "C:\\Windows\\win.ini",
    "\\\\server\\share\\x.txt",
    "../sources/" + SKARPNACK + ".txt",
    SKARPNACK + "/../../../../etc/passwd",
    SKARPNACK + "\x00",
    SKARPNACK + "\x00../../etc/passwd",
    "\x00",
    ".",
    "..",
    "x" * 100_000,
    "../" * 5000 + "etc/passwd",
    SKARPNACK + ".txt",  # a file name, not an id
    SKARPNACK.upper(),
    " " + SKARPNACK,
    "finns-inte-2024-01-01",
    "<script>alert(1)</script>",
]


def _passwd_text() -> str:
    return PASSWD.read_text(encoding="utf-8", errors="replace") if PASSWD.is_file() else "root:x:0:0:"


# TESTS: the service ===================================================================
@pytest.mark.parametrize("doc_id", CRAFTED_IDS, ids=lambda s: repr(s[:40]))
def test_crafted_ids_are_refused_by_source_and_download(service: Service, doc_id: str):
    with pytest.raises(FragaError, match="finns inte i indexet"):
        service.source(doc_id)
    with pytest.raises(FragaError, match="finns inte i indexet"):
        service.source(doc_id, chunk_id=f"{SKARPNACK}#0", start=0, end=10)
    with pytest.raises(FragaError, match="finns inte i indexet"):
        service.download(doc_id)
    assert service.index.source_path(doc_id) is None


@pytest.mark.parametrize("doc_id", CRAFTED_IDS, ids=lambda s: repr(s[:40]))
def test_crafted_ids_get_a_message_from_the_ui_handlers(service: Service, doc_id: str):
    pytest.importorskip("gradio")
    from types import SimpleNamespace

    from fraga.webapp.ui import Handlers

    h = Handlers(service)
    html, _, download = h.show_source(doc_id)
    assert "fraga-notice-error" in html and "finns inte i indexet" in html
    assert download.get("visible") is False and "value" not in download
    html, _, download, _ = h.open_clicked(SimpleNamespace(doc=doc_id, chunk=f"{SKARPNACK}#0", start="0", end="5"))
    assert "fraga-notice-error" in html and download.get("visible") is False
    html, _, download = h.pick_document(doc_id)
    assert "fraga-notice-error" in html and download.get("visible") is False
    assert "root:" not in html


@pytest.mark.parametrize(
    "start,end",
    [
        ("0", "1e309"),
        (float("inf"), 5),
        (0, float("nan")),
        ("-1", "5"),
        (10**30, 10**31),
        ("../../", "x"),
        (None, None),
        ([1], {2: 3}),
    ],
)
def test_crafted_offsets_and_chunks_are_ignored(service: Service, start, end):
    view = service.source(SKARPNACK, chunk_id="../../etc/passwd", start=start, end=end)
    assert view.doc.doc_id == SKARPNACK and view.quote is None and view.passage is None
    other = next(c for c in service.index.chunks if c.doc_id != SKARPNACK)
    assert service.source(SKARPNACK, chunk_id=other.chunk_id).passage is None  # another document's passage


def test_the_download_is_the_indexed_original_inside_a_private_folder(service: Service):
    path = service.download(SKARPNACK)
    assert path is not None and path.is_file() and not path.is_symlink()
    assert path.read_bytes() == (ROOT / "corpus" / f"{SKARPNACK}.txt").read_bytes()
    assert service._downloads is not None and path.resolve().is_relative_to(service._downloads.resolve())


def test_a_tampered_index_cannot_point_outside_its_sources(fake_index_dir: Path, tmp_path: Path):
    """Even an index whose file list names ../../etc/passwd (or holds a symlink to it) serves nothing else."""
    svc = Service.open(fake_index_dir, build=False)
    index = svc.index
    sources = (index.folder / "sources").resolve()
    stored = dict(index.source_files)
    try:
        for bad in ["../../../../../../etc/passwd", "/etc/passwd", "..", "", "../manifest.json", "..\\..\\etc\\passwd"]:
            index.source_files[SKARPNACK] = bad
            assert index.source_path(SKARPNACK) is None, bad
            assert svc.download(SKARPNACK) is None, bad
            assert svc.source(SKARPNACK).has_file is False
        if PASSWD.is_file():
            link = sources / "zz-link-to-passwd.txt"
            try:
                link.symlink_to(PASSWD)
            except OSError:
                pytest.skip("cannot make a symlink here")
            try:
                index.source_files[SKARPNACK] = link.name
                assert index.source_path(SKARPNACK) is None
                assert svc.download(SKARPNACK) is None
            finally:
                link.unlink()
    finally:
        index.source_files.clear()
        index.source_files.update(stored)
    assert svc.download(SKARPNACK) is not None


# TESTS: Gradio's file route of the running app ========================================
@pytest.fixture(scope="module")
def app_url(fake_index_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    """``app.py`` in a subprocess over the fake-encoder index."""
    log_path = tmp_path_factory.mktemp("security-app") / "app.log"
    with running_app(fake_index_dir, log_path, timeout=START_TIMEOUT) as url:
        yield url.rstrip("/")


def _get(url: str) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers={"User-Agent": "fraga-test"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _files_outside(fake_index_dir: Path) -> dict[str, str]:
    """Files the app must not serve, each with a line of its content to look for."""
    index_file = next(p for p in sorted(fake_index_dir.rglob("*")) if p.is_file() and p.stat().st_size > 20)
    out = {
        str(ROOT / "app.py"): "def main",
        str(ROOT / "pyproject.toml"): "[project]",
        str(index_file): index_file.read_bytes()[:20].decode("utf-8", errors="ignore"),
    }
    if PASSWD.is_file():
        out[str(PASSWD)] = _passwd_text().splitlines()[0]
    stored = next((fake_index_dir / "CURRENT").parent.rglob("sources/*.txt"), None)
    if stored is not None:
        out[str(stored)] = stored.read_text(encoding="utf-8")[:30]
    return out


def _variants(path: str) -> list[str]:
    q = urllib.parse.quote
    rel = "../../../../../../../.." + path
    return [
        f"/file={path}",
        f"/gradio_api/file={path}",
        f"/file={q(path, safe='')}",
        f"/gradio_api/file={q(path, safe='')}",
        f"/gradio_api/file={q(q(path, safe=''), safe='')}",
        f"/gradio_api/file=/{path}",
        f"/gradio_api/file={rel}",
        f"/gradio_api/file={q(rel, safe='')}",
        f"/gradio_api/file={rel.replace('/', '%2f')}",
        f"/gradio_api/file={rel.replace('/', chr(92))}",
        f"/gradio_api/file%3D{path}",
        f"/gradio_api/file={path}%00.txt",
        f"/gradio_api/file=.{path}",
        f"/gradio_api/file=/tmp/../{path.lstrip('/')}",
        f"/gradio_api/file=%2e%2e%2f%2e%2e%2f{path.lstrip('/')}",
        f"/static/{rel}",
        f"/assets/{q(rel, safe='')}",
        f"/gradio_api/static/{rel}",
        f"/{rel}",
        f"/gradio_api/file={path}?x=1",
        f"/gradio_api/proxy={path}",
    ]


@pytest.mark.slow  # starts app.py
def test_gradio_file_route_does_not_serve_files_outside_the_app(app_url: str, fake_index_dir: Path):
    leaks = []
    for path, marker in _files_outside(fake_index_dir).items():
        assert marker.strip(), path
        for variant in _variants(path):
            status, body = _get(app_url + variant)
            text = body.decode("utf-8", errors="replace")
            if status == 200 and marker.strip() in text:
                leaks.append(f"{variant} -> {status}")
    assert not leaks, f"files served from outside the app: {leaks}"
    status, body = _get(app_url + "/gradio_api/file=" + str(ROOT / "app.py"))
    assert status == 403 and b"def main" not in body  # the route exists and refuses (not a vacuous pass)


@pytest.mark.slow  # starts app.py
def test_the_page_itself_still_loads(app_url: str):
    status, body = _get(app_url + "/")
    assert status == 200 and b"<html" in body.lower()


@pytest.mark.slow  # starts app.py
def test_a_document_outside_the_index_cannot_be_opened_through_the_api(app_url: str):
    """The Källa events are private: the HTTP API offers only the question, search and compare endpoints."""
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    from gradio_client import Client

    client = Client(app_url + "/", verbose=False, download_files=False, analytics_enabled=False)
    try:
        api = client.view_api(return_format="dict", print_info=False)
        names = set(api.get("named_endpoints", {})) | set(api.get("unnamed_endpoints", {}))
        assert {"/fraga", "/sok", "/jamfor"} <= names
        opening = {
            n
            for n in names
            if any(w in str(n).lower() for w in ("kalla", "source", "download", "ladda", "open", "pick", "doc", "file"))
        }
        assert not opening, f"endpoints that open documents or files are public: {opening}"
        html, _ = client.predict("../../etc/passwd", "hybrid", 5, api_name="/fraga")
        assert "root:" not in html
        html = client.predict("/etc/passwd", [], [], "", "", "hybrid", 20, api_name="/sok")
        assert "root:" not in html
    finally:
        client.close()
