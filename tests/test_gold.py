"""Checks for the gold question-answer sets: eval/gold.jsonl (dev) and eval/gold_test.jsonl (test)."""

import json
import re
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GOLD_FILES = {"dev": ROOT / "eval" / "gold.jsonl", "test": ROOT / "eval" / "gold_test.jsonl"}
CORPUS = ROOT / "corpus"

KINDS = {
    "fact",
    "paraphrase",
    "district_form",
    "ocr",
    "cross_district",
    "metadata",
    "english",
    "unanswerable",
    "followup",
    "skrivelse",
}
# Kinds each split must hold (the newer kinds need not be in every file).
REQUIRED_KINDS = KINDS - {"followup", "skrivelse"}
FIELDS = {
    "id": str,
    "question": str,
    "answer": str,
    "kind": str,
    "districts": list,
    "doc_ids": list,
    "evidence": list,
    "answerable": bool,
}
OPTIONAL_FIELDS = {"previous": str}  # a follow-up's previous question in the conversation


def _norm(text: str) -> str:
    """Collapse every whitespace run to one space (and trim)."""
    return re.sub(r"\s+", " ", text).strip()


def _load(path: Path) -> list[dict]:
    rows = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as exc:  # pragma: no cover - reported by the test
            pytest.fail(f"{path.name} line {lineno} is not valid JSON: {exc}")
    return rows


@pytest.fixture(scope="module", params=sorted(GOLD_FILES))
def split(request) -> str:
    return request.param


@pytest.fixture(scope="module")
def gold(split) -> list[dict]:
    return _load(GOLD_FILES[split])


@pytest.fixture(scope="module")
def corpus() -> dict[str, str]:
    return {p.stem: _norm(p.read_text(encoding="utf-8")) for p in CORPUS.glob("*.txt")}


def test_every_line_parses(split):
    for lineno, line in enumerate(GOLD_FILES[split].read_text(encoding="utf-8").splitlines(), 1):
        assert line.strip(), f"blank line {lineno}"
        assert isinstance(json.loads(line), dict), f"line {lineno} is not an object"


def test_ids_unique(gold):
    counts = Counter(row["id"] for row in gold)
    assert not [i for i, n in counts.items() if n > 1], "duplicate ids"


def test_fields_and_types(gold):
    for row in gold:
        assert set(FIELDS) <= set(row) <= set(FIELDS) | set(OPTIONAL_FIELDS), f"{row.get('id')}: fields {sorted(row)}"
        for name, typ in OPTIONAL_FIELDS.items():
            assert name not in row or (isinstance(row[name], typ) and row[name].strip()), row["id"]
        for name, typ in FIELDS.items():
            assert isinstance(row[name], typ), f"{row['id']}: {name} is not {typ.__name__}"
        for name in ("id", "question", "answer"):
            assert row[name].strip(), f"{row['id']}: empty {name}"
        assert all(isinstance(d, str) and d for d in row["districts"]), row["id"]
        assert all(isinstance(d, str) and d for d in row["doc_ids"]), row["id"]
        for ev in row["evidence"]:
            assert isinstance(ev, dict) and set(ev) == {"doc_id", "text"}, row["id"]
            assert isinstance(ev["doc_id"], str) and isinstance(ev["text"], str), row["id"]
            assert ev["text"].strip(), f"{row['id']}: empty evidence text"


def test_kinds_valid_and_all_present(gold):
    kinds = Counter(row["kind"] for row in gold)
    assert set(kinds) <= KINDS, f"unknown kinds: {set(kinds) - KINDS}"
    assert REQUIRED_KINDS <= set(kinds), f"missing kinds: {REQUIRED_KINDS - set(kinds)}"


def test_size(gold):
    assert len(gold) >= 60
    assert sum(1 for row in gold if not row["answerable"]) >= 10


def test_answerable_consistent_with_kind(gold):
    for row in gold:
        assert row["answerable"] == (row["kind"] != "unanswerable"), row["id"]


def test_answerable_pairs_have_evidence(gold):
    for row in gold:
        if row["answerable"]:
            assert row["evidence"], f"{row['id']}: no evidence"
            assert row["doc_ids"], f"{row['id']}: no doc_ids"
        else:
            assert row["evidence"] == [] and row["doc_ids"] == [], row["id"]


def test_doc_ids_exist(gold, corpus):
    for row in gold:
        for doc_id in row["doc_ids"]:
            assert doc_id in corpus, f"{row['id']}: unknown doc_id {doc_id}"
        ev_docs = {ev["doc_id"] for ev in row["evidence"]}
        assert ev_docs <= set(row["doc_ids"]), f"{row['id']}: evidence doc not in doc_ids"


def test_evidence_occurs_in_document(gold, corpus):
    missing = []
    for row in gold:
        for ev in row["evidence"]:
            text = corpus.get(ev["doc_id"])
            if text is None or _norm(ev["text"]) not in text:
                missing.append((row["id"], ev["doc_id"], ev["text"]))
    assert not missing, "evidence not found:\n" + "\n".join(map(str, missing))


def test_followups_name_their_previous_question(gold):
    for row in gold:
        assert (row["kind"] == "followup") == ("previous" in row), row["id"]


def test_splits_share_no_question():
    dev, test = ({_norm(r["question"]).lower() for r in _load(p)} for p in (GOLD_FILES["dev"], GOLD_FILES["test"]))
    assert not dev & test
    ids = [r["id"] for p in GOLD_FILES.values() for r in _load(p)]
    assert len(ids) == len(set(ids)), "an id is used in both splits"
