"""Table Storage: the table operations (backend.py, query.py; Azure in azure_tables.py; the
tests' in-memory twin is tests/support/memory_tables.py), the stores built on them (calls and
its parts, claims, idempotency, rules) and the entity codec (codec.py). Imported by the
composition root, tests, tools and benchmarks only."""
