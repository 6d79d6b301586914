"""The page's CSS and the small scripts of its HTML components (kept as strings: no package data)."""

from __future__ import annotations

# Gradio picks its own labels ("Loading…", "Error") from the browser language; the
# app is Swedish whatever the browser says.
HEAD = """<script>
try {
  Object.defineProperty(navigator, "language", {get: () => "sv-SE"});
  Object.defineProperty(navigator, "languages", {get: () => ["sv-SE", "sv"]});
} catch (e) {}
</script>"""
# (The page itself is served as <html lang="sv">: see lang.py.)

# Secondary text uses the subdued colour, never opacity (which axe cannot always judge and which
# fades further on tinted backgrounds). Theme colours with enough contrast (WCAG AA, 4.5:1) for
# small text: Gradio's defaults give subdued text #bbbbc2 on white (1.9:1) and white on
# blue-500 buttons (3.7:1).
THEME_COLORS = {
    "body_text_color_subdued": "*neutral_600",
    "body_text_color_subdued_dark": "*neutral_300",
    "color_accent": "*primary_700",
    "color_accent_soft": "*primary_50",
    "button_primary_background_fill": "*primary_700",
    "button_primary_background_fill_hover": "*primary_800",
    "button_primary_background_fill_dark": "*primary_700",
    "button_primary_background_fill_hover_dark": "*primary_800",
    "input_placeholder_color": "*neutral_500",
}

# For the page, run once when it loads: arrow keys, Home and End move between tabs (the WAI-ARIA
# tabs pattern); Enter in the question box makes it read-only at once (see LOCK_JS); Gradio's
# "More tabs" button gets a Swedish name.
PAGE_JS = r"""
() => {
  // Enter sends the question; until the box is disabled for the pending answer (a moment later,
  // once Gradio has run LOCK_JS) nothing typed may replace the question being sent.
  let sent = 0;
  document.addEventListener("keydown", (event) => {
    const box = event.target;
    if (event.key !== "Enter" || event.shiftKey || event.isComposing || !box.matches
        || !box.matches("#fraga-question textarea") || !box.value.trim()) return;
    box.readOnly = true;
    const mine = ++sent;
    setTimeout(() => { if (mine === sent && !box.disabled) box.readOnly = false; }, 3000);  // never locked
  }, true);
  new MutationObserver((changes) => {
    for (const change of changes) {
      const box = change.target;
      if (box.matches("#fraga-question textarea") && !box.disabled) box.readOnly = false;
    }
  }).observe(document.body, {attributes: true, attributeFilter: ["disabled"], subtree: true});

  document.addEventListener("keydown", (event) => {
    const tab = event.target.closest && event.target.closest('[role="tab"]');
    if (!tab || !["ArrowRight", "ArrowLeft", "Home", "End"].includes(event.key)) return;
    const list = tab.closest('[role="tablist"]');
    if (!list) return;
    const tabs = [...list.querySelectorAll('[role="tab"]')].filter((t) => !t.disabled && t.offsetParent !== null);
    const i = tabs.indexOf(tab);
    if (i < 0 || !tabs.length) return;
    const next = event.key === "Home" ? 0 : event.key === "End" ? tabs.length - 1
      : (i + (event.key === "ArrowRight" ? 1 : -1) + tabs.length) % tabs.length;
    event.preventDefault();
    event.stopPropagation();
    tabs[next].click();
    tabs[next].focus();
  }, true);
  // Gradio's own button for the tabs that do not fit (on phones) is labelled in English.
  const relabel = () => document.querySelectorAll('button[aria-label="More tabs"]').forEach(
    (b) => b.setAttribute("aria-label", "Fler flikar"));
  relabel();
  new MutationObserver(relabel).observe(document.body, {childList: true, subtree: true});
  document.documentElement.dataset.fragaReady = "1";
}
"""

# For the chat: a polite live region announces each new reply to screen readers.
LIVE_JS = r"""
let live = document.getElementById("fraga-live");
if (!live) {
  live = document.createElement("div");
  live.id = "fraga-live";
  live.className = "fraga-sr-only";
  live.setAttribute("role", "status");
  live.setAttribute("aria-live", "polite");
  live.setAttribute("aria-atomic", "true");
  document.body.appendChild(live);
}
const announce = () => {
  const turns = element.querySelectorAll(".fraga-turn");
  const reply = turns.length ? turns[turns.length - 1].querySelector(".fraga-a") : null;
  const body = reply ? (reply.querySelector(".fraga-answer") || reply.querySelector("p")) : null;
  const text = body ? body.textContent.replace(/\s+/g, " ").trim() : "";
  live.textContent = "";
  if (text) setTimeout(() => { live.textContent = "Svar från fraga: " + text; }, 100);
};
watch("value", () => setTimeout(announce, 50));
"""

# The instant a question is sent, its box, "Fråga" and the examples are disabled in the page
# itself (the server's matching update follows a round trip later): text typed or a key
# pressed in between could otherwise replace the question being sent, or be sent empty.
LOCK_JS = r"""
(...inputs) => {
  const question = inputs.length ? inputs[0] : "x";
  if (typeof question === "string" && question.trim()) {
    for (const el of document.querySelectorAll("#fraga-question textarea, #fraga-ask, #fraga-examples button")) {
      el.disabled = true;
    }
  }
  return inputs;
}
"""

# After an answer: focus goes back to the question box unless the user has moved it elsewhere
# (the box was disabled while the answer was pending, which drops focus to the page).
FOCUS_QUESTION_JS = r"""
() => {
  const active = document.activeElement;
  if (active && active !== document.body && !active.disabled) return;
  const box = document.querySelector("#fraga-question textarea");
  if (box) box.focus();
}
"""

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
    if (!copy.dataset.label) copy.dataset.label = copy.textContent;
    const ok = await copyText(box ? box.value : "");
    copy.textContent = ok ? "Kopierat!" : "Kunde inte kopiera; markera texten och kopiera själv";
    copy.classList.add("fraga-done");
    setTimeout(() => { copy.textContent = copy.dataset.label; copy.classList.remove("fraga-done"); }, 2500);
    return;
  }
  const link = event.target.closest("[data-doc]");
  if (link && element.contains(link)) {
    event.preventDefault();
    // Remembered so that the source view can offer a way back to this very link.
    const tab = document.querySelector('[role="tab"][aria-selected="true"]');
    window.fragaReturnTo = {link, tab, label: tab ? tab.textContent.trim() : ""};
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
// Opened from a link: focus moves to the cited place, and "Tillbaka" returns it to the link.
const focusCited = () => {
  const target = element.querySelector("#fraga-cited") || element.querySelector(".fraga-cited-passage");
  const from = window.fragaReturnTo;
  const head = element.querySelector(".fraga-source");
  if (head && from && from.tab && from.link && !element.querySelector(".fraga-back")) {
    const back = document.createElement("button");
    back.type = "button";
    back.className = "fraga-back";
    back.textContent = "← Tillbaka till " + (from.label || "föregående flik");
    back.addEventListener("click", () => {
      from.tab.click();
      setTimeout(() => {
        if (from.link.isConnected) { from.link.focus(); from.link.scrollIntoView({block: "center"}); }
      }, 150);
    });
    head.prepend(back);
  }
  if (target) {
    target.setAttribute("tabindex", "-1");
    target.focus({preventScroll: true});
  }
};
// The component mounts when its tab is first shown (then the value is already there), and
// later documents arrive as new values.
setTimeout(() => { go(); focusCited(); }, 150);
watch("value", () => { setTimeout(go, 100); setTimeout(() => { go(); focusCited(); }, 500); });
"""

CSS = r"""
.gradio-container { max-width: 1180px !important; width: 100% !important; margin: 0 auto !important; }
#fraga-header h1 { font-size: 1.6rem; margin: 0.2rem 0 0.1rem 0; }
#fraga-header p { margin: 0 0 0.4rem 0; color: var(--body-text-color-subdued); }
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
.fraga-context { font-size: 0.9rem; color: var(--body-text-color-subdued); margin-bottom: 0.3rem; }
.fraga-sources-title { font-weight: 600; margin: 0.6rem 0 0.3rem 0; }
.fraga-card { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 0.5rem 0.7rem;
  margin: 0.4rem 0; background: var(--background-fill-primary); }
.fraga-card-head { font-size: 0.98rem; }
.fraga-meta, .fraga-section { font-size: 0.85rem; color: var(--body-text-color-subdued); }
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
.fraga-note { font-size: 0.9rem; color: var(--body-text-color-subdued); margin: 0.2rem 0; }
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
.fraga-col h2 { margin: 0.1rem 0 0.3rem 0; font-size: 1.1rem; }
.fraga-status h2.fraga-h { font-size: 1.15rem; margin: 1rem 0 0.4rem 0; }
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
.fraga-qbadge { display: inline-block; font-size: 0.75rem; font-weight: 600; border-radius: 999px; padding: 0 0.5rem;
  margin-right: 0.3rem; background: #ede9fe; color: #4c1d95; border: 1px solid #c4b5fd; }
.fraga-sr-only { position: absolute !important; width: 1px; height: 1px; padding: 0; margin: -1px; overflow: hidden;
  clip: rect(0, 0, 0, 0); white-space: nowrap; border: 0; }
button.fraga-back { border: 1px solid var(--border-color-primary); border-radius: 6px; padding: 0.2rem 0.7rem;
  background: var(--background-fill-primary); cursor: pointer; font-size: 0.9rem; margin-bottom: 0.4rem; }
#fraga-examples { align-items: center; justify-content: flex-start; flex-wrap: wrap; gap: 0.5rem; }
#fraga-examples > * { flex: 0 0 auto !important; min-width: 0 !important; width: auto !important; }
#fraga-examples button { font-size: 0.88rem; white-space: nowrap; }

/* Phones: a compact header, example buttons that wrap, and the "Förbered svar" table scrolled
   sideways with a minimum column width (the question column stays in view). */
@media (max-width: 700px) {
  .gradio-container { padding-left: 0.5rem !important; padding-right: 0.5rem !important; }
  #fraga-header h1 { font-size: 1.05rem; line-height: 1.3; margin: 0; }
  #fraga-header p { font-size: 0.8rem; line-height: 1.3; margin: 0.1rem 0 0.2rem 0; }
  #fraga-examples button { white-space: normal; text-align: left; }
  .fraga-dwrap { overflow-x: auto; -webkit-overflow-scrolling: touch; }
  #fraga-draft-table .prose table.fraga-dtable { table-layout: auto; width: max-content; max-width: none; }
  #fraga-draft-table .prose table.fraga-dtable th, #fraga-draft-table .prose table.fraga-dtable td { min-width: 13rem;
    max-width: 16rem; width: 15rem; }
  #fraga-draft-table .prose table.fraga-dtable th.fraga-dq { min-width: 9rem; max-width: 10rem; width: 10rem;
    position: sticky; left: 0; z-index: 1; }
}
"""
