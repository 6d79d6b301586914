"""Ingestion under random hostile input (hypothesis): random bytes, broken PDFs, invisible and
control characters, mixed encodings, random folder names and nesting. Nothing crashes,
every good file is indexed and every other file is reported by name with a reason.
(Hand-made cases, huge files and deep folders are in test_ingest_limits.py.)
"""

from __future__ import annotations

import random
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fraga.ingest.corpus import decode_bytes, load_corpus, load_document
from fraga.ingest.sections import MAX_CHARS, chunk_document
from fraga.testing import make_pdf

# FIXTURES =====================================================================

WORDS = (
    "förvaltningen",
    "polisanmälan",
    "hot",
    "våld",
    "medarbetare",
    "socialtjänsten",
    "stadsdelsnämnden",
    "skydd",
    "stöd",
    "chef",
    "rutin",
    "arbetsmiljö",
    "säkerhetssamordnare",
    "Skarpnäck",
    "Älvsjö",
    "och",
    "att",
    "är",
    "som",
    "en",
    "det",
    "ska",
    "görs",
    "alltid",
    "ärendet",
    "åtgärder",
)
ASCII_WORDS = ("rutin", "chef", "hot", "skydd", "polis", "enhet", "arbete", "beslut", "och", "att", "det")
# Invisible characters: zero-width, soft hyphen, bidi controls; then control characters.
INVISIBLE = "\u200b\u200c\u200d\u200e\u200f\u2060\ufeff\u00ad\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
CONTROLS = "\x00\x01\x02\x07\x08\x0b\x0e\x1b\x1f\x7f"
C1 = "\x80\x85\x9f"
SUFFIXES = (".txt", ".md", ".TXT", ".Md")
SETTINGS = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large],
)


GOOD_PDF = make_pdf(
    [
        "Sammanfattning\nFörvaltningen svarar att polisanmälan alltid görs av chef på enheten.",
        "Bakgrund\nAndra sidan handlar om hot och våld mot socialtjänstens medarbetare.",
    ]
)


def _sentences(words: list[str]) -> str:
    lines = [" ".join(words[i : i + 9]).capitalize() + "." for i in range(0, len(words), 9)]
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
        data = {"utf8": raw.encode("utf-8"), "utf8-bom": b"\xef\xbb\xbf" + raw.encode("utf-8"), "utf16": raw.encode("utf-16")}[
            kind
        ]
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
        data = data[: draw(st.integers(0, len(data) - 1))]
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
name_part = st.text(
    st.characters(codec="utf-8", exclude_characters="/\\\x00", exclude_categories=("Cs",)), min_size=1, max_size=12
).filter(lambda s: not s.startswith(".") and s.strip() == s)


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
@given(
    goods=st.lists(good_file(), min_size=1, max_size=4),
    bads=st.lists(any_file, max_size=8),
    names=st.lists(name_part, min_size=12, max_size=12),
    depth=st.integers(0, 3),
)
def test_every_file_is_indexed_or_reported(tmp_path_factory, goods, bads, names, depth):
    root = tmp_path_factory.mktemp("corpus")
    files, good_names = [], []
    for i, (data, suffix, _) in enumerate(goods):
        rel = "/".join(names[:depth] + [f"g{i}-{names[-1 - i]}{suffix}"])
        _write(root, rel, data)
        files.append(rel)
        good_names.append(rel)
    for i, (data, suffix) in enumerate(bads):
        rel = "/".join(names[: i % (depth + 1)] + [f"b{i}-{names[i % len(names)]}{suffix}"])
        _write(root, rel, data)
        files.append(rel)
    docs, _, dups = _check_partition(root, files)
    assert set(good_names) <= docs | dups


@settings(
    max_examples=10,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(goods=st.lists(good_file(), min_size=1, max_size=3), bads=st.lists(any_file, min_size=1, max_size=4))
def test_build_never_crashes(tmp_path_factory, goods, bads):
    from fraga.answer.answerer import Answerer
    from fraga.index.build import build_index
    from fraga.index.generation import load_index
    from fraga.search.retrieve import Retriever

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


def test_random_folder_names_and_nesting(tmp_path):
    rng = random.Random(7)
    alphabet = "abcåäöÅÄÖ é-_ 😀ّع"
    files = []
    for i in range(40):
        parts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 8))).strip() or "x" for _ in range(rng.randint(0, 6))]
        rel = "/".join(parts + [f"f{i}.txt"])
        _write(tmp_path, rel, f"Dokument {i}: förvaltningen svarar om polisanmälan och hot mot chef.".encode())
        files.append(rel)
    docs, skipped, _ = _check_partition(tmp_path, files)
    assert docs == set(files) and not skipped
