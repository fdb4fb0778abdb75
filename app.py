"""Gradio entry point: `python app.py` (same as `qa serve`). Host/port from QA_HOST/QA_PORT."""

from qa.config import load_settings
from qa.web import serve

if __name__ == "__main__":
    serve(load_settings(), on_stage=print)
