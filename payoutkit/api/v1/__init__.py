"""The v1 API: one module per resource, its parameter models, handlers and render functions."""
