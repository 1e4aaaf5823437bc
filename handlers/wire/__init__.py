"""HTTP wire shapes: request models (requests.py), response models for the OpenAPI document
(responses.py, rules_responses.py), strict JSON decoding (json_body.py) and the callback body
(callback_body.py). Imported by the handlers and their tests only."""
