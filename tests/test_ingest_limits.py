"""Ingestion limits and hostile files, case by case: every kind of unreadable file has a
reason, duplicates are reported, huge files and decompression bombs are skipped with bounded
memory, deep and looping folders end, and pathological texts build in linear time.
(The randomised inputs are in test_fuzz_ingest.py.)
"""

from __future__ import annotations

import base64
import json
import os
import random
import zlib

import pytest

from fraga.ingest.corpus import MAX_DEPTH, MAX_FILE_BYTES, load_corpus
from fraga.ingest.sections import MAX_CHARS
from fraga.testing import PEAK_MB, make_pdf, run_python

GOOD_PDF = make_pdf(
    [
        "Sammanfattning\nFörvaltningen svarar att polisanmälan alltid görs av chef på enheten.",
        "Bakgrund\nAndra sidan handlar om hot och våld mot socialtjänstens medarbetare.",
    ]
)


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
    from fraga.cli.main import main

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
    from fraga.cli.main import main

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
    assert report["duplicates"] == [
        {"kept": "original.txt", "duplicate": "kopior/kopia.md"},
        {"kept": "original.txt", "duplicate": "kopior/med-bom.txt"},
    ]


def test_same_name_with_two_suffixes_gets_two_ids(tmp_path):
    from fraga.index.build import build_index
    from fraga.index.generation import load_index

    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "svar.md").write_text("Förvaltningen svarar att polisanmälan görs av chef.", encoding="utf-8")
    (tmp_path / "c" / "svar.txt").write_text("Ett helt annat dokument om budget och ekonomi i Farsta.", encoding="utf-8")
    report = build_index(tmp_path / "c", tmp_path / "idx", encoder="fake", repair_ocr=False)
    index = load_index(tmp_path / "idx")
    assert report.documents == 2 and sorted(index.documents) == ["svar", "svar.txt"]
    for chunk in index.chunks:  # every passage points into its own document
        assert index.documents[chunk.doc_id].text[chunk.start : chunk.end].strip() == chunk.text


def test_huge_file_is_skipped_without_reading_it(tmp_path):
    """A 200 MB text file (and PDF) are reported; peak memory of the whole load stays small."""
    for name in ("enorm.txt", "enorm.pdf"):
        with open(tmp_path / name, "wb") as f:
            f.truncate(200 * 1024 * 1024)  # sparse: instant, no disk used
    (tmp_path / "bra.txt").write_text("Förvaltningen svarar att polisanmälan görs av chef.", encoding="utf-8")
    result = run_python(
        PEAK_MB
        + f"""
import json
from fraga.ingest.corpus import load_corpus
before = peak_mb()
corpus = load_corpus({str(tmp_path)!r})
print(json.dumps({{"docs": [d.path for d in corpus.documents],
                   "skipped": {{s.path: s.reason for s in corpus.skipped}},
                   "growth_mb": peak_mb() - before, "peak_mb": peak_mb()}}))
""",
        timeout=120,
    )
    assert result["docs"] == ["bra.txt"]
    for name in ("enorm.txt", "enorm.pdf"):
        assert result["skipped"][name] == f"{name}: filen är 200 MB, gränsen är {MAX_FILE_BYTES >> 20} MB; dela upp den"
    assert result["growth_mb"] < 50, result


def test_pdf_decompression_bomb_is_skipped_with_bounded_memory(tmp_path):
    packer = zlib.compressobj(9)  # 300 MB of content in a 300 kB stream, built without holding 300 MB
    stream = packer.compress(b"BT /F1 12 Tf 72 712 Td (Hej) Tj ET\n")
    stream += b"".join(packer.compress(b" " * (1 << 20)) for _ in range(300)) + packer.flush()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    pdf, offsets = b"%PDF-1.4\n", []
    for n, body in enumerate(objects, 1):
        offsets.append(len(pdf))
        pdf += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(pdf)
    pdf += b"xref\n0 6\n0000000000 65535 f \n" + b"".join(b"%010d 00000 n \n" % o for o in offsets)
    pdf += b"trailer\n<< /Size 6 /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % xref
    (tmp_path / "bomb.pdf").write_bytes(pdf)
    (tmp_path / "bra.txt").write_text("Förvaltningen svarar att polisanmälan görs av chef.", encoding="utf-8")
    result = run_python(
        PEAK_MB
        + f"""
import json
from fraga.ingest.corpus import load_corpus
corpus = load_corpus({str(tmp_path)!r})
print(json.dumps({{"skipped": [s.reason for s in corpus.skipped], "peak_mb": peak_mb()}}))
""",
        timeout=120,
    )
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
    from fraga.index.build import build_index

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
    from fraga.index.build import build_index
    from fraga.index.generation import load_index

    (tmp_path / "c").mkdir()
    for i, sidecar in enumerate(
        [
            os.urandom(300),
            b"[1, 2]",
            b'{"district": ["Farsta"], "dates": 5}',
            b'{"title": "\\ud800 Titel", "signers": ["A\\u0000B"]}',
            b"[" * 100000,
        ]
    ):
        (tmp_path / "c" / f"svar{i}.txt").write_text(f"Dokument {i}: förvaltningen svarar om polisanmälan.", encoding="utf-8")
        (tmp_path / "c" / f"svar{i}.meta.json").write_bytes(sidecar)
    report = build_index(tmp_path / "c", tmp_path / "idx", encoder="fake", repair_ocr=False)
    assert report.documents == 5 and report.skipped == ()
    index = load_index(tmp_path / "idx")
    assert index.documents["svar3"].metadata.title == " Titel"
    assert index.documents["svar2"].metadata.district == ""
    assert index.districts() == []


@pytest.mark.slow  # a long build in a subprocess
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
    result = run_python(
        f"""
        import json, logging
        from fraga.index.build import build_index
        from fraga.index.generation import load_index
        logging.disable(logging.CRITICAL)
        report = build_index({str(tmp_path / "c")!r}, {str(tmp_path / "idx")!r}, encoder="fake")
        longest = max(len(c.text) for c in load_index({str(tmp_path / "idx")!r}).chunks)
        print(json.dumps({{"seconds": report.seconds, "docs": report.documents, "longest": longest}}))
    """,
        timeout=300,
    )
    assert result["docs"] == len(cases) and result["longest"] <= MAX_CHARS
    assert result["seconds"]["total"] < 120, result


def test_ocr_repair_of_a_text_with_a_long_word_ends(tmp_path):
    # Candidate generation grew as about n**3.5 in a word's length (640 letters: 208 s).
    text = "Förvaltningen svarar om polisanmälan. " + "förvaltningenx" * 46 + " slut."  # a 644-letter word
    (tmp_path / "lang.txt").write_text(text, encoding="utf-8")
    docs = run_python(
        f"""
        import json
        from fraga.ingest.corpus import load_corpus
        from fraga.ingest.ocr import ingest_repair
        corpus = load_corpus({str(tmp_path)!r}, repair=ingest_repair)
        print(json.dumps([d.text for d in corpus.documents]))
    """,
        timeout=60,
    )
    assert len(docs) == 1 and "förvaltningenx" * 46 in docs[0] and docs[0].startswith("Förvaltningen svarar")
