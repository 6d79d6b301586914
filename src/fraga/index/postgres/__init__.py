"""The PostgreSQL store: the same index in a database (pgvector for dense search, BM25
postings summed in SQL), for archives and user counts that outgrow one machine's folder.

``schema`` creates the tables, ``writer`` adds, replaces and deletes documents (one
transaction each), ``reader`` serves a ``PgIndex`` to everything above the store;
``fraga.search.sql`` ranks in SQL. See docs/postgresql.md.
"""
