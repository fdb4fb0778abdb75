"""What people and programs use: the view model and its renderer, the CLI, the HTTP server and
its guard, the Gradio chat and admin pages, the widget and styles (``static/``)."""
