"""Commands run against the app, beside function_app.py: `python -m commands.reindex` (stored
calls to this release's layout, with the app's settings) and `python -m commands.openapi_document`
(the served OpenAPI document, for `make lint`).

Like function_app.py they stand at the top: they may import the composition root; nothing of the
app imports them (pyproject's import contracts). Deployed with the app, so reindex can run
wherever the app's settings are.
"""
