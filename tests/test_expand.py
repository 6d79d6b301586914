"""Query expansion from the index's own vocabulary (fraga.index.vocab, fraga.search.expand)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fraga.index.lexical import Analyzer, Bm25Index
from fraga.index.vocab import Vocabulary, build_vocabulary, count_words, load_vocabulary, select_words, write_vocabulary
from fraga.search.expand import Expansion, ExpansionSettings, QueryExpander
from fraga.testing import FakeEncoder

TEXTS = ["Alla incidenter rapporteras i systemet.", "Chefen gör en polisanmälan.", "Polisen får polisanmälan av chefen"]


@pytest.fixture(scope="module")
def analyzer() -> Analyzer:
    return Analyzer()


class CountingEncoder(FakeEncoder):
    """The fake encoder, counting the texts it encodes."""

    def __init__(self) -> None:
        self.encoded: list[str] = []

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        self.encoded.extend(texts)
        return super().encode_passages(texts)


def test_the_vocabulary_holds_each_stem_once_with_its_passage_frequency(analyzer):
    forms, df = count_words(TEXTS, analyzer)
    # "alla", "en", "i", "av" are stop words, "gör" and "får" too short
    assert df == {"incident": 1, "rapporter": 1, "system": 1, "chef": 2, "polisanmäl": 2, "polis": 1}
    assert forms["chef"] == {"chefen": 2}
    assert select_words(forms, df) == [
        ("chefen", "chef", 2),
        ("incidenter", "incident", 1),
        ("polisen", "polis", 1),
        ("polisanmälan", "polisanmäl", 2),
        ("rapporteras", "rapporter", 1),
        ("systemet", "system", 1),
    ]
    # the cap keeps the stems in the most passages, ties by stem
    assert [w for w, _, _ in select_words(forms, df, max_words=3)] == ["chefen", "incidenter", "polisanmälan"]


def test_nearest_compares_vectors_centred_on_the_vocabulary_mean():
    square = np.array([[1, 0], [0, 1], [-1, 0], [0, -1]], dtype=np.float32)  # mean 0: centring changes nothing
    vocab = Vocabulary(("a", "b", "c", "d"), ("a", "b", "c", "d"), np.ones(4, dtype=np.int64), square)
    rows, sims = vocab.nearest(np.array([[0.8, 0.6]]), 2)
    assert rows.tolist() == [[0, 1]] and sims[0].tolist() == pytest.approx([0.8, 0.6])
    # mean (0.5, 0.5): the two centred vectors point in opposite directions
    pair = Vocabulary(("a", "b"), ("a", "b"), np.ones(2, dtype=np.int64), np.eye(2, dtype=np.float32))
    rows, sims = pair.nearest(np.array([[1.0, 0.0]]), 2)
    assert rows.tolist() == [[0, 1]] and sims[0].tolist() == pytest.approx([1.0, -1.0])
    assert pair.nearest(np.zeros((0, 2)), 2)[0].shape == (0, 0)


def test_a_rebuild_encodes_only_new_words_and_the_files_round_trip(tmp_path, analyzer):
    enc = CountingEncoder()
    first, encoded = build_vocabulary(TEXTS[:2], analyzer, enc)
    assert encoded == 5 and sorted(enc.encoded) == ["chefen", "incidenter", "polisanmälan", "rapporteras", "systemet"]
    write_vocabulary(tmp_path, first)
    loaded = load_vocabulary(tmp_path)
    assert loaded is not None and loaded.words == first.words and loaded.encoder == "fake"
    assert loaded.df.tolist() == [1, 1, 1, 1, 1]
    np.testing.assert_array_equal(loaded.raw, first.raw)
    enc.encoded.clear()
    second, encoded = build_vocabulary(TEXTS, analyzer, enc, previous=loaded)
    assert encoded == 1 and enc.encoded == ["polisen"]  # the one new word
    np.testing.assert_array_equal(second.raw[second.words.index("chefen")], first.raw[first.words.index("chefen")])
    assert load_vocabulary(tmp_path / "none") is None


def test_a_broken_vocabulary_is_reported(tmp_path, analyzer):
    from fraga.errors import IndexCorruptError

    vocab, _ = build_vocabulary(TEXTS, analyzer, FakeEncoder())
    write_vocabulary(tmp_path, vocab)
    np.save(tmp_path / "vocab" / "vectors.npy", np.zeros((2, 64), dtype=np.float16))
    with pytest.raises(IndexCorruptError):
        load_vocabulary(tmp_path)


def test_add_weighted_adds_a_tokens_bm25_scores_times_its_weight(analyzer):
    index = Bm25Index.build(TEXTS, analyzer)
    scores = np.ones(3, dtype=np.float32)
    index.add_weighted(scores, {"chef": 0.5, "~okant": 2.0})  # a token the index lacks adds nothing
    # "chefen" scores its stem "chef" and its folded token "~chef", which score alike: half of it is "chef"
    np.testing.assert_allclose(scores, 1.0 + 0.25 * index.scores("chefen"), rtol=1e-6)
    assert scores[0] == 1.0 and scores[1] > 1.0 and scores[2] > 1.0


@pytest.fixture
def expander(analyzer) -> QueryExpander:
    enc = FakeEncoder()
    vocab, _ = build_vocabulary(TEXTS, analyzer, enc)
    index = Bm25Index.build(TEXTS, analyzer)
    return QueryExpander(vocab, index, enc.encode_passages, ExpansionSettings(True, threshold=0.5, top=2, weight=0.8, max_df=0))


def test_a_word_the_index_lacks_is_expanded_with_its_nearest_vocabulary_word(expander, analyzer):
    # The fake encoder hashes a word's first four letters: "incidentrapport" and "incidenter"
    # get one vector (cosine 1); the other words' centred vectors point elsewhere (cosine < 0).
    assert expander.expandable("Vem skriver incidentrapport till chefen?") == ["skriver", "incidentrapport"]
    found = expander.expansions("incidentrapport chefen")
    assert [(e.word, e.neighbour, e.stem) for e in found] == [("incidentrapport", "incidenter", "incident")]
    assert found[0].similarity == pytest.approx(1.0, abs=1e-3)
    weights = expander.bm25_weights(found)
    assert set(weights) == {"incident", "~incident"} and weights["incident"] == pytest.approx(0.8, abs=1e-3)
    # a word the index has in one passage is expanded only when max_df allows it ("chefen": two)
    wide = QueryExpander(expander.vocab, expander.bm25, expander.encode, ExpansionSettings(True, max_df=1))
    assert wide.expandable("incidentrapport chefen incidenter") == ["incidentrapport", "incidenter"]


def test_the_neighbour_list_leaves_out_the_words_own_stem_and_weak_neighbours(expander):
    vec = expander.encode(["systemet"])
    found = expander.neighbours(["systemet"], vec)["systemet"]
    assert found == ()  # itself (cosine 1) is left out, the rest are below 0.5
    assert ExpansionSettings().enabled is True  # on by default (FRAGA_EXPAND=0 turns it off)
    off = QueryExpander(expander.vocab, expander.bm25, expander.encode, ExpansionSettings(False))
    assert off.expansions("incidentrapport") == ()


def test_a_neighbour_found_in_a_sentence_counts_for_answering(analyzer):
    from fraga.answer.overlap import NEIGHBOUR, Term, TermMatcher

    index = Bm25Index.build(TEXTS, analyzer)
    expansion = Expansion("tillbud", "incidenter", "incident", 0.9)
    matcher = TermMatcher(index, expand=lambda q: (expansion,))
    terms = matcher.terms("Tillbud")
    assert terms == [Term("tillbud", "tillbud", frozenset(), terms[0].idf, frozenset({"incident"}))]
    text = "Alla incidenter ska rapporteras."
    plain = matcher.overlap(terms, text)
    assert plain.coverage == 0.0 and plain.missing_idf == 1.0
    expanded = matcher.overlap(terms, text, expanded=True)
    assert expanded.coverage == pytest.approx(NEIGHBOUR) and expanded.missing_idf == 0.0
    assert math.isclose(terms[0].idf, math.log(1 + 3.5 / 0.5))  # unseen: df 0 of 3 passages


def test_a_large_index_is_read_at_an_even_stride(monkeypatch, analyzer):
    from fraga.index import vocab as vocab_mod

    monkeypatch.setattr(vocab_mod, "SAMPLE", 2)
    sampled, _ = build_vocabulary(TEXTS, analyzer, FakeEncoder())  # three texts, every second read: 1st and 3rd
    assert sampled.words == ("chefen", "incidenter", "polisen", "polisanmälan", "rapporteras", "systemet")
    assert sampled.df.tolist() == [1, 1, 1, 1, 1, 1]


def test_the_retriever_scores_the_neighbours_of_an_unknown_word(fake_index_dir):
    from fraga.index.generation import load_index
    from fraga.search.retrieve import Retriever
    from fraga.text import words

    index = load_index(fake_index_dir)
    assert index.vocabulary is not None and len(index.vocabulary) > 300
    plain = Retriever(index, expansion=ExpansionSettings(False))
    assert not plain.bm25_scores("tystxyz").any() and plain.expansions("tystxyz") == ()
    retriever = Retriever(index, expansion=ExpansionSettings(True, threshold=0.5, top=2, weight=1.0, max_df=0))
    found = retriever.expansions("tystxyz")
    # the fake encoder hashes a word's first four letters into one of 64 dimensions: the neighbours
    # are words of the same dimension ("tystnadskultur", and whatever shares its hash)
    fake = FakeEncoder()
    assert len(found) == 2 and all(e.similarity > 0.99 for e in found)
    assert all(float(fake.encode_query(e.neighbour) @ fake.encode_query("tystxyz")) > 0.99 for e in found)
    scores = retriever.bm25_scores("tystxyz")
    rows = set(np.flatnonzero(scores).tolist())
    stems = {e.stem for e in found}
    holding = {n for n, c in enumerate(index.chunks) if any(index.bm25.analyzer.exact_key(w) in stems for w in words(c.text))}
    # BM25 reads each passage with its context line (title, section), so a few more passages score
    assert holding and holding <= rows
    hits = retriever.search("tystxyz", mode="bm25").hits
    assert hits and {index.row_of[h.chunk.chunk_id] for h in hits} <= rows


def test_adding_a_document_keeps_the_vocabulary_of_the_last_build(tmp_path, fake_index_dir, fake_encoder):
    import shutil
    from dataclasses import replace

    from fraga.index.append import add_document
    from fraga.index.generation import load_index

    shutil.copytree(fake_index_dir, tmp_path / "idx")
    index = load_index(tmp_path / "idx")
    words_before = index.vocabulary.words  # type: ignore[union-attr]
    old = index.folder
    inode = (old / "vocab" / "vectors.npy").stat().st_ino
    base = next(iter(index.documents.values()))
    text = "Tillbudsrapporten skrivs av chefen.\n\n" + base.text
    add_document(index, replace(base, doc_id="ny", path="ny.txt", text=text, original_text=text), encoder=fake_encoder)
    for current in (index, load_index(tmp_path / "idx")):  # in place, and as written
        assert current.folder != old and current.vocabulary is not None
        assert current.vocabulary.words == words_before  # the new word waits for the next full build
        assert (current.folder / "vocab" / "vectors.npy").stat().st_ino == inode  # hard-linked


@pytest.mark.parametrize(("value", "enabled"), [("1", True), ("on", True), ("0", False), ("off", False), ("", True)])
def test_fraga_expand_switches_the_default_on_or_off(monkeypatch, value, enabled):
    from fraga.search.expand import DEFAULT_SETTINGS, default_settings

    monkeypatch.setenv("FRAGA_EXPAND", value)
    settings = default_settings()
    assert settings.enabled is enabled
    assert (settings.threshold, settings.top, settings.weight, settings.max_df) == (
        DEFAULT_SETTINGS.threshold,
        DEFAULT_SETTINGS.top,
        DEFAULT_SETTINGS.weight,
        DEFAULT_SETTINGS.max_df,
    )


def test_clearing_the_retrievers_cache_forgets_the_neighbours(fake_index_dir):
    from fraga.index.generation import load_index
    from fraga.search.retrieve import Retriever

    calls: list[list[str]] = []
    retriever = Retriever(load_index(fake_index_dir), expansion=ExpansionSettings(True, max_df=0))
    expander = retriever.expander
    assert expander is not None
    encode = expander.encode
    expander.encode = lambda ws: calls.append(ws) or encode(ws)
    retriever.expansions("tystxyz okändord")
    retriever.expansions("tystxyz")  # cached
    retriever.clear_cache()
    retriever.expansions("tystxyz")
    assert calls == [["tystxyz", "okändord"], ["tystxyz"]]
