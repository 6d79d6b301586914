"""The "Förbered svar" tab: each district's earlier answer to each question of a new skrivelse.

The user pastes or uploads a skrivelse (txt, md, pdf, docx); :func:`fraga.drafting.prepare`
finds its questions and, per district, the best earlier answer. The page shows the
questions (numbered) and a table with the questions as rows and the districts as
columns; each cell opens to the whole quoted answer and its full citation, whose
number opens the source on the Källa tab. The same content can be downloaded as Word
(.docx) and Markdown, written to a folder of their own per request.

As in ``render``: every piece of skrivelse or document text goes through ``html.escape``;
nothing is read as HTML or Markdown.
"""

from __future__ import annotations

import logging
import re
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fraga.drafting.export import citation_line, counts, to_docx, to_markdown
from fraga.drafting.match import NOT_FOUND, SAME, Cell, Preparation
from fraga.drafting.reader import read_upload
from fraga.errors import FragaError
from fraga.search.retrieve import MODES
from fraga.text import fold
from fraga.webapp.render import citation_ref, esc, notice, source_link

if TYPE_CHECKING:
    import gradio as gr

    from fraga.webapp.service import Service

logger = logging.getLogger(__name__)

TAB_LABEL = "Förbered svar"
TAB_ID = "forbered"
BUTTON_LABEL = "Hitta tidigare svar"
MAX_TEXT_CHARS = 200_000  # a pasted skrivelse; longer is not a skrivelse
KEEP_SECONDS = 3600  # how long the written .docx/.md of a request are kept
MODE_NAMES = {"hybrid": "hybrid", "bm25": "BM25 (ordmatchning)", "dense": "semantisk"}

INTRO = (
    "<p>Klistra in en ny skrivelse eller ladda upp den som fil. fraga hittar skrivelsens frågor och visar "
    "för varje fråga det tidigare svar från varje stadsdel som passar bäst, ordagrant och med källa. "
    "Öppna en ruta för att läsa hela svaret; klicka på källnumret för att se stället i dokumentet. "
    "Ladda ner underlaget som Word- eller Markdown-fil och börja skriva svaret där.</p>"
)
PLACEHOLDER = (
    "Klistra in skrivelsens text här, t.ex.\n\nMed anledning av ovanstående vill vi ställa följande "
    "frågor:\n1. Har stadsdelen en säkerhetssamordnare på heltid?\n2. …"
)
EMPTY_MESSAGE = (
    f"Klistra in skrivelsens text i rutan, eller ladda upp den som fil (txt, md, pdf eller docx), och klicka på {BUTTON_LABEL}."
)
PLACEHOLDER_HTML = (
    '<div class="fraga-welcome"><p>Här visas tabellen: skrivelsens frågor som rader och '
    "stadsdelarna som kolumner, med det tidigare svar som passar bäst i varje ruta.</p></div>"
)

CSS = r"""
.fraga-dhead { margin: 0.2rem 0 0.4rem 0; }
.fraga-dhead .fraga-summary { margin-bottom: 0.2rem; }
ol.fraga-dquestions { margin: 0.3rem 0 0.2rem 0; padding-left: 1.8rem; }
ol.fraga-dquestions li { margin: 0.15rem 0; }
.fraga-dwrap { overflow-x: auto; }
table.fraga-dtable { border-collapse: separate; border-spacing: 0; width: 100%; table-layout: fixed;
  font-size: 0.93rem; }
.prose table.fraga-dtable th, .prose table.fraga-dtable td { border: none; border-bottom: 1px solid
  var(--border-color-primary); border-right: 1px solid var(--border-color-primary); padding: 0.45rem 0.55rem;
  text-align: left; vertical-align: top; min-width: 200px; }
.prose table.fraga-dtable { border: 1px solid var(--border-color-primary); border-radius: 8px; }
.prose table.fraga-dtable thead th { background: var(--background-fill-secondary); font-size: 0.98rem; }
.prose table.fraga-dtable th.fraga-dq { width: 24%; font-weight: 400; background: var(--background-fill-secondary); }
.prose table.fraga-dtable thead th.fraga-dq { font-weight: 600; }
.fraga-dnum { font-weight: 700; margin-right: 0.2rem; }
.fraga-dcount { display: block; font-weight: 400; font-size: 0.82rem; color: var(--body-text-color-subdued); }
details.fraga-dcell > summary { cursor: pointer; list-style: none; }
details.fraga-dcell > summary::-webkit-details-marker { display: none; }
.fraga-dmore { display: block; margin-top: 0.25rem; color: var(--color-accent); font-size: 0.85rem; }
.fraga-dmore::before { content: "▸ "; }
details.fraga-dcell[open] .fraga-dmore::before { content: "▾ "; }
details.fraga-dcell[open] .fraga-dexcerpt, details.fraga-dcell[open] .fraga-dshow, .fraga-dhide { display: none; }
details.fraga-dcell[open] .fraga-dhide { display: inline; }
.fraga-dexcerpt { display: block; line-height: 1.45; }
.fraga-dfull { border-left: 3px solid var(--color-accent); padding-left: 0.6rem; margin-top: 0.2rem; }
.fraga-dfull p { margin: 0.25rem 0 0.4rem 0; line-height: 1.5; }
.fraga-dasked { font-size: 0.85rem; margin: 0.3rem 0; opacity: 0.8; }
.fraga-dcite { font-size: 0.85rem; margin-top: 0.35rem; padding-top: 0.3rem;
  border-top: 1px dashed var(--border-color-primary); overflow-wrap: anywhere; }
.fraga-badge { display: inline-block; font-size: 0.75rem; font-weight: 600; border-radius: 999px;
  padding: 0 0.5rem; margin-bottom: 0.2rem; }
.fraga-badge-same { background: #dcfce7; color: #166534; border: 1px solid #86efac; }
.fraga-badge-related { background: #fef3c7; color: #92400e; border: 1px solid #fcd34d; }
.fraga-dnone { color: var(--body-text-color-subdued); font-style: italic; }
td.fraga-dempty { background: var(--background-fill-secondary); }
#fraga-draft-downloads { justify-content: flex-start; gap: 0.6rem; }
#fraga-draft-downloads > * { flex: 0 0 auto !important; min-width: 0 !important; width: auto !important; }
"""


# Rendering ---------------------------------------------------------------------
def _cell_html(cell: Cell) -> str:
    """One table cell: "inget tidigare svar hittat", or an expandable quote with its full citation."""
    c = cell.citation
    if c is None:
        return f'<td class="fraga-dempty"><span class="fraga-dnone">{esc(NOT_FOUND)}</span></td>'
    if cell.status == SAME:
        badge = '<span class="fraga-badge fraga-badge-same">Samma fråga</span>'
        asked = f"Ställd som: \u201d{cell.earlier_question}\u201d" if cell.earlier_question else ""
    else:
        badge = '<span class="fraga-badge fraga-badge-related">Närliggande svar</span>'
        asked = (
            f"Svar på frågan: \u201d{cell.earlier_question}\u201d"
            if cell.earlier_question
            else "Ingen direkt motsvarighet till frågan; avsnittet ligger närmast."
        )
    paras = "".join(f"<p>{esc(p)}</p>" for p in c.quote.split("\n\n") if p.strip())
    ref = citation_ref(c, f"Källa {c.n}: {c.district} – öppna dokumentet med citatet markerat")
    show = source_link(c.doc_id, "Visa i dokumentet", chunk_id=c.chunk_id, start=c.start, end=c.end)
    return (
        f'<td><details class="fraga-dcell" data-n="{c.n}"><summary>{badge}'
        f'<span class="fraga-dexcerpt">{esc(cell.excerpt)}</span>'
        f'<span class="fraga-dmore"><span class="fraga-dshow">Hela svaret och källan</span>'
        f'<span class="fraga-dhide">Dölj hela svaret</span></span></summary>'
        f'<div class="fraga-dfull">{paras}</div>'
        f'<div class="fraga-dasked">{esc(asked)}</div>'
        f'<div class="fraga-dcite">{ref} {esc(citation_line(c, numbered=False))}</div>'
        f'<div class="fraga-card-foot">{show}</div></details></td>'
    )


def table_html(prep: Preparation) -> str:
    """The questions as rows, the districts as columns, one expandable cell per pair."""
    if not prep.districts:
        return notice("Indexet har inga tidigare svar (tjänsteutlåtanden med stadsdel) att jämföra med.")
    head = ['<th class="fraga-dq" scope="col">Fråga</th>']
    for district in prep.districts:
        found = sum(1 for c in prep.cells if c.district == district and c.found)
        head.append(
            f'<th scope="col">{esc(district)}<span class="fraga-dcount">svar på {found} av '
            f"{len(prep.questions)} frågor</span></th>"
        )
    rows = []
    for q in prep.questions:
        cells = "".join(_cell_html(prep.cell(q.n, d)) for d in prep.districts)
        rows.append(
            f'<tr data-q="{q.n}"><th class="fraga-dq" scope="row"><span class="fraga-dnum">{q.n}.</span>'
            f"{esc(q.text)}</th>{cells}</tr>"
        )
    return (
        f'<div class="fraga-dwrap"><table class="fraga-dtable"><thead><tr>{"".join(head)}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


def summary_html(prep: Preparation, note: str = "") -> str:
    """What was read: the skrivelse's title and district, the counts and the numbered questions."""
    found = sum(c.found for c in prep.cells)
    mode = MODE_NAMES.get(prep.mode, prep.mode)
    lines = []
    if prep.title:
        lines.append(f"<div><b>Skrivelse:</b> {esc(prep.title)}</div>")
    if prep.district:
        missing = "" if prep.district in prep.districts else " (indexet har inga tidigare svar därifrån)"
        lines.append(f"<div><b>Ställd till:</b> {esc(prep.district + missing)}</div>")
    notes = [note] if note else []
    if prep.excluded:
        notes.append(f"Skrivelsen finns själv i indexet och räknas inte som ett tidigare svar ({', '.join(prep.excluded)}).")
    summary = f"{counts(prep)} · {found} av {len(prep.cells)} rutor har ett tidigare svar · sökmetod: {mode}"
    items = "".join(f'<li value="{q.n}">{esc(q.text)}</li>' for q in prep.questions)
    return (
        f'<div class="fraga-dhead">{"".join(lines)}'
        + "".join(f'<div class="fraga-note">{esc(n)}</div>' for n in notes)
        + f'<div class="fraga-summary">{esc(summary)}</div>'
        f'<div class="fraga-sources-title">Frågor i skrivelsen ({len(prep.questions)})</div>'
        f'<ol class="fraga-dquestions">{items}</ol>'
        '<div class="fraga-note">Citaten är ordagranna ur dokumenten; kontrollera dem mot källan innan '
        "de används.</div></div>"
    )


def file_stem(name: str, fallback: str = "skrivelse") -> str:
    """A safe ASCII file name stem from ``name`` ("Hägersten-Älvsjö skrivelse" -> "hagersten-alvsjo-skrivelse")."""
    stem = re.sub(r"[^a-z0-9]+", "-", fold(name or ""))[:60].strip("-")
    return stem or fallback


# Handlers ----------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class DraftResult:
    """What one click of the button shows: HTML for the head and the table, and the written files."""

    summary: str
    table: str
    docx: Path | None = None
    markdown: Path | None = None
    preparation: Preparation | None = None


class DraftingHandlers:
    """Reads the skrivelse, prepares the table and writes the downloads. No Gradio needed.

    Args:
        service: The app's service (its retriever is used).
        folder: Where the downloads of each request go. Defaults to a new temporary folder.
    """

    def __init__(self, service: Service, folder: str | Path | None = None) -> None:
        self.service = service
        self._folder = Path(folder) if folder else None
        self._lock = threading.Lock()

    def _request_folder(self) -> Path:
        with self._lock:
            if self._folder is None:
                self._folder = Path(tempfile.mkdtemp(prefix="fraga-forbered-"))
            self._folder.mkdir(parents=True, exist_ok=True)
            cutoff = time.time() - KEEP_SECONDS
            for old in self._folder.iterdir():
                try:
                    if old.is_dir() and old.stat().st_mtime < cutoff:
                        shutil.rmtree(old, ignore_errors=True)
                except OSError:
                    pass
        return Path(tempfile.mkdtemp(prefix="req-", dir=self._folder))

    @staticmethod
    def read_input(text: str | None, upload: str | Path | None) -> tuple[str, str, str]:
        """(skrivelse text, name for titles and files, note) from the upload, else the pasted text.

        Raises:
            FragaError: Nothing given, a pasted text too long, or a file that cannot be read.
        """
        if upload:
            path = Path(upload)
            try:
                data = path.read_bytes()
            except OSError as exc:
                raise FragaError(f"Filen {path.name} kunde inte läsas; ladda upp den igen.") from exc
            try:
                body = read_upload(path.name, data)
            except FragaError as exc:
                raise FragaError(f"Filen kunde inte läsas – {exc}") from exc
            except Exception as exc:  # a damaged upload can make any parser fail
                logger.warning("could not read upload %s: %s", path.name, exc)
                raise FragaError(
                    f"Filen kunde inte läsas – {path.name} verkar vara trasig. Spara skrivelsen "
                    "som .docx, .pdf eller .txt och försök igen."
                ) from exc
            note = f"Läste {path.name} ({len(body):,} tecken).".replace(",", "\u00a0")
            if (text or "").strip():
                note += " Den inklistrade texten används inte när en fil är vald; ta bort filen för att använda den."
            return body, path.stem, note
        body = (text or "").strip()
        if not body:
            raise FragaError(EMPTY_MESSAGE)
        if len(body) > MAX_TEXT_CHARS:
            raise FragaError(
                f"Texten har {len(body):,} tecken; gränsen är {MAX_TEXT_CHARS:,}. Klistra bara in skrivelsen.".replace(
                    ",", "\u00a0"
                )
            )
        return body, "", ""

    def prepare(self, text: str | None, upload: str | Path | None, mode: str = "hybrid") -> DraftResult:
        """The page's content for a skrivelse; a FragaError becomes a message, never an exception."""
        mode = mode if mode in MODES else "hybrid"
        try:
            body, name, note = self.read_input(text, upload)
            prep = self.service.fraga.prepare(body, mode=mode)
        except FragaError as exc:
            return DraftResult(notice(str(exc), kind="error"), PLACEHOLDER_HTML)
        stem = "underlag-" + file_stem(name or prep.title)
        docx_path = md_path = None
        try:
            folder = self._request_folder()
            docx_path, md_path = folder / f"{stem}.docx", folder / f"{stem}.md"
            to_docx(prep, docx_path)
            md_path.write_text(to_markdown(prep), encoding="utf-8")
        except (OSError, FragaError) as exc:
            logger.warning("could not write the downloads: %s", exc)
            note = (note + " " if note else "") + "Filerna för nedladdning kunde inte skrivas."
            docx_path = md_path = None
        return DraftResult(summary_html(prep, note), table_html(prep), docx_path, md_path, prep)

    def run(self, text: str | None, upload: str | None, mode: str) -> tuple[str, str, Any, Any]:
        """The Gradio event: summary, table and the two download buttons."""
        import gradio as gr

        result = self.prepare(text, upload, mode)

        def button(path: Path | None) -> Any:
            return gr.update(value=str(path), visible=True) if path else gr.update(value=None, visible=False)

        return result.summary, result.table, button(result.docx), button(result.markdown)


# Components --------------------------------------------------------------------
@dataclass
class DraftingTab:
    """The tab's components; ``table`` carries source links (wire its clicks like the other panels)."""

    handlers: DraftingHandlers
    text: gr.Textbox
    upload: gr.File
    button: gr.Button
    summary: gr.HTML
    table: gr.HTML
    docx: gr.DownloadButton
    markdown: gr.DownloadButton

    def wire(self, mode: gr.components.Component) -> None:
        """Connect the button to the handler; ``mode`` is the settings panel's retrieval mode."""
        self.button.click(
            self.handlers.run,
            inputs=[self.text, self.upload, mode],
            outputs=[self.summary, self.table, self.docx, self.markdown],
            show_progress="minimal",
            concurrency_id="forbered",
            concurrency_limit=2,
            api_name="forbered",
        )


def build(service: Service, *, click_js: str) -> DraftingTab:
    """The tab's components; call inside ``with gr.Tab(...)`` and then ``wire(mode)``.

    The upload takes any file (no ``file_types``): Gradio would refuse other types with
    its own English message, while ``read_upload`` explains in Swedish what to do.

    Args:
        service: The app's service.
        click_js: The page's click script for HTML with source links (``assets.CLICK_JS``).
    """
    import gradio as gr

    handlers = DraftingHandlers(service)
    gr.HTML(INTRO, js_on_load=None)
    with gr.Row(equal_height=True):
        text = gr.Textbox(
            label="Skrivelsens text", placeholder=PLACEHOLDER, lines=9, max_lines=18, scale=3, elem_id="fraga-draft-text"
        )
        upload = gr.File(
            label="… eller ladda upp skrivelsen (txt, md, pdf, docx)", type="filepath", scale=2, elem_id="fraga-draft-file"
        )
    button = gr.Button(BUTTON_LABEL, variant="primary", elem_id="fraga-draft-run")
    summary = gr.HTML("", js_on_load=None, elem_id="fraga-draft-summary")
    with gr.Row(elem_id="fraga-draft-downloads"):
        docx = gr.DownloadButton(
            "Ladda ner Word (.docx)", visible=False, size="md", variant="primary", elem_id="fraga-draft-docx"
        )
        markdown = gr.DownloadButton("Ladda ner Markdown (.md)", visible=False, size="md", elem_id="fraga-draft-md")
    table = gr.HTML(PLACEHOLDER_HTML, js_on_load=click_js, elem_id="fraga-draft-table")
    return DraftingTab(handlers, text, upload, button, summary, table, docx, markdown)
