"""The gold-set benchmark (fraga eval).

Modules, one concept each:

- ``gold``: load and validate a gold file (eval/GOLD.md).
- ``align``: find snippets in a source text and project offsets to the cleaned text.
- ``evidence``: gold evidence as spans of ``Document.text``; when a passage or quote matches.
- ``metrics``: pure metric functions (ranx retrieval metrics, answer, citation, abstention, latency).
- ``results``: per-question records and their aggregation into the table.
- ``runner``: run the gold set in each mode; ``fraga.cli.evaluate`` prints it.
- ``report``: the text table, report.md, metrics.json, per_question.jsonl and chart.png.
- ``compare``: compare two runs.
"""
