"""Gradio entry point: `python app.py` (same as `qa serve`). Host/port from QA_HOST/QA_PORT."""

from qa.core.config import load_settings
from qa.surfaces.server import serve

if __name__ == "__main__":
    serve(load_settings(), on_stage=print)
