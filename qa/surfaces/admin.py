"""The admin pages, mounted at ``/admin`` behind the admin key (``qa.surfaces.guard``): what runs
work on this server or stores files on it, kept out of the public chat and out of embeds."""

from __future__ import annotations

from qa.ingest.library import MAX_UPLOAD_FILE_BYTES, MAX_UPLOAD_REQUEST_BYTES
from qa.surfaces.access import Access
from qa.surfaces.access_tab import access_tab
from qa.surfaces.documents_tab import documents_tab
from qa.surfaces.eval_tab import evaluate_tab

__all__ = ["MAX_UPLOAD_FILE_BYTES", "MAX_UPLOAD_REQUEST_BYTES", "create_admin"]


#: Two of Gradio's own markup faults that axe counts as serious, mended in the page as Gradio draws
#: it: the upload box is a button named "Click to upload or drop files" that shows "Drop File Here
#: - or - Click to Upload" (label-content-name-mismatch: someone using speech input says what they
#: see), so it is named by what it shows; an empty output's placeholder is a <div> with an
#: aria-label and no role (aria-prohibited-attr), so it gets role="img" (it is an icon).
ADMIN_A11Y_JS = """() => {
  const mend = () => {
    document.querySelectorAll("button.upload-container[aria-label]").forEach(b => {
      const shown = b.textContent.replace(/\\s+/g, " ").trim();
      if (shown && b.getAttribute("aria-label") !== shown) b.setAttribute("aria-label", shown);
    });
    document.querySelectorAll("div.empty[aria-label]:not([role])").forEach(d => d.setAttribute("role", "img"));
  };
  mend();
  new MutationObserver(mend).observe(document.body, {childList: true, subtree: true});
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
        admin.load(None, js=ADMIN_A11Y_JS)
    return admin
