"""Serve Gradio's page as Swedish: ``<html lang="sv">`` in the HTML as sent, not fixed later by a script.

Gradio's page template hard-codes ``lang="en"``, so screen readers would read the page's
Swedish text with English pronunciation until a script ran. ``SwedishPage`` is a small ASGI
middleware that rewrites that one attribute in HTML responses.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

LANG = "sv"
_HTML_LANG_RE = re.compile(rb"(<html\b[^>]*?\blang=)\"[^\"]*\"", re.IGNORECASE)
MAX_REWRITE_BYTES = 4 * 1024 * 1024  # larger HTML bodies (none in practice) pass unchanged


def set_html_lang(body: bytes, lang: str = LANG) -> bytes:
    """``body`` with the ``lang`` attribute of its ``<html>`` tag set to ``lang`` (added when missing)."""
    new, n = _HTML_LANG_RE.subn(lambda m: m.group(1) + b'"' + lang.encode() + b'"', body, count=1)
    if n:
        return new
    return re.sub(rb"<html\b", b'<html lang="' + lang.encode() + b'"', body, count=1, flags=re.IGNORECASE)


class SwedishPage:
    """ASGI middleware: HTML responses get ``<html lang="sv">``; everything else passes through."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]], lang: str = LANG) -> None:
        self.app = app
        self.lang = lang

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") != "http" or scope.get("method") != "GET":
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        chunks: list[bytes] = []
        size = 0
        passing = False

        async def wrapped(message: Message) -> None:
            nonlocal start, size, passing
            if passing:
                await send(message)
                return
            if message["type"] == "http.response.start":
                kinds = {k.lower(): v for k, v in message.get("headers", [])}
                html = kinds.get(b"content-type", b"").startswith(b"text/html")
                if not html or kinds.get(b"content-encoding"):
                    passing = True
                    await send(message)
                    return
                start = message
                return
            if message["type"] != "http.response.body" or start is None:
                await send(message)
                return
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > MAX_REWRITE_BYTES:  # too big to hold: send what we have unchanged
                passing = True
                await send(start)
                await send({"type": "http.response.body", "body": b"".join(chunks), "more_body": message.get("more_body", False)})
                return
            if message.get("more_body", False):
                return
            body = set_html_lang(b"".join(chunks), self.lang)
            headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
            headers.append((b"content-length", str(len(body)).encode()))
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, wrapped)
