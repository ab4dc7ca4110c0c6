"""The v1 API's resources: their parameter models, handlers and renderings."""
