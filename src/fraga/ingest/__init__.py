"""Stage 1: files -> Documents -> sections and passages (readers, page furniture, metadata, OCR repair)."""
