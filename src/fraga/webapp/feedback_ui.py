"""Feedback in the web app: "Bra svar" / "Fel svar" under the chat, and the "Återkoppling" tab.

Under the Fråga tab's chat, a panel judges one answer of the conversation (the latest by
default): "Bra svar" or "Fel svar", an optional comment, and for a wrong answer the passage
(among those fraga showed or read) that does answer the question, or "Dokumenten svarar inte
på detta". Judgments go to ``fraga.feedback.store`` beside the index. The "Återkoppling" tab
shows the share of good answers over time and per district, with a chart, and the latest
judgments. As in ``render``: every piece of question, answer or comment text is escaped.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fraga.errors import FragaError
from fraga.feedback.record import chunk_of, make_feedback, shown_passages
from fraga.feedback.stats import chart_png, overall, share_by_district, share_over_time
from fraga.feedback.store import GOOD, UNANSWERABLE, VERDICT_LABELS, WRONG, FeedbackStore, counts
from fraga.webapp.render import esc, notice

if TYPE_CHECKING:
    import gradio as gr

    from fraga.records import Chunk
    from fraga.webapp.service import Service, Turn

logger = logging.getLogger(__name__)

TAB_LABEL = "Återkoppling"
TAB_ID = "aterkoppling"
NOT_ANSWERED = "__dokumenten_svarar_inte__"
UNKNOWN = "__vet_inte__"
NOT_ANSWERED_LABEL = "Dokumenten svarar inte på detta"
UNKNOWN_LABEL = "Inget av avsnitten (förklara gärna i kommentaren)"
VERDICT_CHOICES = [("Bra svar", GOOD), ("Fel svar", WRONG)]
EXCERPT_CHARS = 110
SEARCH_HITS = 8  # passages a user's own search adds to the choice
LABEL_QUESTION_CHARS = 70
RECENT_SHOWN = 15

INTRO = (
    '<div class="fraga-fb-intro"><b>Vad tyckte du om svaret?</b> Ditt omdöme hjälper oss att mäta och '
    "förbättra fraga. Inget om dig sparas, bara frågan, svaret och omdömet.</div>"
)
STATS_INTRO = (
    "<p>Användarnas omdömen om svaren i Fråga. Andelen bra svar visas över tid och per stadsdel. "
    "Omdömena kan exporteras som guldfrågor med <code>fraga feedback export --out FIL</code> "
    "och utvärderas med <code>fraga eval --gold FIL</code>.</p>"
)

CSS = r"""
#fraga-feedback { border: 1px solid var(--border-color-primary); border-radius: 10px; padding: 0.4rem 0.6rem; }
.fraga-fb-intro { font-size: 0.95rem; }
#fraga-fb-passage .wrap { flex-direction: column; align-items: flex-start; }
.fraga-fb-share { font-size: 1.05rem; margin: 0.3rem 0; }
.fraga-fb-share b { font-size: 1.4rem; }
img.fraga-fb-chart { max-width: 100%; height: auto; border: 1px solid var(--border-color-primary);
  border-radius: 8px; background: white; }
"""


# LOW LEVEL FUNCTIONS ==========================================================
def _short(text: str, limit: int) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def judgeable(turns: Sequence[Turn]) -> list[tuple[str, str]]:
    """(label, value) for each turn with an answer (or a "no answer"), value = its position."""
    out = []
    for i, turn in enumerate(turns):
        if turn.answer is None:
            continue
        state = "" if turn.answer.answered else " (inget svar)"
        out.append((f"{i + 1}. {_short(turn.question, LABEL_QUESTION_CHARS)}{state}", str(i)))
    return out


def _turn(turns: Sequence[Turn], which: str | None) -> Turn | None:
    try:
        i = int(which or "")
    except ValueError:
        return None
    if 0 <= i < len(turns) and turns[i].answer is not None:
        return turns[i]
    return None


def _previous(turns: Sequence[Turn], turn: Turn) -> str:
    """The question before ``turn`` when ``turn`` was read with it (a follow-up), else ""."""
    if not (turn.interpreted or turn.carried):
        return ""
    i = next((n for n, t in enumerate(turns) if t is turn), len(turns))
    return next((t.asked or t.question for t in reversed(turns[:i]) if t.answer is not None), "")


def stats_html(store: FeedbackStore) -> str:
    """The Återkoppling tab: counts per verdict, the share of good answers with its chart, the latest."""
    try:
        entries = store.entries()
    except FragaError as exc:
        return notice(str(exc), kind="error")
    if not entries:
        return notice("Inga omdömen ännu. Ge omdömen med Bra svar / Fel svar under svaren i Fråga.")
    per_verdict = counts(entries)
    share = overall(entries)
    parts = [
        (
            f'<div class="fraga-fb-share">Andel bra svar: <b>{share.share * 100:.0f} %</b> '
            f"({share.good} av {share.total} omdömen)</div>"
        ),
        '<div class="fraga-stats">'
        + "".join(f"<span><b>{n}</b> {esc(VERDICT_LABELS[v])}</span>" for v, n in per_verdict.items())
        + "</div>",
    ]
    try:
        png = base64.b64encode(chart_png(entries)).decode("ascii")
        parts.append(
            f'<img class="fraga-fb-chart" alt="Andel bra svar över tid och per stadsdel" src="data:image/png;base64,{png}">'
        )
    except (ImportError, OSError, ValueError, RuntimeError) as exc:  # a chart is a help, the numbers below say the same
        logger.warning("could not draw the feedback chart: %s", exc)
    rows = "".join(
        f"<tr><td>{esc(s.label)}</td><td>{s.good}</td><td>{s.total}</td><td>{s.share * 100:.0f} %</td></tr>"
        for s in share_by_district(entries)
    )
    parts.append(
        '<h3>Per stadsdel</h3><table class="fraga-table" id="fraga-fb-districts"><thead><tr>'
        "<th>Stadsdel</th><th>Bra svar</th><th>Omdömen</th><th>Andel</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
    )
    rows = "".join(
        f"<tr><td>{esc(s.label)}</td><td>{s.good}</td><td>{s.total}</td><td>{s.share * 100:.0f} %</td></tr>"
        for s in share_over_time(entries)
    )
    parts.append(
        '<h3>Över tid</h3><table class="fraga-table"><thead><tr><th>Period</th><th>Bra svar</th>'
        f"<th>Omdömen</th><th>Andel</th></tr></thead><tbody>{rows}</tbody></table>"
    )
    recent = []
    for fb in reversed(entries[-RECENT_SHOWN:]):
        recent.append(
            f"<tr><td>{esc(fb.created[:16].replace('T', ' '))}</td><td>{esc(VERDICT_LABELS[fb.verdict])}"
            f"</td><td>{esc(_short(fb.question, 160))}</td><td>{esc(_short(fb.comment, 200))}</td></tr>"
        )
    parts.append(
        '<h3>Senaste omdömena</h3><table class="fraga-table" id="fraga-fb-recent"><thead><tr>'
        "<th>Tid (UTC)</th><th>Omdöme</th><th>Fråga</th><th>Kommentar</th></tr></thead>"
        f"<tbody>{''.join(recent)}</tbody></table>"
    )
    return "".join(parts)


# HIGH LEVEL FUNCTIONS =========================================================
class FeedbackHandlers:
    """What the feedback panel and tab do, without Gradio.

    Args:
        service: The app's service (its index and district matcher).
        store: Where judgments go. Defaults to ``feedback.sqlite`` in the index folder.
    """

    def __init__(self, service: Service, store: FeedbackStore | None = None) -> None:
        self.service = service
        self.store = store or FeedbackStore.beside(service.index.local_dir)

    def passage_choices(self, turn: Turn | None, found: Sequence[Chunk] = ()) -> list[tuple[str, str]]:
        """The passages a user may say answers ``turn``'s question (those fraga read, then ``found``
        by the user's own search), then the two other answers."""
        if turn is None or turn.answer is None:
            return []
        index = self.service.index
        numbers = {c.chunk_id: c.n for c in reversed(turn.answer.citations)}
        out = []
        shown = shown_passages(turn.answer, index)
        seen = {c.chunk_id for c in shown}
        for chunk in (*shown, *(c for c in found if c.chunk_id not in seen)):
            doc = index.documents.get(chunk.doc_id)
            district = doc.metadata.district if doc is not None and doc.metadata.district else "okänd stadsdel"
            lead = f"[{numbers[chunk.chunk_id]}] " if chunk.chunk_id in numbers else ""
            lead = lead if chunk.chunk_id in seen else "Sökträff – "
            out.append((f"{lead}{district}: {_short(chunk.text, EXCERPT_CHARS)}", chunk.chunk_id))
        if turn.answer.answered:
            out.append((NOT_ANSWERED_LABEL, NOT_ANSWERED))
        out.append((UNKNOWN_LABEL, UNKNOWN))
        return out

    def save(
        self, turns: Sequence[Turn], which: str | None, verdict: str | None, passage: str | None, comment: str | None
    ) -> str:
        """Store the judgment; returns the message to show. Raises FragaError for a bad choice."""
        turn = _turn(turns, which)
        if turn is None or turn.answer is None:
            raise FragaError("Välj vilket svar omdömet gäller.")
        if verdict not in (GOOD, WRONG):
            raise FragaError("Välj Bra svar eller Fel svar.")
        pointed = ""
        if verdict == WRONG and passage == NOT_ANSWERED:
            verdict = UNANSWERABLE
        elif verdict == WRONG and passage and passage != UNKNOWN:
            if chunk_of(self.service.index, passage) is None:  # shown, or found by the user's search
                raise FragaError("Avsnittet finns inte i indexet; välj ett av avsnitten i listan.")
            pointed = passage
        question = turn.asked or turn.question
        named = tuple(self.service.retriever.matcher.names(question))
        fb = make_feedback(
            turn.question,
            turn.answer,
            verdict,
            self.service.index,
            pointed=pointed,
            comment=comment or "",
            districts=named or turn.context,
            asked=turn.asked,
            previous=_previous(turns, turn),
        )
        self.store.add(fb)
        label = VERDICT_LABELS[GOOD if verdict == GOOD else WRONG]
        extra = ""
        if verdict == UNANSWERABLE:
            extra = ": dokumenten svarar inte på frågan"
        elif pointed:
            extra = ": med avsnittet som svarar"
        return f"Tack! Omdömet sparades ({label}{extra})."

    # Gradio events -------------------------------------------------------------
    def refresh(self, turns: Sequence[Turn] | None):
        """After the chat changed: the latest answer chosen, the form emptied."""
        import gradio as gr

        turns = tuple(turns or ())
        choices = judgeable(turns)
        latest = choices[-1][1] if choices else None
        return (
            gr.update(visible=bool(choices)),
            gr.update(choices=choices, value=latest),
            gr.update(value=None),
            gr.update(choices=[], value=None, visible=False),
            gr.update(value=""),
            "",
        )

    def show_passages(self, turns: Sequence[Turn] | None, which: str | None, verdict: str | None):
        """The passage choice, shown for a wrong answer."""
        import gradio as gr

        if verdict != WRONG:
            return gr.update(choices=[], value=None, visible=False)
        return gr.update(choices=self.passage_choices(_turn(tuple(turns or ()), which)), value=None, visible=True)

    def search_passages(self, turns: Sequence[Turn] | None, which: str | None, words: str | None):
        """The passage choice with the passages a search for ``words`` finds added: the one that
        answers may be one fraga never read."""
        import gradio as gr

        turn = _turn(tuple(turns or ()), which)
        found: tuple[Chunk, ...] = ()
        if words and words.strip():
            try:
                found = tuple(h.chunk for h in self.service.retriever.search(words, k=SEARCH_HITS).hits)
            except FragaError as exc:
                return gr.update(), notice(str(exc), kind="error")
        return gr.update(choices=self.passage_choices(turn, found), value=None, visible=True), ""

    def submit(
        self, turns: Sequence[Turn] | None, which: str | None, verdict: str | None, passage: str | None, comment: str | None
    ):
        """Store the judgment; the message, and the form emptied after a success."""
        import gradio as gr

        try:
            message = self.save(tuple(turns or ()), which, verdict, passage, comment)
        except FragaError as exc:
            return notice(str(exc), kind="error"), gr.update(), gr.update(), gr.update()
        return (notice(message), gr.update(value=None), gr.update(choices=[], value=None, visible=False), gr.update(value=""))

    def stats(self) -> str:
        return stats_html(self.store)


# Components --------------------------------------------------------------------
@dataclass
class FeedbackPanel:
    """The panel's components; ``wire`` connects them to the chat, ``build_tab`` adds the stats tab."""

    handlers: FeedbackHandlers
    box: Any
    which: Any
    verdict: Any
    passage: Any
    comment: Any
    send: Any
    status: Any
    search_box: Any
    search_button: Any
    stats_html: Any = None
    refresh_button: Any = None

    def build_tab(self) -> None:
        """The Återkoppling tab's content; call inside ``with gr.Tab(TAB_LABEL, id=TAB_ID)``."""
        import gradio as gr

        gr.HTML(STATS_INTRO, js_on_load=None)
        self.refresh_button = gr.Button("Uppdatera", size="sm", variant="secondary", elem_id="fraga-fb-refresh")
        self.stats_html = gr.HTML(self.handlers.stats(), js_on_load=None, elem_id="fraga-fb-stats")

    def wire(self, chat: gr.HTML, turns: gr.State, tab: gr.Tab | None = None) -> None:
        """Refresh the panel when the chat changes; store judgments; refresh the stats on demand."""
        form = [self.box, self.which, self.verdict, self.passage, self.comment, self.status]
        chat.change(self.handlers.refresh, inputs=[turns], outputs=form, show_progress="hidden", api_visibility="private")
        for trigger in (self.verdict.change, self.which.change):
            trigger(
                self.handlers.show_passages,
                inputs=[turns, self.which, self.verdict],
                outputs=self.passage,
                show_progress="hidden",
                api_visibility="private",
            )
        for trigger in (self.search_button.click, self.search_box.submit):
            trigger(
                self.handlers.search_passages,
                inputs=[turns, self.which, self.search_box],
                outputs=[self.passage, self.status],
                show_progress="minimal",
                api_visibility="private",
            )
        self.send.click(
            self.handlers.submit,
            inputs=[turns, self.which, self.verdict, self.passage, self.comment],
            outputs=[self.status, self.verdict, self.passage, self.comment],
            show_progress="minimal",
            concurrency_id="feedback",
            api_visibility="private",
        )
        if self.stats_html is not None:
            self.refresh_button.click(
                self.handlers.stats, outputs=self.stats_html, show_progress="minimal", api_visibility="private"
            )
            if tab is not None:
                tab.select(self.handlers.stats, outputs=self.stats_html, show_progress="hidden", api_visibility="private")


def build(service: Service) -> FeedbackPanel:
    """The feedback panel under the chat; call inside the Fråga tab, then ``build_tab`` and ``wire``."""
    import gradio as gr

    handlers = FeedbackHandlers(service)
    with gr.Column(visible=False, variant="panel", elem_id="fraga-feedback") as box:
        gr.HTML(INTRO, js_on_load=None)
        with gr.Row(equal_height=True):
            which = gr.Dropdown(
                [],
                value=None,
                label="Svar att bedöma",
                scale=3,
                elem_id="fraga-fb-turn",
                info="Det senaste svaret är valt; välj ett annat i listan.",
            )
            verdict = gr.Radio(VERDICT_CHOICES, value=None, label="Omdöme", scale=2, elem_id="fraga-fb-verdict")
        passage = gr.Radio(
            [],
            value=None,
            visible=False,
            label="Vilket avsnitt svarar på frågan?",
            info="Avsnitt med nummer visades som källor; de andra läste fraga men citerade inte. "
            "Du kan också ange att dokumenten inte svarar på frågan.",
            elem_id="fraga-fb-passage",
        )
        with gr.Row(equal_height=True):
            search_box = gr.Textbox(
                label="Hittar du inte avsnittet? Sök efter det",
                lines=1,
                scale=4,
                elem_id="fraga-fb-search",
                placeholder="ord ur avsnittet som svarar",
            )
            search_button = gr.Button("Sök avsnitt", size="sm", variant="secondary", scale=1, elem_id="fraga-fb-search-go")
        comment = gr.Textbox(
            label="Kommentar (valfri)",
            lines=1,
            max_lines=4,
            elem_id="fraga-fb-comment",
            placeholder="t.ex. vad som saknas eller är fel i svaret",
        )
        send = gr.Button("Skicka omdöme", variant="secondary", elem_id="fraga-fb-send")
        status = gr.HTML("", js_on_load=None, elem_id="fraga-fb-status")
    return FeedbackPanel(handlers, box, which, verdict, passage, comment, send, status, search_box, search_button)
