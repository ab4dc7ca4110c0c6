"""The v1 API: parameter models, handlers and renderers, one module per resource."""
