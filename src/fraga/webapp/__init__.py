"""The fraga web app: ``service`` (no Gradio), ``render``/``pages`` (safe HTML) and ``ui`` (Gradio)."""

from __future__ import annotations

from fraga.webapp.service import Service, SourceView, Turn

__all__ = ["Service", "SourceView", "Turn"]
