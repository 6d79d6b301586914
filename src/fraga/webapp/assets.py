"""The page's CSS and the small scripts of its HTML components (kept as strings: no package data)."""
from __future__ import annotations

# Gradio picks its own labels ("Loading…", "Error") from the browser language; the
# app is Swedish whatever the browser says.
HEAD = """<script>
try {
  Object.defineProperty(navigator, "language", {get: () => "sv-SE"});
  Object.defineProperty(navigator, "languages", {get: () => ["sv-SE", "sv"]});
} catch (e) {}
document.documentElement.lang = "sv";
</script>"""

# For HTML components with source links and copy buttons: a click on an element with
# data-doc opens the document (Python receives the data); "Kopiera" copies the plain text.
CLICK_JS = r"""
const copyText = async (text) => {
  try { await navigator.clipboard.writeText(text); return true; } catch (e) {}
  const ta = document.createElement("textarea");
  ta.value = text; ta.setAttribute("readonly", ""); ta.style.position = "fixed"; ta.style.opacity = "0";
  document.body.appendChild(ta); ta.select();
  let ok = false; try { ok = document.execCommand("copy"); } catch (e) {}
  ta.remove(); return ok;
};
element.addEventListener("click", async (event) => {
  const copy = event.target.closest(".fraga-copy");
  if (copy && element.contains(copy)) {
    const box = copy.closest(".fraga-a").querySelector(".fraga-copy-text");
    const ok = await copyText(box ? box.value : "");
    copy.textContent = ok ? "Kopierat!" : "Kunde inte kopiera; markera texten och kopiera själv";
    copy.classList.add("fraga-done");
    setTimeout(() => { copy.textContent = "Kopiera svar med källor"; copy.classList.remove("fraga-done"); }, 2500);
    return;
  }
  const link = event.target.closest("[data-doc]");
  if (link && element.contains(link)) {
    event.preventDefault();
    trigger("click", {doc: link.dataset.doc || "", chunk: link.dataset.chunk || "",
                      start: link.dataset.start || "", end: link.dataset.end || ""});
  }
});
"""

# For the source view: bring the cited place into view whenever a document is shown.
SCROLL_JS = r"""
const go = () => {
  const target = element.querySelector("#fraga-cited") || element.querySelector(".fraga-cited-passage");
  const box = element.querySelector(".fraga-doctext");
  if (!target || !box || !target.getClientRects().length) return;
  const t = target.getBoundingClientRect(), b = box.getBoundingClientRect();
  box.scrollTop += (t.top - b.top) - Math.max(0, (box.clientHeight - t.height) / 2);
  box.scrollIntoView({block: "nearest"});
};
setTimeout(go, 150);
watch("value", () => { setTimeout(go, 100); setTimeout(go, 500); });
"""

CSS = r"""
.gradio-container { max-width: 1180px !important; width: 100% !important; margin: 0 auto !important; }
#fraga-header h1 { font-size: 1.6rem; margin: 0.2rem 0 0.1rem 0; }
#fraga-header p { margin: 0 0 0.4rem 0; color: var(--body-text-color); opacity: 0.75; }
.fraga-welcome { padding: 1rem 1.2rem; border: 1px dashed var(--border-color-primary); border-radius: 10px;
  color: var(--body-text-color-subdued); }
.fraga-welcome p { margin: 0.3rem 0; }
.fraga-chat { display: flex; flex-direction: column; gap: 1.1rem; }
.fraga-turn { display: flex; flex-direction: column; gap: 0.5rem; }
.fraga-who { font-size: 0.8rem; font-weight: 600; color: var(--body-text-color-subdued); margin-bottom: 0.2rem; }
.fraga-q { align-self: flex-end; max-width: 80%; background: var(--color-accent-soft); border-radius: 12px;
  padding: 0.5rem 0.9rem; }
.fraga-q p { margin: 0; white-space: pre-wrap; overflow-wrap: anywhere; }
.fraga-a { background: var(--background-fill-secondary); border: 1px solid var(--border-color-primary);
  border-radius: 12px; padding: 0.7rem 1rem; }
.fraga-answer p { margin: 0.2rem 0 0.4rem 0; font-size: 1.05rem; line-height: 1.55; }
.fraga-noanswer .fraga-answer p { font-weight: 600; }
.fraga-error { border-color: #d97706; background: #fffbeb; color: #78350f; }
.fraga-error p { margin: 0; }
.fraga-context { font-size: 0.9rem; color: var(--body-text-color); opacity: 0.8; margin-bottom: 0.3rem; }
.fraga-sources-title { font-weight: 600; margin: 0.6rem 0 0.3rem 0; }
.fraga-card { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 0.5rem 0.7rem;
  margin: 0.4rem 0; background: var(--background-fill-primary); }
.fraga-card-head { font-size: 0.98rem; }
.fraga-meta, .fraga-section { font-size: 0.85rem; color: var(--body-text-color); opacity: 0.72; }
.fraga-passage { white-space: pre-line; line-height: 1.5; margin-top: 0.35rem; overflow-wrap: anywhere; }
.fraga-quote { font-weight: 600; }
.fraga-card-foot { margin-top: 0.35rem; }
.fraga-passage mark, .fraga-snippet mark, .fraga-doctext mark { background: #fde68a; color: #1f2937;
  padding: 0 1px; border-radius: 2px; }
button.fraga-ref { border: 1px solid var(--color-accent); color: var(--color-accent); background: transparent;
  border-radius: 6px; padding: 0 0.3rem; font-size: 0.85em; font-weight: 600; cursor: pointer; margin: 0 1px; }
button.fraga-ref:hover { background: var(--color-accent); color: white; }
.prose button.fraga-link, button.fraga-link { border: none; background: none; padding: 0; color: var(--color-accent);
  cursor: pointer; text-decoration: underline; font-size: 0.92rem; font-weight: 400; text-align: left; }
.fraga-actions { margin-top: 0.5rem; }
button.fraga-copy { border: 1px solid var(--border-color-primary); border-radius: 6px; padding: 0.25rem 0.7rem;
  background: var(--background-fill-primary); cursor: pointer; font-size: 0.9rem; }
button.fraga-copy.fraga-done { border-color: #16a34a; color: #166534; }
.fraga-notice { padding: 0.6rem 0.9rem; border-radius: 8px; margin: 0.3rem 0; }
.fraga-notice-info { background: var(--background-fill-secondary); border: 1px solid var(--border-color-primary); }
.fraga-notice-error { background: #fffbeb; border: 1px solid #d97706; color: #78350f; }
.fraga-note { font-size: 0.9rem; color: var(--body-text-color); opacity: 0.75; margin: 0.2rem 0; }
.fraga-summary { font-weight: 600; margin: 0.2rem 0 0.5rem 0; }
details.fraga-doc { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 0.4rem 0.7rem;
  margin: 0.5rem 0; background: var(--background-fill-primary); }
details.fraga-doc > summary { cursor: pointer; display: flex; justify-content: space-between; gap: 1rem; }
.fraga-count { font-size: 0.85rem; color: var(--body-text-color-subdued); white-space: nowrap; }
ol.fraga-hits { list-style: none; padding-left: 0; margin: 0.3rem 0 0 0; }
ol.fraga-hits > li { border-top: 1px solid var(--border-color-primary); padding: 0.35rem 0; }
details.fraga-hit > summary { cursor: pointer; display: flex; gap: 0.6rem; align-items: baseline; }
.fraga-hit-sum { display: flex; flex-direction: column; }
.fraga-snippet { font-size: 0.93rem; }
.fraga-rank { display: inline-block; min-width: 1.6rem; text-align: center; font-weight: 600; font-size: 0.85rem;
  border-radius: 999px; background: var(--background-fill-secondary); border: 1px solid var(--border-color-primary); }
.fraga-compare { display: grid; grid-template-columns: repeat(auto-fit, minmax(250px, 1fr)); gap: 0.8rem; }
.fraga-col { border: 1px solid var(--border-color-primary); border-radius: 10px; padding: 0.5rem 0.7rem;
  background: var(--background-fill-secondary); }
.fraga-col h3 { margin: 0.1rem 0 0.3rem 0; font-size: 1.1rem; }
.fraga-col .fraga-card { margin: 0; }
.fraga-weak { font-size: 0.88rem; color: #92400e; margin: 0.2rem 0; }
.fraga-source h2 { margin: 0.2rem 0 0.5rem 0; font-size: 1.3rem; }
dl.fraga-docmeta { display: grid; grid-template-columns: max-content 1fr; gap: 0.15rem 1rem; margin: 0 0 0.5rem 0; }
dl.fraga-docmeta dt { font-weight: 600; }
dl.fraga-docmeta dd { margin: 0; overflow-wrap: anywhere; }
.fraga-doctext { white-space: pre-wrap; font-family: ui-serif, Georgia, serif; line-height: 1.5; max-height: 70vh;
  overflow-y: auto; border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 1rem 1.2rem;
  background: var(--background-fill-primary); overflow-wrap: anywhere; }
.fraga-cited-passage { box-shadow: -6px 0 0 #f59e0b; background: rgba(253, 230, 138, 0.25);
  -webkit-box-decoration-break: clone; box-decoration-break: clone; }
mark.fraga-cited { background: #fcd34d; color: #111827; font-weight: 600; }
.fraga-page { display: block; text-align: center; font-family: var(--font); font-size: 0.8rem;
  color: var(--body-text-color-subdued); border-top: 1px dashed var(--border-color-primary); margin: 0.6rem 0; }
.fraga-stats { display: flex; gap: 1.5rem; margin: 0.3rem 0 0.7rem 0; font-size: 1.05rem; }
.fraga-stats b { font-size: 1.5rem; }
table.fraga-table { border-collapse: collapse; width: 100%; font-size: 0.92rem; }
.prose table.fraga-table th, .prose table.fraga-table td { border: none;
  border-bottom: 1px solid var(--border-color-primary); padding: 0.3rem 0.5rem; text-align: left; vertical-align: top; }
.prose table.fraga-table th { font-size: 0.9rem; }
.prose table.fraga-table { border: none; }
.prose table.fraga-table td:nth-child(4) { white-space: nowrap; }
#fraga-examples { align-items: center; justify-content: flex-start; flex-wrap: wrap; gap: 0.5rem; }
#fraga-examples > * { flex: 0 0 auto !important; min-width: 0 !important; width: auto !important; }
#fraga-examples button { font-size: 0.88rem; white-space: nowrap; }
"""
