"""Ingestion under hostile input: random bytes, broken PDFs, invisible characters, mixed
encodings, huge files, deep folders, links. Nothing crashes or hangs, memory stays
bounded, every good file is indexed and every other file is reported by name with a reason.
"""
from __future__ import annotations

import base64
import json
import os
import random
import subprocess
import sys
import textwrap
import zlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fraga.ingest import MAX_DEPTH, MAX_FILE_BYTES, decode_bytes, load_corpus, load_document
from fraga.sections import MAX_CHARS, chunk_document

# FIXTURES =====================================================================

WORDS = ("förvaltningen", "polisanmälan", "hot", "våld", "medarbetare", "socialtjänsten", "stadsdelsnämnden",
         "skydd", "stöd", "chef", "rutin", "arbetsmiljö", "säkerhetssamordnare", "Skarpnäck", "Älvsjö",
         "och", "att", "är", "som", "en", "det", "ska", "görs", "alltid", "ärendet", "åtgärder")
ASCII_WORDS = ("rutin", "chef", "hot", "skydd", "polis", "enhet", "arbete", "beslut", "och", "att", "det")
# Invisible characters: zero-width, soft hyphen, bidi controls; then control characters.
INVISIBLE = "\u200b\u200c\u200d\u200e\u200f\u2060\ufeff\u00ad\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
CONTROLS = "\x00\x01\x02\x07\x08\x0b\x0e\x1b\x1f\x7f"
C1 = "\x80\x85\x9f"
SUFFIXES = (".txt", ".md", ".TXT", ".Md")
SETTINGS = settings(max_examples=60, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                           HealthCheck.data_too_large])


def _make_pdf(pages: list[str]) -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("helvetica", size=11)
    for text in pages:
        pdf.add_page()
        pdf.multi_cell(0, 6, text)
    return bytes(pdf.output())


GOOD_PDF = _make_pdf(["Sammanfattning\nFörvaltningen svarar att polisanmälan alltid görs av chef på enheten.",
                      "Bakgrund\nAndra sidan handlar om hot och våld mot socialtjänstens medarbetare."])


def _sentences(words: list[str]) -> str:
    lines = [" ".join(words[i:i + 9]).capitalize() + "." for i in range(0, len(words), 9)]
    return "\n".join(lines)


swedish_text = st.lists(st.sampled_from(WORDS), min_size=30, max_size=150).map(_sentences)
ascii_text = st.lists(st.sampled_from(ASCII_WORDS), min_size=30, max_size=150).map(_sentences)


@st.composite
def noisy(draw, text: str, alphabet: str) -> str:
    """``text`` with invisible or control characters inserted, at most one per 50 characters."""
    chars = list(text)
    for _ in range(draw(st.integers(0, len(text) // 50))):
        chars.insert(draw(st.integers(0, len(chars))), draw(st.sampled_from(alphabet)))
    return "".join(chars)


@st.composite
def good_file(draw) -> tuple[bytes, str, str]:
    """(content, suffix, clean text): Swedish text in some encoding, maybe with invisible noise."""
    kind = draw(st.sampled_from(["utf8", "utf8-bom", "utf16", "cp1252", "mixed", "crlf", "pdf"]))
    if kind == "pdf":
        return GOOD_PDF, ".pdf", ""
    text = draw(swedish_text)
    if kind in ("utf8", "utf8-bom", "utf16"):
        raw = draw(noisy(text, INVISIBLE + CONTROLS + C1))
        data = {"utf8": raw.encode("utf-8"), "utf8-bom": b"\xef\xbb\xbf" + raw.encode("utf-8"),
                "utf16": raw.encode("utf-16")}[kind]
    elif kind == "cp1252":
        data = draw(noisy(text, CONTROLS)).encode("cp1252")
    elif kind == "crlf":
        data = text.replace("\n", "\r\n").encode("utf-8")
    else:  # a UTF-8 part and a Windows-1252 part pasted together, in either order
        cut = text.index("\n") + 1 if "\n" in text else len(text) // 2
        utf8, cp1252 = text[:cut], text[cut:]
        if draw(st.booleans()):
            data, text = utf8.encode("utf-8") + cp1252.encode("cp1252"), utf8 + cp1252
        else:
            data, text = cp1252.encode("cp1252") + utf8.encode("utf-8"), cp1252 + utf8
    return data, draw(st.sampled_from(SUFFIXES)), text


@st.composite
def broken_pdf(draw) -> bytes:
    data = bytearray(GOOD_PDF)
    if draw(st.booleans()):
        data = data[:draw(st.integers(0, len(data) - 1))]
    for _ in range(draw(st.integers(0, 12))):
        if data:
            data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    return bytes(data)


any_file = st.one_of(
    st.tuples(st.binary(max_size=3000), st.sampled_from(SUFFIXES + (".pdf",))),
    st.tuples(broken_pdf(), st.just(".pdf")),
    st.tuples(st.text(max_size=500).map(lambda t: t.encode("utf-8", "surrogatepass")), st.sampled_from(SUFFIXES)),
    st.tuples(st.just(b""), st.sampled_from(SUFFIXES + (".pdf",))),
    st.tuples(ascii_text.flatmap(lambda t: noisy(t, CONTROLS * 20)).map(str.encode), st.sampled_from(SUFFIXES)),
)
name_part = st.text(st.characters(codec="utf-8", exclude_characters="/\\\x00", exclude_categories=("Cs",)),
                    min_size=1, max_size=12).filter(lambda s: not s.startswith(".") and s.strip() == s)


def _write(root: Path, rel: str, data: bytes) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _check_partition(root: Path, files: list[str]) -> tuple[set[str], set[str], set[str]]:
    """Load ``root``; every file must be a document, a reported skip or a duplicate, exactly once."""
    corpus = load_corpus(root)
    docs = [d.path for d in corpus.documents]
    skipped = [s.path for s in corpus.skipped]
    dups = [b for _, b in corpus.duplicates]
    assert sorted(docs + skipped + dups) == sorted(files)
    for s in corpus.skipped:
        assert Path(s.path).name in s.reason and len(s.reason) > len(Path(s.path).name) + 5
    assert len({d.doc_id for d in corpus.documents}) == len(corpus.documents)
    kept = set(docs)
    assert all(a in kept for a, _ in corpus.duplicates)
    for doc in corpus.documents:
        doc.text.encode("utf-8")  # no lone surrogates
        assert not any(c in doc.text for c in INVISIBLE + CONTROLS + C1)
        for chunk in chunk_document(doc):
            assert 0 < len(chunk.text) <= MAX_CHARS
    return set(docs), set(skipped), set(dups)


PEAK_MB = """
def peak_mb():  # the high-water mark of this process's own memory (ru_maxrss also counts the parent's)
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmHWM")) / 1024
"""


def _subprocess(code: str, timeout: float) -> dict:
    """Run ``code`` in a fresh interpreter (a hang cannot block the suite); it prints JSON last."""
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


# TESTS ========================================================================

@SETTINGS
@given(data=st.binary(max_size=4000))
def test_decode_bytes_never_fails(data):
    text, encoding = decode_bytes(data)
    assert encoding in ("utf-8", "utf-16", "utf-8+cp1252", "cp1252", "latin-1")
    assert "\r" not in text


@SETTINGS
@given(good=good_file())
def test_good_file_keeps_its_words(tmp_path_factory, good):
    data, suffix, text = good
    root = tmp_path_factory.mktemp("good")
    (root / f"svar{suffix}").write_bytes(data)
    doc = load_document(root / f"svar{suffix}", root)
    if suffix == ".pdf":
        assert "polisanmälan" in doc.text and doc.page_at(len(doc.text) - 1) == 2
    else:  # invisible characters gone, both encodings of a mixed file right
        assert doc.original_text.split() == text.split()


@SETTINGS
@given(goods=st.lists(good_file(), min_size=1, max_size=4), bads=st.lists(any_file, max_size=8),
       names=st.lists(name_part, min_size=12, max_size=12), depth=st.integers(0, 3))
def test_every_file_is_indexed_or_reported(tmp_path_factory, goods, bads, names, depth):
    root = tmp_path_factory.mktemp("corpus")
    files, good_names = [], []
    for i, (data, suffix, _) in enumerate(goods):
        rel = "/".join(names[:depth] + [f"g{i}-{names[-1 - i]}{suffix}"])
        _write(root, rel, data)
        files.append(rel)
        good_names.append(rel)
    for i, (data, suffix) in enumerate(bads):
        rel = "/".join(names[:i % (depth + 1)] + [f"b{i}-{names[i % len(names)]}{suffix}"])
        _write(root, rel, data)
        files.append(rel)
    docs, _, dups = _check_partition(root, files)
    assert set(good_names) <= docs | dups


@settings(max_examples=10, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(goods=st.lists(good_file(), min_size=1, max_size=3), bads=st.lists(any_file, min_size=1, max_size=4))
def test_build_never_crashes(tmp_path_factory, goods, bads):
    from fraga.answer import Answerer
    from fraga.index import build_index, load_index
    from fraga.retrieve import Retriever

    root = tmp_path_factory.mktemp("corpus")
    for i, (data, suffix, _) in enumerate(goods):
        (root / f"bra-{i}{suffix}").write_bytes(data)
    for i, (data, suffix) in enumerate(bads):
        (root / f"trasig-{i}{suffix}").write_bytes(data)
    report = build_index(root, root.parent / (root.name + "-idx"), encoder="fake")
    assert report.documents + len(report.skipped) + len(report.duplicates) == len(goods) + len(bads)
    index = load_index(root.parent / (root.name + "-idx"))
    answer = Answerer(Retriever(index)).answer("Vem gör polisanmälan?")
    assert answer.text


def test_every_kind_of_bad_file_has_a_reason(tmp_path):
    (tmp_path / "bra.txt").write_text("Förvaltningen svarar att polisanmälan alltid görs av chef.", encoding="utf-8")
    bad = {
        "tom.txt": b"",
        "blanksteg.md": b" \n\t\n " * 100,
        "osynlig.txt": "\u200b\ufeff\u200d".encode() * 100,
        "binar.txt": os.urandom(5000),
        "utf32.txt": "Förvaltningen svarar att polisanmälan görs av chef.".encode("utf-32"),
        "bara-emoji.md": "😀🔥👍🏽 ".encode() * 200,
        "trasig.pdf": GOOD_PDF[: len(GOOD_PDF) // 3],
        "tom.pdf": b"",
        "inte-pdf.pdf": "Det här är text, ingen PDF.".encode(),
        "bild.png": b"\x89PNG\r\n\x1a\n" + os.urandom(100),
        "LASMIG": b"Ingen filtyp alls.",
        "svar.docx": b"PK\x03\x04" + os.urandom(100),
    }
    for name, data in bad.items():
        (tmp_path / name).write_bytes(data)
    corpus = load_corpus(tmp_path)
    assert [d.path for d in corpus.documents] == ["bra.txt"]
    reasons = {s.path: s.reason for s in corpus.skipped}
    assert set(reasons) == set(bad)
    for name, reason in reasons.items():
        assert reason.startswith(name + ": ")
    assert "binärdata" in reasons["binar.txt"] and "binärdata" in reasons["utf32.txt"]
    assert "tom" in reasons["tom.txt"] and "tom" in reasons["osynlig.txt"]
    assert "filtypen" in reasons["bild.png"] and "filtypen" in reasons["LASMIG"]


@pytest.mark.parametrize("files", [{}, {"tom.txt": b"", "trasig.pdf": b"%PDF-1.4", "bild.png": b"\x89PNG"}])
def test_a_corpus_without_readable_documents_is_one_clear_error(tmp_path, capsys, files):
    from fraga.cli import main

    (tmp_path / "c").mkdir()
    for name, data in files.items():
        (tmp_path / "c" / name).write_bytes(data)
    code = main(["index", str(tmp_path / "c"), "--index-dir", str(tmp_path / "idx"), "--encoder", "fake"])
    err = capsys.readouterr().err.splitlines()[-1]
    assert code == 2 and err.startswith("fel: Korpusmappen ") and "inga läsbara dokument" in err
    assert all(name in err for name in files)
    assert not (tmp_path / "idx" / "CURRENT").exists()


def test_mixed_encodings_and_utf16(tmp_path):
    utf8 = "Förvaltningen svarar att polisanmälan görs av chef.\n"
    cp1252 = "Åtgärder mot hot och våld i Skärholmen är viktiga.\n"
    (tmp_path / "blandad.txt").write_bytes(utf8.encode("utf-8") + cp1252.encode("cp1252"))
    (tmp_path / "utf16.txt").write_bytes(utf8.encode("utf-16"))
    docs = {d.path: d for d in load_corpus(tmp_path).documents}
    assert docs["blandad.txt"].original_text == utf8 + cp1252
    assert docs["blandad.txt"].encoding == "utf-8+cp1252"
    assert docs["utf16.txt"].encoding == "utf-16" and "polisanmälan" in docs["utf16.txt"].text


def test_control_characters_do_not_reject_a_text(tmp_path):
    text = "Förvaltningen\x00 svarar att polis\u200banmälan\x1b alltid görs av\u202e chef på enheten."
    (tmp_path / "styr.txt").write_text(text, encoding="utf-8")
    (doc,) = load_corpus(tmp_path).documents
    assert doc.text == "Förvaltningen svarar att polisanmälan alltid görs av chef på enheten."


def test_same_text_under_two_names_is_indexed_once_and_both_are_reported(tmp_path, capsys):
    from fraga.cli import main

    text = "Förvaltningen svarar att polisanmälan alltid görs av chef på enheten i Skärholmen.\n"
    (tmp_path / "corpus" / "kopior").mkdir(parents=True)
    (tmp_path / "corpus" / "original.txt").write_text(text, encoding="utf-8")
    (tmp_path / "corpus" / "kopior" / "kopia.md").write_bytes(text.replace("\n", "\r\n").encode("cp1252"))
    (tmp_path / "corpus" / "kopior" / "med-bom.txt").write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    code = main(["index", str(tmp_path / "corpus"), "--index-dir", str(tmp_path / "idx"), "--encoder", "fake"])
    out = capsys.readouterr().out
    assert code == 0 and "Indexerade 1 dokument" in out
    for dup in ("kopior/kopia.md", "kopior/med-bom.txt"):
        assert f"Dubblett: {dup} har samma text som original.txt" in out
    gen = (tmp_path / "idx" / "CURRENT").read_text().strip()
    report = json.loads((tmp_path / "idx" / gen / "report.json").read_text(encoding="utf-8"))
    assert report["duplicates"] == [{"kept": "original.txt", "duplicate": "kopior/kopia.md"},
                                    {"kept": "original.txt", "duplicate": "kopior/med-bom.txt"}]


def test_same_name_with_two_suffixes_gets_two_ids(tmp_path):
    from fraga.index import build_index, load_index

    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "svar.md").write_text("Förvaltningen svarar att polisanmälan görs av chef.", encoding="utf-8")
    (tmp_path / "c" / "svar.txt").write_text("Ett helt annat dokument om budget och ekonomi i Farsta.",
                                             encoding="utf-8")
    report = build_index(tmp_path / "c", tmp_path / "idx", encoder="fake", repair_ocr=False)
    index = load_index(tmp_path / "idx")
    assert report.documents == 2 and sorted(index.documents) == ["svar", "svar.txt"]
    for chunk in index.chunks:  # every passage points into its own document
        assert index.documents[chunk.doc_id].text[chunk.start:chunk.end].strip() == chunk.text


def test_huge_file_is_skipped_without_reading_it(tmp_path):
    """A 200 MB text file (and PDF) are reported; peak memory of the whole load stays small."""
    for name in ("enorm.txt", "enorm.pdf"):
        with open(tmp_path / name, "wb") as f:
            f.truncate(200 * 1024 * 1024)  # sparse: instant, no disk used
    (tmp_path / "bra.txt").write_text("Förvaltningen svarar att polisanmälan görs av chef.", encoding="utf-8")
    result = _subprocess(PEAK_MB + f"""
import json
from fraga.ingest import load_corpus
before = peak_mb()
corpus = load_corpus({str(tmp_path)!r})
print(json.dumps({{"docs": [d.path for d in corpus.documents],
                   "skipped": {{s.path: s.reason for s in corpus.skipped}},
                   "growth_mb": peak_mb() - before, "peak_mb": peak_mb()}}))
""", timeout=120)
    assert result["docs"] == ["bra.txt"]
    for name in ("enorm.txt", "enorm.pdf"):
        assert result["skipped"][name] == f"{name}: filen är 200 MB, gränsen är {MAX_FILE_BYTES >> 20} MB; dela upp den"
    assert result["growth_mb"] < 50, result


def test_pdf_decompression_bomb_is_skipped_with_bounded_memory(tmp_path):
    packer = zlib.compressobj(9)  # 300 MB of content in a 300 kB stream, built without holding 300 MB
    stream = packer.compress(b"BT /F1 12 Tf 72 712 Td (Hej) Tj ET\n")
    stream += b"".join(packer.compress(b" " * (1 << 20)) for _ in range(300)) + packer.flush()
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
               b"/Resources << /Font << /F1 5 0 R >> >> >>",
               b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream",
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    pdf, offsets = b"%PDF-1.4\n", []
    for n, body in enumerate(objects, 1):
        offsets.append(len(pdf))
        pdf += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(pdf)
    pdf += b"xref\n0 6\n0000000000 65535 f \n" + b"".join(b"%010d 00000 n \n" % o for o in offsets)
    pdf += b"trailer\n<< /Size 6 /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % xref
    (tmp_path / "bomb.pdf").write_bytes(pdf)
    (tmp_path / "bra.txt").write_text("Förvaltningen svarar att polisanmälan görs av chef.", encoding="utf-8")
    result = _subprocess(PEAK_MB + f"""
import json
from fraga.ingest import load_corpus
corpus = load_corpus({str(tmp_path)!r})
print(json.dumps({{"skipped": [s.reason for s in corpus.skipped], "peak_mb": peak_mb()}}))
""", timeout=120)
    assert len(result["skipped"]) == 1 and result["skipped"][0].startswith("bomb.pdf: trasig eller oläsbar PDF")
    assert result["peak_mb"] < 500, result


def test_deep_folders_are_read_to_the_limit_and_reported_below_it(tmp_path):
    folder = tmp_path
    expected_docs, expected_skipped = [], []
    for level in range(101):
        text = f"Dokument på nivå {level}: förvaltningen svarar om polisanmälan och hot."
        (folder / f"n{level}.txt").write_text(text, encoding="utf-8")
        rel = (folder / f"n{level}.txt").relative_to(tmp_path).as_posix()
        (expected_docs if level <= MAX_DEPTH else expected_skipped).append(rel)
        folder = folder / "d"
        folder.mkdir()
    corpus = load_corpus(tmp_path)
    assert sorted(d.path for d in corpus.documents) == sorted(expected_docs)
    assert sorted(s.path for s in corpus.skipped) == sorted(expected_skipped)
    assert all(f"gränsen är {MAX_DEPTH}" in s.reason for s in corpus.skipped)


def test_very_deep_folders_do_not_overflow_the_stack(tmp_path):
    # More levels than Python's recursion limit: os.makedirs and shutil.rmtree would overflow,
    # so the tree is made and removed one level at a time.
    chain = [tmp_path / "d"]
    for _ in range(1199):
        chain.append(chain[-1] / "d")
    try:
        for folder in chain:
            folder.mkdir()
        (chain[-1] / "djup.txt").write_text("Förvaltningen svarar om polisanmälan och hot.", encoding="utf-8")
        (tmp_path / "bra.txt").write_text("Förvaltningen svarar att polisanmälan görs av chef.", encoding="utf-8")
        corpus = load_corpus(tmp_path)
    finally:
        (chain[-1] / "djup.txt").unlink(missing_ok=True)
        for folder in reversed(chain):
            if folder.exists():
                folder.rmdir()
    assert [d.path for d in corpus.documents] == ["bra.txt"] and len(corpus.skipped) == 1
    assert corpus.skipped[0].reason.startswith("djup.txt: ligger 1200 mappar ned")


def test_links_are_reported_not_followed_and_loops_end(tmp_path):
    text = "Förvaltningen svarar att polisanmälan alltid görs av chef."
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "bra.txt").write_text(text, encoding="utf-8")
    (tmp_path / "sub" / "loop").symlink_to(tmp_path)  # a folder that contains itself
    (tmp_path / "self").symlink_to(".")
    (tmp_path / "lank.txt").symlink_to(tmp_path / "sub" / "bra.txt")
    (tmp_path / "dod.txt").symlink_to(tmp_path / "finns-inte.txt")
    (tmp_path / "a").symlink_to("b")
    (tmp_path / "b").symlink_to("a")  # a link cycle
    corpus = load_corpus(tmp_path)
    assert [d.path for d in corpus.documents] == ["sub/bra.txt"]
    reasons = {s.path: s.reason for s in corpus.skipped}
    assert set(reasons) == {"sub/loop", "self", "lank.txt", "dod.txt", "a", "b"}
    assert all("länk" in r for r in reasons.values())


def test_fifo_and_undecodable_file_name_are_reported(tmp_path):
    from fraga.index import build_index

    (tmp_path / "c").mkdir()
    os.mkfifo(tmp_path / "c" / "ror.txt")  # reading it would block forever
    bad_name = os.fsdecode(b"r\xe4tt-latin1-namn.txt")  # not UTF-8: a lone surrogate in Python
    (tmp_path / "c" / bad_name).write_text("Förvaltningen svarar om polisanmälan.", encoding="utf-8")
    (tmp_path / "c" / "bra.txt").write_text("Förvaltningen svarar att polisanmälan görs av chef.", encoding="utf-8")
    report = build_index(tmp_path / "c", tmp_path / "idx", encoder="fake", repair_ocr=False)
    reasons = {s.path: s.reason for s in report.skipped}
    assert report.documents == 1
    assert "ingen vanlig fil" in reasons["ror.txt"]
    assert "r\ufffdtt-latin1-namn.txt" in reasons and "UTF-8" in reasons["r\ufffdtt-latin1-namn.txt"]


def test_hostile_sidecar_is_ignored_not_fatal(tmp_path):
    from fraga.index import build_index, load_index

    (tmp_path / "c").mkdir()
    for i, sidecar in enumerate([os.urandom(300), b"[1, 2]", b'{"district": ["Farsta"], "dates": 5}',
                                 b'{"title": "\\ud800 Titel", "signers": ["A\\u0000B"]}', b"[" * 100000]):
        (tmp_path / "c" / f"svar{i}.txt").write_text(f"Dokument {i}: förvaltningen svarar om polisanmälan.",
                                                     encoding="utf-8")
        (tmp_path / "c" / f"svar{i}.meta.json").write_bytes(sidecar)
    report = build_index(tmp_path / "c", tmp_path / "idx", encoder="fake", repair_ocr=False)
    assert report.documents == 5 and report.skipped == ()
    index = load_index(tmp_path / "idx")
    assert index.documents["svar3"].metadata.title == " Titel"
    assert index.documents["svar2"].metadata.district == ""
    assert index.districts() == []


def test_pathological_texts_build_in_linear_time(tmp_path):
    """Inputs that once made a regex, a loop or the OCR repair quadratic or worse (minutes to
    hours for a few hundred kB): the whole build, OCR repair included, ends in bounded time."""
    n = 200_000
    rng = random.Random(0)
    cases = {
        "ett-ord.txt": "Förvaltningen" * (n // 13),
        "bindestreck.txt": "-".join(["A"] * (n // 2)),
        "versaler.txt": "A" * n,
        "base64.md": "# Bild\n\n![x](data:image/png;base64," + base64.b64encode(rng.randbytes(n)).decode() + ")\n",
        "rader-utan-punkt.txt": "ordet här utan punkt\n" * (n // 21),
        "stadsdelar.txt": "Farsta Hägersten-Älvsjö " * (n // 24),
        "mellanslag.txt": "Förvaltningen " + " " * n + "svarar om polisanmälan.",
    }
    (tmp_path / "c").mkdir()
    for name, text in cases.items():
        (tmp_path / "c" / name).write_text(text, encoding="utf-8")
    result = _subprocess(f"""
        import json, logging
        from fraga.index import build_index, load_index
        logging.disable(logging.CRITICAL)
        report = build_index({str(tmp_path / "c")!r}, {str(tmp_path / "idx")!r}, encoder="fake")
        longest = max(len(c.text) for c in load_index({str(tmp_path / "idx")!r}).chunks)
        print(json.dumps({{"seconds": report.seconds, "docs": report.documents, "longest": longest}}))
    """, timeout=300)
    assert result["docs"] == len(cases) and result["longest"] <= MAX_CHARS
    assert result["seconds"]["total"] < 120, result


def test_ocr_repair_of_a_text_with_a_long_word_ends(tmp_path):
    # Candidate generation grew as about n**3.5 in a word's length (640 letters: 208 s).
    text = "Förvaltningen svarar om polisanmälan. " + "förvaltningenx" * 46 + " slut."  # a 644-letter word
    (tmp_path / "lang.txt").write_text(text, encoding="utf-8")
    _subprocess(f"""
        import json
        from fraga.ingest import load_corpus
        from fraga.ocr import ingest_repair
        corpus = load_corpus({str(tmp_path)!r}, repair=ingest_repair)
        print(json.dumps(len(corpus.documents)))
    """, timeout=60)


def test_random_folder_names_and_nesting(tmp_path):
    rng = random.Random(7)
    alphabet = "abcåäöÅÄÖ é-_ 😀ّع"
    files = []
    for i in range(40):
        parts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 8))).strip() or "x"
                 for _ in range(rng.randint(0, 6))]
        rel = "/".join(parts + [f"f{i}.txt"])
        _write(tmp_path, rel, f"Dokument {i}: förvaltningen svarar om polisanmälan och hot mot chef.".encode())
        files.append(rel)
    docs, skipped, _ = _check_partition(tmp_path, files)
    assert docs == set(files) and not skipped
