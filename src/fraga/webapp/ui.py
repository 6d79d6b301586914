"""The Gradio page: tabs Fråga, Sök, Jämför stadsdelar, Förbered svar, Källa, Om indexet and Återkoppling.

A thin layer: each handler calls ``Service`` and renders its records with ``render`` or
``pages``. This is the app's UI edge, so FragaError becomes a message on screen here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fraga.errors import FragaError
from fraga.webapp import drafting_tab, feedback_ui, pages, render
from fraga.webapp.assets import (
    CLICK_JS,
    CSS,
    FOCUS_QUESTION_JS,
    HEAD,
    LIVE_JS,
    LOCK_JS,
    PAGE_JS,
    SCROLL_JS,
    THEME_COLORS,
)
from fraga.webapp.lang import SwedishPage
from fraga.webapp.service import MAX_TURNS, Service, Turn

if TYPE_CHECKING:
    import gradio as gr

logger = logging.getLogger(__name__)

EXAMPLES = (
    "Vem polisanmäler i Skarpnäck?",
    "Vilka stadsdelar har en nolltoleranspolicy?",
    "Har Norra innerstaden en säkerhetssamordnare på heltid?",
    "Hur arbetar Kungsholmen mot tystnadskultur?",
)
MODE_CHOICES = [
    ("Hybrid: ord och betydelse (rekommenderas)", "hybrid"),
    ("BM25: bara ordmatchning", "bm25"),
    ("Semantisk: bara betydelse", "dense"),
]
HEADER = (
    '<div id="fraga-header"><h1>fraga: frågor till stadsdelarnas tjänsteutlåtanden</h1>'
    "<p>Svaren är ordagranna citat ur stadsdelsförvaltningarnas svar, med numrerade källor. "
    "fraga hittar inte på något: finns inget tydligt svar säger den det.</p></div>"
)
QUEUE_CONCURRENCY = 4  # questions answered at once; the rest wait in the queue
QUEUE_SIZE = 256


# The characters JavaScript's String.trim() removes (ECMAScript WhiteSpace and LineTerminator).
JS_SPACE = " \t\n\v\f\r\u00a0\ufeff\u1680\u2028\u2029\u202f\u205f\u3000" + "".join(chr(c) for c in range(0x2000, 0x200B))


class Handlers:
    """The functions the page's events call; each returns what the components show."""

    def __init__(self, service: Service) -> None:
        self.service = service  # a LiveService in the app: the index can change between requests

    @property
    def documents(self):
        """The documents of the index that serves now."""
        return self.service.index.documents

    def _passage_of(self, chunk_id: str):
        chunk = self.service.chunk(chunk_id)
        return None if chunk is None else ((chunk.start, chunk.end), chunk.page)

    def chat_html(self, turns: Sequence[Turn]) -> str:
        return render.transcript(turns, self.documents, self.service.matcher, self._passage_of)

    # Fråga
    def ask(self, question: str, turns: Sequence[Turn] | None, mode: str, k: float) -> tuple[Any, Any, Any]:
        turns = tuple(turns or ())
        question = question or ""
        if not question.strip():  # an empty submit (a stray Enter or click) changes nothing
            import gradio as gr

            return gr.skip(), gr.skip(), gr.skip()
        try:
            turn = self.service.ask(question, turns, mode=mode, k=int(k))
            keep = ""
        except FragaError as exc:
            turn = Turn(question, None, error=str(exc))
            keep = question  # let the user shorten or fix it
        turns = (turns + (turn,))[-MAX_TURNS:]
        return self._coverage(mode) + self.chat_html(turns), turns, keep

    def clear(self) -> tuple[str, tuple, str]:
        return self.chat_html(()), (), ""

    # Sök
    def search(
        self,
        query: str,
        districts: list[str] | None,
        doc_types: list[str] | None,
        date_from: str,
        date_to: str,
        mode: str,
        k: float,
    ) -> str:
        try:
            filters = self.service.filters(districts or (), doc_types or (), date_from or "", date_to or "")
            result = self.service.search(query or "", filters=filters, mode=mode, k=int(k))
        except FragaError as exc:
            return render.notice(str(exc), kind="error")
        return self._coverage(mode) + pages.search_results(result, self.documents, self.service.matcher(query), filters)

    def _coverage(self, mode: str) -> str:
        """A notice while the dense index is incomplete (a BM25-first build still encodes), else ""."""
        from fraga.index.status import coverage_note

        with_vectors, passages = self.service.index.dense_coverage()
        note = coverage_note(with_vectors, passages, mode, hint=False)
        return render.notice(note) if note else ""

    # Jämför
    def compare(self, question: str, doc_types: list[str] | None, mode: str) -> str:
        try:
            rows = self.service.compare(question or "", mode=mode, doc_types=doc_types or ())
        except FragaError as exc:
            return render.notice(str(exc), kind="error")
        return pages.comparison(rows, self.documents, self.service.matcher(question))

    # Källa
    def show_source(self, doc_id: str, chunk_id: str = "", start: Any = None, end: Any = None):
        import gradio as gr

        try:
            view = self.service.source(doc_id, chunk_id=chunk_id, start=start, end=end)
            path = self.service.download(view.doc.doc_id)
        except (FragaError, OSError) as exc:
            message = str(exc) if isinstance(exc, FragaError) else "Originalfilen kunde inte läsas."
            return render.notice(message, kind="error"), gr.update(), gr.update(visible=False)
        download = (
            gr.update(value=str(path), label=f"Ladda ner originalfilen ({Path(path).suffix.lstrip('.')})", visible=True)
            if path
            else gr.update(visible=False)
        )
        return pages.source_page(view), gr.update(value=view.doc.doc_id), download

    def open_clicked(self, evt: Any):
        import gradio as gr

        shown = self.show_source(
            str(getattr(evt, "doc", "") or ""),
            str(getattr(evt, "chunk", "") or ""),
            getattr(evt, "start", None),
            getattr(evt, "end", None),
        )
        return (*shown, gr.Tabs(selected="kalla"))

    def status_page(self) -> str:
        """The "Om indexet" page of the index that serves now."""
        return pages.status_page(self.service.status())

    def pick_document(self, doc_id: str | None):
        import gradio as gr

        if not doc_id:
            return pages.source_placeholder(), gr.update(), gr.update(visible=False)
        return self.show_source(doc_id)


def build_ui(service: Service) -> gr.Blocks:
    """The Gradio Blocks of the app over ``service``."""
    import gradio as gr

    h = Handlers(service)
    status = service.status()
    districts = service.index.districts()
    doc_types = service.doc_types()
    # Sök and Jämför show the administrations' replies by default; skrivelser (questions) on request.
    replies = [t for t in doc_types if t != render.SKRIVELSE] or None
    types_info = (
        "Förvalt: förvaltningarnas svar. Kryssa i skrivelse för att se politikernas frågor också."
        if replies and len(replies) < len(doc_types)
        else "Inget valt = alla typer"
    )
    doc_choices = [
        (
            f"{d.metadata.district or 'okänd'} · {d.metadata.title or d.doc_id}"
            + (f" ({d.metadata.date})" if d.metadata.date else ""),
            d.doc_id,
        )
        for d in status.documents
    ]

    with gr.Blocks(title="fraga – frågor till stadsdelarnas svar") as demo:
        turns = gr.State(())
        gr.HTML(HEADER, js_on_load=None)
        with gr.Tabs(selected="fraga") as tabs:
            with gr.Tab("Fråga", id="fraga"):
                chat = gr.HTML(h.chat_html(()), js_on_load=CLICK_JS + LIVE_JS, elem_id="fraga-chat", min_height=120)
                with gr.Row(equal_height=True):
                    question = gr.Textbox(
                        label="Fråga",
                        show_label=False,
                        scale=6,
                        lines=1,
                        max_lines=6,
                        autofocus=True,
                        placeholder="Skriv din fråga här och tryck Enter, t.ex. Vem gör polisanmälan vid hot i Skarpnäck?",
                        elem_id="fraga-question",
                    )
                    ask = gr.Button("Fråga", variant="primary", scale=0, min_width=110, elem_id="fraga-ask")
                    new_chat = gr.Button("Ny konversation", variant="secondary", scale=0, min_width=180, elem_id="fraga-clear")
                with gr.Row(elem_id="fraga-examples"):
                    gr.HTML("<b>Exempel:</b>", js_on_load=None, elem_id="fraga-examples-label")
                    example_buttons = [gr.Button(text, size="sm", variant="secondary", scale=0, min_width=0) for text in EXAMPLES]
                feedback = feedback_ui.build(service)
            with gr.Tab("Sök", id="sok"):
                gr.HTML(
                    "<p>Sök bland avsnitten i alla dokument, t.ex. för att se hur tidigare frågor har besvarats. "
                    "Träffarna är rangordnade och grupperade per dokument; klicka på ett avsnitt för att läsa "
                    "det.</p>",
                    js_on_load=None,
                )
                with gr.Row(equal_height=True):
                    query = gr.Textbox(
                        label="Sökord eller fråga", scale=6, elem_id="fraga-search-query", placeholder="t.ex. polisanmälan hot"
                    )
                    search = gr.Button("Sök", variant="primary", scale=1, min_width=110, elem_id="fraga-search")
                with gr.Row():
                    f_districts = gr.Dropdown(
                        districts,
                        multiselect=True,
                        label="Stadsdel",
                        info="Tomt = alla stadsdelar",
                        elem_id="fraga-filter-district",
                    )
                    f_types = gr.CheckboxGroup(
                        doc_types, value=replies, label="Dokumenttyp", info=types_info, elem_id="fraga-filter-type"
                    )
                    f_from = gr.Textbox(label="Från datum", placeholder="ÅÅÅÅ-MM-DD", elem_id="fraga-filter-from")
                    f_to = gr.Textbox(label="Till datum", placeholder="ÅÅÅÅ-MM-DD", elem_id="fraga-filter-to")
                results = gr.HTML("", js_on_load=CLICK_JS, elem_id="fraga-results")
            with gr.Tab("Jämför stadsdelar", id="jamfor"):
                gr.HTML("<p>Ställ en fråga och se det bästa avsnittet från varje stadsdel sida vid sida.</p>", js_on_load=None)
                with gr.Row(equal_height=True):
                    c_question = gr.Textbox(
                        label="Fråga",
                        scale=6,
                        elem_id="fraga-compare-question",
                        placeholder="t.ex. Polisanmäls varje hot mot medarbetare?",
                    )
                    compare = gr.Button("Jämför", variant="primary", scale=1, min_width=110, elem_id="fraga-compare")
                c_types = gr.CheckboxGroup(
                    doc_types, value=replies, label="Dokumenttyp", info=types_info, elem_id="fraga-compare-type"
                )
                compared = gr.HTML("", js_on_load=CLICK_JS, elem_id="fraga-compared")
            with gr.Tab(drafting_tab.TAB_LABEL, id=drafting_tab.TAB_ID):
                drafting = drafting_tab.build(service, click_js=CLICK_JS)
            with gr.Tab("Källa", id="kalla"):
                with gr.Row(equal_height=True):
                    doc_pick = gr.Dropdown(
                        doc_choices,
                        value=None,
                        label="Dokument",
                        scale=4,
                        info="Välj ett dokument att läsa, eller klicka på en källa i Fråga, Sök eller Jämför stadsdelar.",
                        elem_id="fraga-doc-pick",
                    )
                    download = gr.DownloadButton(
                        "Ladda ner originalfilen", visible=False, scale=0, min_width=230, size="md", elem_id="fraga-download"
                    )
                source = gr.HTML(pages.source_placeholder(), js_on_load=SCROLL_JS, elem_id="fraga-source")
            with gr.Tab("Om indexet", id="om") as about_tab:
                status_html = gr.HTML(pages.status_page(status), js_on_load=CLICK_JS, elem_id="fraga-status")
            # read again on each visit: a new generation (e.g. more dense vectors) may serve by now
            about_tab.select(h.status_page, outputs=status_html, show_progress="hidden", api_visibility="private")
            with gr.Tab(feedback_ui.TAB_LABEL, id=feedback_ui.TAB_ID) as feedback_tab:
                feedback.build_tab()
        with gr.Accordion("Inställningar", open=False, elem_id="fraga-settings"):
            mode = gr.Radio(MODE_CHOICES, value="hybrid", label="Sökmetod")
            k = gr.Slider(
                1,
                20,
                value=5,
                step=1,
                label="Avsnitt per svar",
                buttons=[],
                info="Hur många avsnitt fraga läser för att svara (fler ger bredare underlag).",
            )
            k_search = gr.Slider(
                5, 50, value=20, step=5, label="Träffar i Sök", buttons=[], info="Hur många avsnitt sökningen visar."
            )

        # While a question is being answered, the box, "Fråga" and the examples are disabled:
        # a second Enter or click can neither be lost nor ask the (emptied) box again.
        askers = [question, ask, *example_buttons]

        def lock(q: str = "x"):
            # Empty as LOCK_JS judges it (JavaScript's trim), so that the page and the server agree
            # on which submits lock the controls; unlock then always has a change to undo.
            if not (q or "").strip(JS_SPACE):
                return tuple(gr.skip() for _ in askers)
            return tuple(gr.update(interactive=False) for _ in askers)

        def unlock():
            return tuple(gr.update(interactive=True) for _ in askers)

        def ask_chain(event, fn, inputs, **api):
            (
                event(
                    lock,
                    inputs=inputs[:1] if fn is h.ask else None,
                    outputs=askers,
                    queue=False,
                    js=LOCK_JS,
                    show_progress="hidden",
                    api_visibility="private",
                )
                .then(fn, inputs=inputs, outputs=[chat, turns, question], show_progress="minimal", concurrency_id="ask", **api)
                .then(unlock, outputs=askers, queue=False, show_progress="hidden", api_visibility="private")
                .then(None, js=FOCUS_QUESTION_JS, api_visibility="private")
            )

        ask_chain(ask.click, h.ask, [question, turns, mode, k], api_name="fraga")
        ask_chain(question.submit, h.ask, [question, turns, mode, k], api_visibility="undocumented")
        for button, text in zip(example_buttons, EXAMPLES, strict=True):
            ask_chain(button.click, lambda t, m, kk, q=text: h.ask(q, t, m, kk), [turns, mode, k], api_visibility="private")
        new_chat.click(h.clear, outputs=[chat, turns, question], queue=False, api_visibility="private")

        search_io = dict(
            fn=h.search,
            inputs=[query, f_districts, f_types, f_from, f_to, mode, k_search],
            outputs=results,
            show_progress="minimal",
            concurrency_id="search",
        )
        search.click(**search_io, api_name="sok")
        query.submit(**search_io, api_visibility="undocumented")
        compare_io = dict(
            fn=h.compare, inputs=[c_question, c_types, mode], outputs=compared, show_progress="minimal", concurrency_id="search"
        )
        compare.click(**compare_io, api_name="jamfor")
        c_question.submit(**compare_io, api_visibility="undocumented")
        drafting.wire(mode)
        feedback.wire(chat, turns, feedback_tab)

        def open_clicked(evt):
            return h.open_clicked(evt)

        open_clicked.__annotations__ = {"evt": gr.EventData}  # resolved type: Gradio passes the click's data
        for panel in (chat, results, compared, drafting.table, status_html):
            panel.click(
                open_clicked, outputs=[source, doc_pick, download, tabs], show_progress="hidden", api_visibility="private"
            )
        doc_pick.input(h.pick_document, inputs=doc_pick, outputs=[source, doc_pick, download], api_visibility="private")

    demo.queue(default_concurrency_limit=QUEUE_CONCURRENCY, max_size=QUEUE_SIZE)
    return demo


SESSION_CAPACITY = 500  # conversations kept in memory; the least recently active is dropped beyond it


def launch(demo: gr.Blocks, *, host: str, port: int | None, on_ready: Callable[[str], None] | None = None) -> None:
    """Serve ``demo``, answer one question through it, call ``on_ready(url)`` and block until stopped.

    The first request a Gradio server handles is slow (about 1.5 s on two busy cores, 0.1 s
    after); answering one at start keeps that wait from the first user.
    """
    import gradio as gr

    # Gradio keeps every conversation's state in memory until this many sessions exist
    # (default 10,000, ~200 KB each): a lower cap keeps a long-running server's memory flat.
    from starlette.middleware import Middleware

    # SwedishPage serves the page as <html lang="sv"> (Gradio's template says "en").
    demo.launch(
        server_name=host,
        server_port=port,
        css=CSS + drafting_tab.CSS + feedback_ui.CSS,
        head=HEAD,
        js=PAGE_JS,
        footer_links=[],
        quiet=True,
        app_kwargs={"middleware": [Middleware(SwedishPage)]},
        theme=gr.themes.Default(primary_hue="blue").set(**THEME_COLORS),
        show_error=False,
        prevent_thread_lock=True,
        state_session_capacity=SESSION_CAPACITY,
    )
    url = demo.local_url or f"http://{host}:{port}/"
    try:
        from gradio_client import Client

        Client(url, verbose=False).predict(EXAMPLES[0], "hybrid", 5, api_name="/fraga")
    except Exception as exc:  # only a warm-up: the app works without it
        logger.warning("warm-up request failed: %s", exc)
    if on_ready:
        on_ready(url)
    demo.block_thread()
