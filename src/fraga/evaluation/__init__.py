"""The gold-set benchmark (fraga eval)."""
