"""Table Storage: the table operations (backend.py; Azure in azure_tables.py, in-memory twin in
memory.py), the stores built on them (calls, claims, idempotency, rules) and the entity codec
(codec.py). Imported by the composition root, tests, tools and benchmarks only."""
