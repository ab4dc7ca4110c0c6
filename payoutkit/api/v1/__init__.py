"""The v1 API: one module per resource, with its parameter models, handlers and renderers."""
