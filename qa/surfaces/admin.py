"""The admin pages, mounted at ``/admin`` behind the admin key (``qa.surfaces.guard``): what runs
work on this server or stores files on it, kept out of the public chat and out of embeds."""

from __future__ import annotations

from qa.ingest.library import MAX_UPLOAD_FILE_BYTES, MAX_UPLOAD_REQUEST_BYTES
from qa.surfaces.access import Access
from qa.surfaces.access_tab import access_tab
from qa.surfaces.documents_tab import documents_tab
from qa.surfaces.eval_tab import evaluate_tab

__all__ = ["MAX_UPLOAD_FILE_BYTES", "MAX_UPLOAD_REQUEST_BYTES", "create_admin"]


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
    return admin
