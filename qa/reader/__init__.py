"""The extractive reader: trained here from the packaged MiniLM (``train``, ``examples``, ``squad``),
exported to int8 ONNX (``export``) and served with ONNX Runtime (``onnx_reader``); ``encoding`` is
shared by both sides."""
