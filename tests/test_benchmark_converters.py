"""The converters of the outside benchmarks (eval/interpellations.py)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _module(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "eval" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _write(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def test_interpellations_become_documents_and_document_level_gold(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    doc = {
        "title": "skolan",
        "text": "Bakgrund om skolan.",
        "has_separate_questions": True,
        "sent": ["2001-01-01"],
        "heading": "2000/01:1 av A (s) till B",
        "author": "A (s)",
    }
    _write(
        data / "documents.jsonl",
        [
            {**doc, "id": "ipq-1"},
            {**doc, "id": "ipq-2"},  # the same text as ipq-1
            {**doc, "id": "ipq-3", "text": "Om vården."},
            {**doc, "id": "ipq-4", "text": "Utan egna frågor.", "has_separate_questions": False},
        ],
    )
    _write(
        data / "dev.jsonl",
        [
            {"id": "q-1", "question": "Vad gör ministern åt skolan?", "doc_id": "ipq-1"},
            {"id": "q-2", "question": "Och åt skolan igen?", "doc_id": "ipq-2"},
            {"id": "q-3", "question": "Hur blir vården bättre?", "doc_id": "ipq-3"},
            {"id": "q-4", "question": "Frågan i texten?", "doc_id": "ipq-4"},
        ],
    )
    corpus, gold, n_docs, n_questions = _module("interpellations").convert(data, tmp_path / "out")
    assert (n_docs, n_questions) == (2, 3)
    assert sorted(p.name for p in corpus.glob("*.txt")) == ["ipq-1.txt", "ipq-3.txt"]
    rows = [json.loads(line) for line in gold.read_text(encoding="utf-8").splitlines()]
    assert {r["id"]: r["doc_ids"] for r in rows} == {"q-1": ["ipq-1"], "q-2": ["ipq-1"], "q-3": ["ipq-3"]}
    assert all(r["level"] == "document" and r["answerable"] for r in rows)
    meta = json.loads((corpus / "ipq-3.meta.json").read_text(encoding="utf-8"))
    assert meta["date"] == "2001-01-01" and meta["doc_type"] == "interpellation"
