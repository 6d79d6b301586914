"""The scale benchmark behind ``fraga bench``: synthetic collections, timing, memory, baseline."""
