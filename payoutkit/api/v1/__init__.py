"""The v1 resources: parameter models, handlers and renderers, one module per resource."""
