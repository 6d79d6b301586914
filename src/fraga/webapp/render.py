"""Safe HTML for the chat: every piece of document or user text goes through ``html.escape``.

Nothing here interprets text as HTML or Markdown: a ``<script>`` tag or a Markdown link in a
document or a question is shown as the characters it is. The only markup is the one these
functions add (``<mark>``, ``<strong>``, buttons carrying ``data-*`` attributes that the
page's click handler reads).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable, Mapping, Sequence

from fraga.ingest.furniture import signature_start
from fraga.records import Citation, Document, Hit
from fraga.text import WORD_RE

Match = Callable[[str], bool]

MAX_SHOWN_QUESTION = 400  # characters of a refused question echoed back
NEAREST_SHOWN = 3  # passages shown when fraga has no answer

_MARKER_RE = re.compile(r"\[(\d+)\]")
# A line break inside a paragraph (PDF wrapping), not before a bullet, dash or number.
_WRAP_RE = re.compile(r"([^\n])([ \t]*)\n(?=[ \t]*[^\s•·\-–\d])")
# A blank line after a word or comma and before a lower-case word or a number that is not a list
# item: a page or column break inside a sentence, not a new paragraph.
_SENTENCE_BREAK_RE = re.compile(r"([a-zåäöéü,])([ \t]*\n[ \t]*\n[ \t]*)(?=[a-zåäöéü]|\d+(?![.)\d]))")
SKRIVELSE = "skrivelse"
QUESTION_BADGE = "Fråga från skrivelse"
DATE_SOURCES = {"text": "datum ur texten", "filnamn": "datum ur filnamnet"}


def esc(text: object) -> str:
    """``text`` as HTML text (quotes escaped too, so it is safe in attributes)."""
    return html.escape(str(text), quote=True)


def _never(_: str) -> bool:
    return False


def reflow(text: str) -> str:
    """Join wrapped lines of a paragraph, and a blank line that cuts a sentence in two
    ("… sammanträde den\n\n13 juni 2024 inkom …"); keeps the length, so offsets stay valid."""
    text = _SENTENCE_BREAK_RE.sub(lambda m: m.group(1) + " " * len(m.group(2)), text)
    return _WRAP_RE.sub(lambda m: m.group(1) + m.group(2) + " ", text)


def passage_end(text: str, keep: int = 0) -> int:
    """Where a passage shown to users ends: before a closing signature block, never before ``keep``."""
    cut = signature_start(text)
    return len(text) if cut is None or cut < keep else len(text[:cut].rstrip())


def shown_passage(text: str) -> str:
    """A passage as a card shows it: without the signature block, wrapped lines joined."""
    return reflow(text[: passage_end(text)])


def is_question_doc(doc: Document | None) -> bool:
    """A politicians' skrivelse: its passages are questions, not the administration's answers."""
    return bool(doc and doc.metadata.doc_type == SKRIVELSE)


def mark_words(text: str, is_match: Match | None = None) -> str:
    """Escaped ``text`` with the words that ``is_match`` accepts wrapped in ``<mark>``."""
    is_match = is_match or _never
    out, pos = [], 0
    for m in WORD_RE.finditer(text):
        if is_match(m.group()):
            out.append(esc(text[pos : m.start()]))
            out.append(f"<mark>{esc(m.group())}</mark>")
            pos = m.end()
    out.append(esc(text[pos:]))
    return "".join(out)


def highlight(text: str, is_match: Match | None = None, *, emphasis: Sequence[tuple[int, int]] = ()) -> str:
    """Escaped ``text`` with matching words marked and the ``emphasis`` spans (offsets in ``text``) in bold."""
    out, pos = [], 0
    for s, e in sorted(emphasis):
        s, e = max(pos, s), min(len(text), e)
        if s >= e:
            continue
        out.append(mark_words(text[pos:s], is_match))
        out.append('<strong class="fraga-quote">' + mark_words(text[s:e], is_match) + "</strong>")
        pos = e
    out.append(mark_words(text[pos:], is_match))
    return "".join(out)


def source_link(
    doc_id: str,
    label: str,
    *,
    chunk_id: str = "",
    start: int | None = None,
    end: int | None = None,
    cls: str = "fraga-link",
    title: str = "",
) -> str:
    """A button that opens ``doc_id`` on the Källa tab (read by the page's click handler)."""
    attrs = [f'class="{cls}"', 'type="button"', f'data-doc="{esc(doc_id)}"']
    if chunk_id:
        attrs.append(f'data-chunk="{esc(chunk_id)}"')
    if start is not None and end is not None:
        attrs.append(f'data-start="{int(start)}" data-end="{int(end)}"')
    attrs.append(f'title="{esc(title or "Öppna hela dokumentet med stället markerat")}"')
    return f"<button {' '.join(attrs)}>{esc(label)}</button>"


def citation_ref(c: Citation, title: str) -> str:
    """The "[n]" button of citation ``c``: opens its document with the quote marked."""
    return source_link(c.doc_id, f"[{c.n}]", chunk_id=c.chunk_id, start=c.start, end=c.end, cls="fraga-ref", title=title)


def meta_line(doc: Document | None, *, page: int | None = None, section: str = "") -> str:
    """ "Dnr … · datum · dokumenttyp · s. N", with unknown fields said plainly."""
    meta = doc.metadata if doc else None
    date = "datum saknas"
    if meta and meta.date:
        derived = DATE_SOURCES.get(meta.date_source, "")
        date = esc(meta.date) + (f" ({derived})" if derived else "")
    parts = [f"Dnr {esc(meta.dnr)}" if meta and meta.dnr else "diarienummer saknas", date]
    if meta and meta.doc_type:
        parts.append(esc(meta.doc_type))
    if page:
        parts.append(f"s. {int(page)}")
    line = f'<div class="fraga-meta">{" · ".join(parts)}</div>'
    if section:
        line += f'<div class="fraga-section">Avsnitt: {esc(section)}</div>'
    return line


def doc_heading(doc: Document | None, fallback: str = "") -> str:
    """ "<b>Distrikt</b> · Titel"."""
    meta = doc.metadata if doc else None
    district = meta.district if meta and meta.district else "okänd stadsdel"
    title = (meta.title if meta and meta.title else "") or fallback or (doc.doc_id if doc else "")
    badge = question_badge() if is_question_doc(doc) else ""
    return f"{badge}<b>{esc(district)}</b> · {esc(title)}"


def question_badge() -> str:
    """The mark of a passage from a skrivelse: the politicians' question, not an answer."""
    return (
        f'<span class="fraga-qbadge" title="Avsnittet kommer från politikernas skrivelse, '
        f'inte från förvaltningens svar">{esc(QUESTION_BADGE)}</span> '
    )


# Passages -----------------------------------------------------------------------
def citation_card(
    cites: Sequence[Citation],
    documents: Mapping[str, Document],
    is_match: Match | None,
    passage: tuple[int, int] | None = None,
    page: int | None = None,
) -> str:
    """A cited passage: numbers, district, title, dnr, date, section, passage text with the quotes in bold.

    ``cites`` are the citations that quote this passage (usually one).
    """
    c = cites[0]
    doc = documents.get(c.doc_id)
    inside = passage is not None and all(passage[0] <= x.start and x.end <= passage[1] for x in cites)
    if doc is not None and passage is not None and inside:
        raw = doc.text[passage[0] : passage[1]]
        text = reflow(raw[: passage_end(raw, keep=max(x.end for x in cites) - passage[0])])
        body = highlight(text, is_match, emphasis=[(x.start - passage[0], x.end - passage[0]) for x in cites])
    else:
        body = " ".join('<strong class="fraga-quote">' + mark_words(x.quote, is_match) + "</strong>" for x in cites)
    refs = " ".join(
        source_link(x.doc_id, f"[{x.n}]", chunk_id=x.chunk_id, start=x.start, end=x.end, cls="fraga-ref") for x in cites
    )
    return (
        f'<div class="fraga-card" data-n="{c.n}"><div class="fraga-card-head">{refs} '
        f"{doc_heading(doc, c.title)}</div>"
        f"{meta_line(doc, page=page, section=c.section)}"
        f'<div class="fraga-passage">{body}</div>'
        f'<div class="fraga-card-foot">'
        f"{source_link(c.doc_id, 'Visa i dokumentet', chunk_id=c.chunk_id, start=c.start, end=c.end)}"
        f"</div></div>"
    )


def hit_card(hit: Hit, documents: Mapping[str, Document], is_match: Match | None, *, label: str = "") -> str:
    """A retrieved passage with its document's metadata and matching words marked."""
    chunk = hit.chunk
    doc = documents.get(chunk.doc_id)
    lead = f'<span class="fraga-rank">{esc(label)}</span> ' if label else ""
    return (
        f'<div class="fraga-card"><div class="fraga-card-head">{lead}{doc_heading(doc)}</div>'
        f"{meta_line(doc, page=chunk.page, section=chunk.section)}"
        f'<div class="fraga-passage">{mark_words(shown_passage(chunk.text), is_match)}</div>'
        f'<div class="fraga-card-foot">{source_link(chunk.doc_id, "Visa i dokumentet", chunk_id=chunk.chunk_id)}'
        f"</div></div>"
    )


# The chat -----------------------------------------------------------------------
def answer_text(text: str, citations: Sequence[Citation]) -> str:
    """The answer with its "[n]" markers as buttons that open the cited place."""
    by_n = {c.n: c for c in citations}
    districts = {c.district for c in citations if c.district}
    lines = []
    for line in text.split("\n"):
        label = ""
        head, sep, rest = line.partition(": ")
        if sep and head in districts:
            label, line = f'<b class="fraga-district">{esc(head)}:</b> ', rest
        out, pos = [], 0
        for m in _MARKER_RE.finditer(line):
            c = by_n.get(int(m.group(1)))
            if c is None:
                continue
            out.append(esc(line[pos : m.start()]))
            out.append(citation_ref(c, f"Källa {c.n}: {c.district} – öppna dokumentet"))
            pos = m.end()
        out.append(esc(line[pos:]))
        lines.append(f"<p>{label}{''.join(out)}</p>")
    return "".join(lines)


def _copy_block(plain: str, *, answered: bool = True) -> str:
    # Staff paste "no earlier answer found" into drafts too, so a no-answer reply has the button.
    title = "Kopiera svaret och källorna som vanlig text" if answered else "Kopiera beskedet som vanlig text"
    return (
        '<div class="fraga-actions"><button type="button" class="fraga-copy" '
        f'title="{esc(title)}">{"Kopiera svar med källor" if answered else "Kopiera beskedet"}</button></div>'
        f'<textarea class="fraga-copy-text" hidden readonly>{esc(plain)}</textarea>'
    )


def _context_note(turn) -> str:
    if getattr(turn, "interpreted", ""):
        return f'<div class="fraga-context">{esc(turn.interpreted)}</div>'
    if turn.carried:
        names = " och ".join(turn.carried)
        return (
            f'<div class="fraga-context">Följdfråga: söker i {esc(names)}, som i föregående fråga. '
            "Nämn en annan stadsdel eller börja en ny konversation för att söka i alla.</div>"
        )
    if turn.widened:
        names = " och ".join(turn.widened)
        return (
            f'<div class="fraga-context">Inget svar i {esc(names)} (föregående frågas stadsdel); '
            "svaret kommer från alla stadsdelar.</div>"
        )
    return ""


def turn_html(
    turn,
    documents: Mapping[str, Document],
    is_match: Match | None,
    passage_of: Callable[[str], tuple[tuple[int, int], int | None] | None],
) -> str:
    """One question and fraga's reply. ``turn`` is a ``service.Turn``.

    ``passage_of(chunk_id)`` gives the passage's (start, end) in its document and its page.
    """
    q = turn.question
    if len(q) > MAX_SHOWN_QUESTION:
        q = q[:MAX_SHOWN_QUESTION] + f" … ({len(turn.question)} tecken)"
    parts = ['<div class="fraga-turn">']
    if q.strip():
        parts.append(f'<div class="fraga-q"><div class="fraga-who">Du</div><p>{esc(q)}</p></div>')
    answer = turn.answer
    if answer is None:
        parts.append(f'<div class="fraga-a fraga-error"><div class="fraga-who">fraga</div><p>{esc(turn.error)}</p></div>')
        parts.append("</div>")
        return "".join(parts)
    kind = "fraga-a" if answer.answered else "fraga-a fraga-noanswer"
    parts.append(f'<div class="{kind}"><div class="fraga-who">fraga</div>{_context_note(turn)}')
    parts.append(f'<div class="fraga-answer">{answer_text(answer.text, answer.citations)}</div>')
    if answer.citations:
        parts.append('<div class="fraga-sources-title">Källor</div>')
        by_chunk: dict[str, list[Citation]] = {}
        for c in answer.citations:
            by_chunk.setdefault(c.chunk_id, []).append(c)
        for chunk_id, cites in by_chunk.items():
            found = passage_of(chunk_id)
            passage, page = found if found else (None, None)
            parts.append(citation_card(cites, documents, is_match, passage, page))
    elif answer.hits:
        parts.append('<div class="fraga-sources-title">Närmaste avsnitt</div>')
        for hit in answer.hits[:NEAREST_SHOWN]:
            parts.append(hit_card(hit, documents, is_match))
    parts.append(_copy_block(turn.plain_text, answered=answer.answered))
    parts.append("</div></div>")
    return "".join(parts)


def transcript(
    turns: Iterable,
    documents: Mapping[str, Document],
    matcher: Callable[[str], Match],
    passage_of: Callable[[str], tuple[tuple[int, int], int | None] | None],
) -> str:
    """The whole conversation, oldest first, or a short welcome when it is empty."""
    body = [turn_html(t, documents, matcher(t.question), passage_of) for t in turns]
    if not body:
        return (
            '<div class="fraga-welcome"><p><b>Ställ en fråga</b> om hur stadsdelsförvaltningarna har svarat, '
            "t.ex. om hot mot medarbetare, polisanmälan eller säkerhetsarbete.</p>"
            "<p>Svaret är ordagranna citat ur dokumenten med numrerade källor. Klicka på en källa för att "
            "läsa hela dokumentet med stället markerat.</p></div>"
        )
    return '<div class="fraga-chat">' + "".join(body) + "</div>"


def notice(message: str, *, kind: str = "info") -> str:
    """A short message box (kind: "info" or "error")."""
    return f'<div class="fraga-notice fraga-notice-{esc(kind)}">{esc(message)}</div>'
