"""The admin page's Access tab: which key sees which collections (the access file,
qa/surfaces/access.py). A new key is shown once; the file keeps only its hash."""

from __future__ import annotations

from qa.core.errors import QAError
from qa.surfaces.access import Access

COLUMNS = ["Name", "Collections", "Key hash (start)"]


def access_tab(qa, access: Access):
    """Builds the tab; returns (on_load, outputs) for the admin page's load event."""
    import gradio as gr

    def collections() -> list[str]:
        try:
            return list(qa.index.collections)
        except QAError:
            return []

    def table():
        try:
            return [[r["name"], ", ".join(r["collections"]), r["key"]] for r in access.rows()]
        except QAError as e:
            return [[str(e), "", ""]]

    def on_load():
        return table(), gr.update(choices=collections())

    def on_add(name, chosen):
        try:
            key = access.add(name, list(chosen or []))
        except (QAError, OSError) as e:
            return table(), "", f"Not created: {e}"
        return table(), key, "Created. Copy the key now: it is not stored and cannot be shown again."

    def on_revoke(prefix):
        try:
            gone = access.remove(prefix)
        except (QAError, OSError) as e:
            return table(), f"Not revoked: {e}"
        return table(), f"Revoked {gone} key(s)." if gone else "No key has a hash starting with that."

    if not access.enabled:
        gr.Markdown("Access keys are off: everyone who can open the chat sees every document. To give each "
                    "team its own collections (the corpus's top-level folders), set `access_file` "
                    "(`QA_ACCESS_FILE=/path/access.json`) and restart; then make keys here.")
        return None, []
    gr.Markdown(f"Keys and the collections they see (the corpus's top-level folders; `.` is the files at the "
                f"top). The file is `{access.path}`. A key opens the chat as `/?key=KEY`, the API and the widget "
                "with `Authorization: Bearer KEY`.")
    keys = gr.Dataframe(headers=COLUMNS, label="Keys", interactive=False, wrap=True)
    with gr.Row():
        name = gr.Textbox(label="Name (who holds the key)", max_length=100)
        chosen = gr.CheckboxGroup(label="Collections", choices=[])
        create = gr.Button("Create key", variant="primary", scale=0)
    new_key = gr.Textbox(label="New key", interactive=False, buttons=["copy"])
    with gr.Row():
        prefix = gr.Textbox(label="Revoke the key whose hash starts with", max_length=64)
        revoke = gr.Button("Revoke", variant="stop", scale=0)
    said = gr.Markdown()
    create.click(on_add, [name, chosen], [keys, new_key, said], api_visibility="private")
    revoke.click(on_revoke, [prefix], [keys, said], api_visibility="private")
    return on_load, [keys, chosen]
