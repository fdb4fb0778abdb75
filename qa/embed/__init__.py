"""Sentence embeddings: the interface, the torch and ONNX backends, and the factory."""
