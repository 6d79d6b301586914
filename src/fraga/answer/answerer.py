"""Extractive answers: quote the best sentences of the retrieved passages, with citations."""
from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass, replace

from fraga.districts import CROSS_DISTRICT_RE, SETTING_WORDS
from fraga.answer.facts import FactQuestion, fact_answer_text, fact_question, locate
from fraga.records import Answer, Citation, Hit
from fraga.search.retrieve import Filters, Retriever, SearchResult
from fraga.text import fold, normalize_space, split_sentences, words

logger = logging.getLogger(__name__)

# Evidence thresholds, set on the gold set (eval/gold.jsonl): below both, fraga abstains.
MIN_COVERAGE = 0.3  # share of the question's weighted content terms found in the sentence
MAX_SENTENCES = 2
SECOND_MIN_COVERAGE = 0.3  # a second quoted sentence needs this coverage ...
SECOND_MIN_SHARE = 0.7  # ... and this share of the best sentence's score

NO_ANSWER = "Dokumenten innehåller inget tydligt svar på frågan. De närmaste avsnitten visas nedan."
_ANSWER_SECTIONS = ("Förvaltningens synpunkter", "Sammanfattning")
# Letterhead, signatures and attachment lists hold metadata (answered by fraga.answer.facts), not answers.
_NON_ANSWER_SECTIONS = ("Dokumentuppgifter", "Attesterat av", "Bilagor", "Bilaga")

# Expected answer types: a question word and what a sentence answering it contains.
_ROLE = (r"\b(av|till)\s+(\w+\s+)?(chef\w*|medarbetare\w*|arbetsgivare\w*|förvaltning\w*|forvaltning\w*|"
         r"nämnd\w*|namnd\w*|polis\w*|handläggare|samordnare|skyddsombud\w*|socialsekreterare\w*)\b")
_ANSWER_TYPES = (
    (re.compile(r"^\s*(vem|vilka personer|vilken person|who)\b", re.I), re.compile(_ROLE, re.I)),
    (re.compile(r"\b(hur många|hur manga|antal|how many)\b", re.I),
     re.compile(r"\b(\d+|en|ett|två|tva|tre|fyra|fem|sex|sju|åtta|nio|tio)\b", re.I)),
    (re.compile(r"^\s*(när|nar|vilket datum|when)\b", re.I),
     re.compile(r"\b(\d{4}|januari|februari|mars|april|maj|juni|juli|augusti|september|oktober|november|december)\b", re.I)),
    (re.compile(r"^\s*(har|finns|är|ar|do|does|is|has)\b", re.I), re.compile(r"^(ja|nej)\b", re.I)),
)
ANSWER_TYPE_BONUS = 0.15
# Questions whose answer must hold a quantity: a sentence without one cannot answer them.
_QUANTITY_Q = re.compile(r"\b(hur många|hur manga|hur mycket|antal|how many|how much)\b", re.I)
_QUANTITY_A = re.compile(r"\b(\d+|en|ett|två|tva|tre|fyra|fem|sex|sju|åtta|nio|tio|några|nagra|få|fa|många|manga|"
                         r"flera|inga|ingen|alla|samtliga|hälften|procent|kronor|miljoner)\b", re.I)
_YEAR = re.compile(r"\b(19|20)\d\d\b")
# A question about what the administration does or answered, not about what a skrivelse asks.
_ABOUT_SKRIVELSE = re.compile(r"skrivelse|motion|\bfråga[rd]?\b|\bfrågorna\b|\bställ|\bparti|liberalerna|"
                              r"moderaterna|centerpartiet|sverigedemokraterna|kristdemokraterna|"
                              r"socialdemokraterna|vänsterpartiet|miljöpartiet|undersökning|ssr|enligt", re.I)


# Questions in English: the lexical evidence test cannot work, so the sentence is chosen by
# the encoder (multilingual) among the best passages' sentences.
_ENGLISH = {"the", "is", "are", "does", "do", "what", "who", "which", "how", "of", "to", "a", "an", "have",
            "has", "when", "where", "why", "according", "there", "their", "for", "with", "many", "much"}
MIN_DENSE_ENGLISH = 0.82  # cosine of the best passage (multilingual-e5-small), set on eval/gold.jsonl


def is_english(question: str) -> bool:
    tokens = [w.lower() for w in words(question)]
    return len(tokens) >= 3 and sum(t in _ENGLISH for t in tokens) >= 0.25 * len(tokens)


@dataclass(frozen=True, slots=True)
class Scored:
    hit: Hit
    start: int  # offsets in the document text
    end: int
    text: str
    coverage: float
    score: float


class Answerer:
    """Builds extractive answers on top of a Retriever."""

    def __init__(self, retriever: Retriever) -> None:
        self.retriever = retriever
        self.analyzer = retriever.index.bm25.analyzer
        self._df_cache: dict[str, float] = {}

    # Term weights ------------------------------------------------------------
    def _idf(self, term: str) -> float:
        cached = self._df_cache.get(term)
        if cached is None:
            bm25 = self.retriever.index.bm25._bm25
            tid = bm25.vocab_dict.get(term)
            n = self.retriever.index.bm25.num_docs
            df = 0
            if tid is not None:
                indptr = bm25.scores["indptr"]
                df = int(indptr[tid + 1] - indptr[tid])
            cached = math.log(1 + (n - df + 0.5) / (df + 0.5))
            self._df_cache[term] = cached
        return cached

    def _terms(self, text: str, ignore: set[str]) -> dict[str, tuple[float, str, frozenset[str]]]:
        """Folded stems of the content words of ``text``: IDF weight, exact stem, compound parts."""
        out: dict[str, tuple[float, str, frozenset[str]]] = {}
        for word in self.analyzer.content_words(text):
            low = word.lower()
            if low in SETTING_WORDS or fold(low) in ignore:
                continue
            key, parts = self.analyzer.keys(word)
            if key and key not in out:
                out[key] = (self._idf("~" + key), self.analyzer.exact_key(word), parts)
        return out

    def _coverage(self, q_terms: dict[str, tuple[float, str, frozenset[str]]], sentence: str) -> float:
        """Weighted share of the question's terms found in ``sentence``.

        The same stem counts 1.0; the same letters but for diacritics 0.7 ("nämns" is not
        "namn", but an OCR'd "polisanmalas" is "polisanmälas"); a compound part 0.6.
        """
        if not q_terms:
            return 0.0
        exact: set[str] = set()
        keys: set[str] = set()
        parts: set[str] = set()
        for word in words(sentence):
            key, word_parts = self.analyzer.keys(word)
            if key:
                keys.add(key)
                exact.add(self.analyzer.exact_key(word))
                parts |= word_parts
        got = 0.0
        for key, (weight, q_exact, q_parts) in q_terms.items():
            if q_exact in exact:
                got += weight
            elif key in keys:
                got += 0.7 * weight
            elif key in parts or q_parts & (keys | parts) or (
                    len(key) >= 7 and any(_shares_part(key, k) for k in keys)):
                got += 0.6 * weight  # "samordnare" ~ "säkerhetssamordnare"
        return got / sum(w for w, _, _ in q_terms.values())

    # Sentences ---------------------------------------------------------------
    def _sentences(self, question: str, result: SearchResult, ignore: set[str]) -> list[Scored]:
        q_terms = self._terms(question, ignore)
        expected = [want for asks, want in _ANSWER_TYPES if asks.search(question)]
        docs = self.retriever.index.documents
        about_skrivelse = bool(_ABOUT_SKRIVELSE.search(question))
        scored = []
        for hit in result.hits:
            chunk = hit.chunk
            doc_text = docs[chunk.doc_id].text
            body = doc_text[chunk.start:chunk.end]
            for s, e in split_sentences(body):
                sentence = normalize_space(body[s:e])
                asked = sentence.endswith("?")
                if len(sentence) < 12 or (asked and not (
                        about_skrivelse and docs[chunk.doc_id].metadata.doc_type == "skrivelse")):
                    continue  # a question echoed back is not an answer (unless the question is what it asks)
                coverage = self._coverage(q_terms, sentence + " " + chunk.section.split(" › ")[-1])
                own = self._coverage(q_terms, sentence)
                prior = 1.0 / (hit.rank + 1)
                section_bonus = (0.08 if chunk.section.startswith(_ANSWER_SECTIONS)
                                 else -0.2 if chunk.section.startswith(_NON_ANSWER_SECTIONS) else 0.0)
                typed = ANSWER_TYPE_BONUS if any(w.search(sentence) for w in expected) else 0.0
                score = 0.7 * own + 0.3 * coverage + 0.25 * prior + section_bonus + typed
                scored.append(Scored(hit, chunk.start + s, chunk.start + e, sentence, max(own, coverage), score))
        scored.sort(key=lambda x: -x.score)
        return scored

    def _admissible(self, question: str, scored: list[Scored]) -> list[Scored]:
        """Drop sentences that cannot answer ``question``: a quantity question needs a
        quantity, and a year the question names must occur in the sentence's document."""
        years = {m.group(0) for m in _YEAR.finditer(question)}
        need_quantity = bool(_QUANTITY_Q.search(question))
        docs = self.retriever.index.documents
        out = []
        for cand in scored:
            if need_quantity and not _QUANTITY_A.search(cand.text):
                continue
            if years and not all(y in docs[cand.hit.chunk.doc_id].text for y in years):
                continue
            out.append(cand)
        return out

    @staticmethod
    def _confident(best: Scored) -> bool:
        return best.coverage >= MIN_COVERAGE

    # Public ------------------------------------------------------------------
    def answer(self, question: str, *, k: int = 5, mode: str = "hybrid", filters: Filters | None = None) -> Answer:
        """An extractive answer to ``question`` with numbered citations, or an abstention."""
        result = self.retriever.search(question, k=max(k, 5), mode=mode, filters=filters)
        question = result.query  # cleaned: no control characters or lone surrogates
        if result.missing_districts and not result.districts_in_query:
            names = ", ".join(result.missing_districts)
            known = ", ".join(self.retriever.known_districts)
            text = f"Det finns inga dokument från {names} i indexet, så fraga kan inte svara. Indexet har dokument från: {known}."
            return Answer(question, False, text, (), (), note="missing_district")
        ignore = {fold(w) for name in self.retriever.known_districts + list(result.missing_districts)
                  for w in re.split(r"[\s\-]+", name)} | {fold(w) + "s" for name in self.retriever.known_districts
                                                          for w in re.split(r"[\s\-]+", name)}
        wanted = (filters.districts if filters and filters.districts else ()) or result.districts_in_query
        kind = fact_question(question)
        if kind is not None and result.hits and len(wanted) <= 1:
            return self._fact(question, kind, result, wanted, k=k)
        if CROSS_DISTRICT_RE.search(question) or len(wanted) >= 2:
            return self._per_district(question, result, wanted, k=k, mode=mode, filters=filters, ignore=ignore)
        return self._single(question, result, ignore, hits=result.hits[:k], wanted=wanted)

    def _by_encoder(self, question: str, scored: list[Scored], result: SearchResult) -> list[Scored]:
        """The best two passages' sentences ranked by the encoder's similarity to the question."""
        if max(result.dense_scores.values(), default=0.0) < MIN_DENSE_ENGLISH:
            return []
        top = {h.chunk.chunk_id for h in result.hits[:2]}
        cands = [c for c in scored if c.hit.chunk.chunk_id in top][:16]
        if not cands:
            return []
        encoder = self.retriever.index.encoder
        sims = encoder.encode_passages([c.text for c in cands]) @ self.retriever.query_vector(question)
        order = sorted(range(len(cands)), key=lambda i: -float(sims[i]))
        return [replace(cands[i], coverage=1.0) for i in order[:1]]

    def _only_skrivelser(self, districts: tuple[str, ...]) -> bool:
        docs = [d for d in self.retriever.index.documents.values() if d.metadata.district in districts]
        return bool(docs) and all(d.metadata.doc_type == "skrivelse" for d in docs)

    def _single(self, question: str, result: SearchResult, ignore: set[str], *, hits: tuple[Hit, ...],
                wanted: tuple[str, ...] = ()) -> Answer:
        if wanted and self._only_skrivelser(wanted) and not _ABOUT_SKRIVELSE.search(question):
            names = ", ".join(wanted)
            text = (f"Från {names} finns bara en skrivelse (frågor till förvaltningen), inget svar från "
                    "förvaltningen. Därför kan fraga inte svara; skrivelsen visas nedan.")
            return Answer(question, False, text, (), hits, note="only_skrivelse")
        scored = self._admissible(question, self._sentences(question, result, ignore))
        if scored and is_english(question) and not self._confident(scored[0]):
            scored = self._by_encoder(question, scored, result)
        elif not scored or not self._confident(scored[0]):
            return Answer(question, False, NO_ANSWER, (), hits, note="weak_evidence")
        if not scored:
            return Answer(question, False, NO_ANSWER, (), hits, note="weak_evidence")
        chosen = [scored[0]]
        for cand in scored[1:]:
            if len(chosen) >= MAX_SENTENCES:
                break
            same_doc = cand.hit.chunk.doc_id == chosen[0].hit.chunk.doc_id
            if (same_doc and cand.coverage >= SECOND_MIN_COVERAGE and cand.score >= SECOND_MIN_SHARE * chosen[0].score
                    and not _overlaps(cand, chosen)):
                chosen.append(cand)
        chosen.sort(key=lambda s: (s.hit.chunk.doc_id, s.start))
        citations, parts = [], []
        for sentence in chosen:
            citation = self._cite(len(citations) + 1, sentence)
            citations.append(citation)
            parts.append(f"{sentence.text} [{citation.n}]")
        return Answer(question, True, " ".join(parts), tuple(citations), hits)

    def _fact(self, question: str, kind: FactQuestion, result: SearchResult, wanted: tuple[str, ...], *,
              k: int) -> Answer:
        """Answer a metadata question from the document the question is about."""
        docs = self.retriever.index.documents
        ranked = list(dict.fromkeys(h.chunk.doc_id for h in result.hits))
        if wanted:
            in_district = [d for d, doc in docs.items() if doc.metadata.district in wanted]
            ranked = [d for d in ranked if d in in_district] + [d for d in in_district if d not in ranked]
        if re.search(r"skrivelse|motion", question, re.I) is None:
            # "diarienummer för Skarpnäcks svar" is about the reply, not the skrivelse
            ranked.sort(key=lambda d: docs[d].metadata.doc_type == "skrivelse")
        doc = docs[ranked[0]]
        hits = result.hits[:k]
        text = fact_answer_text(kind, doc)
        span = locate(doc, kind.field, list(getattr(doc.metadata, kind.field) if isinstance(
            getattr(doc.metadata, kind.field), tuple) else [getattr(doc.metadata, kind.field)])) if text else None
        if text is None or span is None:
            where = doc.metadata.district or doc.doc_id
            return Answer(question, False, f"{kind.missing} ({where}: {doc.metadata.title or doc.doc_id})",
                          (), hits, note="missing_field")
        start, end = span
        chunk = next((c for c in self.retriever.index.chunks.of_document(doc.doc_id)
                      if c.start <= start < c.end), None)
        meta = doc.metadata
        citation = Citation(n=1, chunk_id=chunk.chunk_id if chunk else "", doc_id=doc.doc_id,
                            district=meta.district, title=meta.title, dnr=meta.dnr, date=meta.date,
                            section=chunk.section if chunk else "", quote=normalize_space(doc.text[start:end]),
                            start=start, end=end)
        return Answer(question, True, f"{text} [1]", (citation,), hits, note="metadata")

    def _per_district(self, question: str, result: SearchResult, wanted: tuple[str, ...], *, k: int, mode: str,
                      filters: Filters | None, ignore: set[str]) -> Answer:
        districts = list(wanted) or list(self.retriever.known_districts)
        base = filters or Filters()
        lines, citations, hits = [], [], []
        for district in districts:
            sub = self.retriever.search(question, k=3, mode=mode, detect_districts=False,
                                        filters=Filters((district,), base.doc_types, base.date_from, base.date_to))
            hits.extend(sub.hits[:2])
            # A skrivelse asks; it does not say what a district does.
            about_skrivelse = bool(_ABOUT_SKRIVELSE.search(question))
            scored = [s for s in self._admissible(question, self._sentences(question, sub, ignore))
                      if about_skrivelse
                      or self.retriever.index.documents[s.hit.chunk.doc_id].metadata.doc_type != "skrivelse"]
            if not scored or not self._confident(scored[0]):
                continue
            citation = self._cite(len(citations) + 1, scored[0])
            citations.append(citation)
            lines.append(f"{district}: {scored[0].text} [{citation.n}]")
        if not lines:
            return Answer(question, False, NO_ANSWER, (), tuple(hits) or result.hits[:k], note="weak_evidence")
        return Answer(question, True, "\n".join(lines), tuple(citations), tuple(hits), note="per_district")

    def _cite(self, n: int, sentence: Scored) -> Citation:
        chunk = sentence.hit.chunk
        meta = self.retriever.index.documents[chunk.doc_id].metadata
        return Citation(n=n, chunk_id=chunk.chunk_id, doc_id=chunk.doc_id, district=meta.district,
                        title=meta.title, dnr=meta.dnr, date=meta.date, section=chunk.section,
                        quote=sentence.text, start=sentence.start, end=sentence.end)


def _shares_part(a: str, b: str, n: int = 7) -> bool:
    """Whether two stems share a compound part: a common prefix or suffix of ``n`` letters."""
    if len(b) < n:
        return False
    a, b = a.lstrip("~"), b.lstrip("~")
    return a[:n] == b[:n] or a[-n:] == b[-n:]


def _overlaps(cand: Scored, chosen: list[Scored]) -> bool:
    return any(cand.start < c.end and c.start < cand.end for c in chosen) or any(
        cand.text == c.text for c in chosen)


def format_citation(c: Citation) -> str:
    """One line per citation: "[1] Skarpnäck, Titel, Dnr SKA 2024/339, 2024-09-24, Avsnitt"."""
    parts = [c.district or "okänd stadsdel", c.title or c.doc_id]
    if c.dnr:
        parts.append(f"Dnr {c.dnr}")
    if c.date:
        parts.append(c.date)
    parts.append(c.section)
    return f"[{c.n}] " + ", ".join(parts)


def format_answer(answer: Answer) -> str:
    """The answer with its citations as plain text, ready to paste into a draft."""
    lines = [answer.text]
    if answer.citations:
        lines.append("")
        lines.append("Källor:")
        lines.extend(format_citation(c) for c in answer.citations)
    return "\n".join(lines)
