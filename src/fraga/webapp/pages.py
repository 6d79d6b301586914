"""Safe HTML for the Sök, Jämför, Källa and Om indexet pages (all text escaped, see render.py)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from fraga.ingest.scanned import OCR_ENCODING
from fraga.records import Document, Hit
from fraga.search.retrieve import Filters, SearchResult
from fraga.text import WORD_RE
from fraga.webapp.render import (
    DATE_SOURCES,
    Match,
    doc_heading,
    esc,
    hit_card,
    is_question_doc,
    mark_words,
    meta_line,
    question_badge,
    shown_passage,
    source_link,
)
from fraga.webapp.service import IndexStatus, SourceView

SNIPPET_CHARS = 220
MODE_NAMES = {"hybrid": "hybrid", "bm25": "BM25 (ordmatchning)", "dense": "semantisk (dense)"}


def _snippet(text: str, is_match: Match) -> str:
    """About SNIPPET_CHARS characters of ``text`` around its first matching word."""
    flat = " ".join(text.split())
    first = next((m.start() for m in WORD_RE.finditer(flat) if is_match(m.group())), 0)
    start = max(0, first - 60)
    if start:
        space = flat.find(" ", start)
        start = space + 1 if 0 <= space < first else start
    end = min(len(flat), start + SNIPPET_CHARS)
    if end < len(flat):
        space = flat.rfind(" ", start, end)
        end = space if space > start else end
    return ("… " if start else "") + mark_words(flat[start:end], is_match) + (" …" if end < len(flat) else "")


def _filter_note(result: SearchResult, asked: Filters, undated: int = 0) -> str:
    notes = []
    if result.districts_in_query and not asked.districts:
        notes.append(f"Frågan nämner {', '.join(result.districts_in_query)}; sökningen är begränsad dit.")
    if result.missing_districts:
        notes.append(f"Indexet har inga dokument från {', '.join(result.missing_districts)}.")
    if asked.date_from or asked.date_to:
        if undated:
            notes.append(
                f"Dokument utan datum visas inte när ett datumfilter är valt: {undated} av "
                f"indexets dokument saknar datum och är utelämnade."
            )
        else:
            notes.append("Alla dokument har ett datum, så datumfiltret utesluter inget odaterat dokument.")
    return "".join(f'<div class="fraga-note">{esc(n)}</div>' for n in notes)


def search_results(result: SearchResult, documents: Mapping[str, Document], is_match: Match, asked: Filters) -> str:
    """Ranked passages grouped by document; each document and passage can be opened and closed."""
    undated = sum(1 for d in documents.values() if not d.metadata.date)
    if not result.hits:
        return (
            _filter_note(result, asked, undated)
            + '<div class="fraga-notice fraga-notice-info">Inga avsnitt matchar sökningen och filtren. '
            "Pröva andra ord eller färre filter.</div>"
        )
    groups: dict[str, list[Hit]] = {}
    for hit in result.hits:
        groups.setdefault(hit.chunk.doc_id, []).append(hit)
    mode = MODE_NAMES.get(result.mode, result.mode)
    parts = [
        f'<div class="fraga-summary">{len(result.hits)} avsnitt i {len(groups)} dokument · sökmetod: {esc(mode)}</div>',
        _filter_note(result, asked, undated),
    ]
    for doc_id, hits in groups.items():
        doc = documents.get(doc_id)
        count = f"{len(hits)} avsnitt" + (f", bästa på plats {hits[0].rank}" if hits[0].rank > 1 else "")
        parts.append(
            f'<details class="fraga-doc" open><summary><span>{doc_heading(doc)}</span>'
            f'<span class="fraga-count">{esc(count)}</span></summary>{meta_line(doc)}<ol class="fraga-hits">'
        )
        badge = question_badge() if is_question_doc(doc) else ""
        for hit in hits:
            chunk = hit.chunk
            page = f" · s. {chunk.page}" if chunk.page else ""
            parts.append(
                f'<li><details class="fraga-hit"><summary><span class="fraga-rank">{hit.rank}</span>'
                f'<span class="fraga-hit-sum"><span class="fraga-section">{badge}{esc(chunk.section)}{page}</span>'
                f'<span class="fraga-snippet">{_snippet(chunk.text, is_match)}</span></span></summary>'
                f'<div class="fraga-passage">{mark_words(shown_passage(chunk.text), is_match)}</div>'
                f'<div class="fraga-card-foot">'
                f"{source_link(chunk.doc_id, 'Visa i dokumentet', chunk_id=chunk.chunk_id)}</div></details></li>"
            )
        parts.append("</ol></details>")
    return "".join(parts)


def comparison(rows: Sequence[tuple[str, Hit | None]], documents: Mapping[str, Document], is_match: Match) -> str:
    """The best passage of each district, side by side."""
    if not rows:
        return '<div class="fraga-notice fraga-notice-info">Indexet har inga stadsdelar att jämföra.</div>'
    cells = []
    for district, hit in rows:
        if hit is None:
            cells.append(
                f'<div class="fraga-col"><h2>{esc(district)}</h2>'
                '<p class="fraga-weak">Inga avsnitt från den här stadsdelen matchar '
                "(bland de valda dokumenttyperna).</p></div>"
            )
            continue
        weak = not any(is_match(m.group()) for m in WORD_RE.finditer(hit.chunk.text))
        warn = (
            (
                '<p class="fraga-weak">Svag träff: inga ord ur frågan finns i avsnittet, '
                "så det är bara det som ligger närmast i betydelse.</p>"
            )
            if weak
            else ""
        )
        cells.append(f'<div class="fraga-col"><h2>{esc(district)}</h2>{warn}{hit_card(hit, documents, is_match)}</div>')
    return '<div class="fraga-compare">' + "".join(cells) + "</div>"


def _segments(text: str, view: SourceView) -> str:
    """The document text escaped, with page markers, the passage and the quote marked."""
    events: list[tuple[int, int, str]] = []  # (offset, order, html); closing tags sort before opening
    if view.passage:
        events += [(view.passage[0], 2, '<span class="fraga-cited-passage">'), (view.passage[1], 0, "</span>")]
    if view.quote:
        events += [(view.quote[0], 3, '<mark class="fraga-cited" id="fraga-cited">'), (view.quote[1], 0, "</mark>")]
    for page in view.doc.pages:
        if 0 < page.start < len(text):
            events.append((page.start, 1, f'<span class="fraga-page">Sida {page.number}</span>'))
    events.sort(key=lambda e: (e[0], e[1]))
    out, pos = [], 0
    for offset, _, tag in events:
        out.append(esc(text[pos:offset]))
        out.append(tag)
        pos = offset
    out.append(esc(text[pos:]))
    return "".join(out)


DERIVED_NOTE = " (från filens egenskaper, står inte i texten)"


def _date_label(meta) -> str:
    if not meta.date:
        return "saknas"
    derived = DATE_SOURCES.get(meta.date_source, "")
    return f"{meta.date} ({derived}, brevhuvudet saknar datum)" if derived else meta.date


def _short_date(meta) -> str:
    derived = DATE_SOURCES.get(meta.date_source, "")
    return f"{meta.date} ({derived})" if meta.date and derived else (meta.date or "–")


def source_page(view: SourceView) -> str:
    """The whole document with its metadata; the cited place is marked and scrolled to."""
    doc, meta = view.doc, view.doc.metadata
    rows = [
        ("Stadsdel", meta.district or "okänd"),
        ("Dokumenttyp", meta.doc_type or "okänd"),
        ("Datum", meta.date + DERIVED_NOTE if "date" in meta.derived else _date_label(meta)),
        ("Diarienummer", meta.dnr or "saknas"),
    ]
    if "title" in meta.derived:
        rows.append(("Titel", meta.title + DERIVED_NOTE))
    if meta.handlaggare:
        rows.append(("Handläggare", meta.handlaggare))
    if meta.signers:
        rows.append(("Undertecknat av", ", ".join(meta.signers)))
    if meta.parties:
        rows.append(("Partier", ", ".join(meta.parties)))
    rows.append(("Fil", doc.path))
    if doc.pages:
        rows.append(("Sidor", str(len(doc.pages))))
    if doc.encoding == OCR_ENCODING:
        rows.append(("Skannad", "sidor utan textlager är lästa med OCR (Tesseract)"))
    if meta.ocr_repaired:
        rows.append(("OCR", f"texten är rättad från en skannad fil ({meta.ocr_changes} ändringar)"))
    dl = "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in rows)
    if view.quote:
        hint = "Det citerade stället är markerat med gult; avsnittet runt det har en ram i marginalen."
    elif view.passage:
        hint = "Avsnittet är markerat med en ram i marginalen."
    else:
        hint = "Hela dokumentet visas nedan."
    return (
        f'<div class="fraga-source"><h2>{esc(meta.title or doc.doc_id)}</h2>'
        f'<dl class="fraga-docmeta">{dl}</dl><div class="fraga-note">{esc(hint)}</div>'
        f'<div class="fraga-doctext" tabindex="0" role="region" aria-label="Dokumentets text">'
        f"{_segments(doc.text, view)}</div></div>"
    )


def source_placeholder() -> str:
    return (
        '<div class="fraga-welcome"><p>Här visas hela källdokumentet.</p><p>Klicka på en källa '
        "([1], [2] …) eller <b>Visa i dokumentet</b> under Fråga, Sök eller Jämför stadsdelar, "
        "eller välj ett dokument i listan ovan.</p></div>"
    )


def _dense_line(status: IndexStatus) -> str:
    k, n = status.passages_with_vectors, status.passages
    if k < 0 or k >= n:
        return "alla avsnitt (komplett)"
    return (
        f"{k} av {n} avsnitt ({100.0 * k / n:.0f} %): indexet byggs fortfarande, och avsnitt utan vektor "
        "söks med BM25 tills de har fått sin vektor"
    )


def _h2(text: str) -> str:
    return f'<h2 class="fraga-h">{esc(text)}</h2>'


def status_page(status: IndexStatus) -> str:
    """Which documents are indexed, and which files could not be read and why."""
    span = f"{status.first_date} – {status.last_date}" if status.first_date else "inga daterade dokument"
    undated = f" ({status.undated} dokument saknar datum)" if status.undated else ""
    districts = ", ".join(f"{d} ({n})" for d, n in status.districts) or "inga"
    head = (
        f'<div class="fraga-stats"><div><b>{len(status.documents)}</b> dokument</div>'
        f"<div><b>{status.passages}</b> avsnitt</div><div><b>{len(status.districts)}</b> stadsdelar</div></div>"
        f'<dl class="fraga-docmeta"><dt>Stadsdelar</dt><dd>{esc(districts)}</dd>'
        f"<dt>Datum</dt><dd>{esc(span + undated)}</dd>"
        f"<dt>Byggt</dt><dd>{esc(status.created.replace('T', ' ')[:16] or 'okänt')}</dd>"
        f"<dt>Språkmodell</dt><dd>{esc(status.encoder or 'okänd')}</dd>"
        f"<dt>Täta vektorer</dt><dd>{esc(_dense_line(status))}</dd>"
        f"<dt>Indexmapp</dt><dd>{esc(status.folder)}</dd></dl>"
    )
    rows = "".join(
        f"<tr><td>{esc(d.metadata.district or 'okänd')}</td>"
        f"<td>{source_link(d.doc_id, d.metadata.title or d.doc_id)}</td>"
        f"<td>{esc(d.metadata.doc_type or '–')}</td><td>{esc(_short_date(d.metadata))}</td>"
        f"<td>{esc(d.metadata.dnr or '–')}</td><td>{esc(d.path)}</td></tr>"
        for d in status.documents
    )
    table = (
        f'{_h2("Indexerade dokument")}<table class="fraga-table"><thead><tr><th>Stadsdel</th><th>Titel</th>'
        f"<th>Typ</th><th>Datum</th><th>Dnr</th><th>Fil</th></tr></thead><tbody>{rows}</tbody></table>"
    )
    if status.skipped:
        items = "".join(f"<li><code>{esc(p)}</code>: {esc(r)}</li>" for p, r in status.skipped)
        skipped = f'{_h2(f"Filer som inte kunde läsas ({len(status.skipped)})")}<ul class="fraga-skipped">{items}</ul>'
    else:
        skipped = _h2("Filer som inte kunde läsas") + "<p>Inga: alla filer i korpusen kunde läsas.</p>"
    dups = ""
    if status.duplicates:
        items = "".join(f"<li><code>{esc(b)}</code> har samma text som <code>{esc(a)}</code></li>" for a, b in status.duplicates)
        dups = f"{_h2('Dubbletter (indexerade en gång)')}<ul>{items}</ul>"
    return f'<div class="fraga-status">{head}{table}{skipped}{dups}</div>'
