"""The admin pages, mounted at ``/admin`` behind the admin key (``qa.surfaces.guard``): what runs
work on this server or stores files on it, kept out of the public chat and out of embeds."""

from __future__ import annotations

from qa.ingest.library import MAX_UPLOAD_FILE_BYTES, MAX_UPLOAD_REQUEST_BYTES
from qa.surfaces.access import Access
from qa.surfaces.access_tab import access_tab
from qa.surfaces.documents_tab import documents_tab
from qa.surfaces.eval_tab import evaluate_tab

__all__ = ["MAX_UPLOAD_FILE_BYTES", "MAX_UPLOAD_REQUEST_BYTES", "create_admin"]


#: Gradio's upload box is a button named "Click to upload or drop files" that shows "Drop File
#: Here - or - Click to Upload" (axe: label-content-name-mismatch; someone using speech input says
#: what they see). Name it by what it shows, each box Gradio draws later included.
UPLOAD_NAME_JS = """() => {
  const name = () => document.querySelectorAll("button.upload-container[aria-label]").forEach(b => {
    const shown = b.textContent.replace(/\\s+/g, " ").trim();
    if (shown && b.getAttribute("aria-label") !== shown) b.setAttribute("aria-label", shown);
  });
  name();
  new MutationObserver(name).observe(document.body, {childList: true, subtree: true});
}"""


def create_admin(qa, access: Access | None = None):
    import gradio as gr

    access = access or Access(qa.settings.access_file or None)
    # delete_cache: uploaded files and written reports are removed an hour after use
    with gr.Blocks(title="Corpus QA admin", delete_cache=(600, 3600)) as admin:
        gr.Markdown("## Corpus QA admin")
        with gr.Tab("Documents"):
            on_load, outputs = documents_tab(qa)
        with gr.Tab("Evaluate"):
            evaluate_tab(qa)
        with gr.Tab("Access"):
            on_access, access_outputs = access_tab(qa, access)
        admin.load(on_load, outputs=outputs)
        if on_access is not None:
            admin.load(on_access, outputs=access_outputs)
        admin.load(None, js=UPLOAD_NAME_JS)
    return admin
