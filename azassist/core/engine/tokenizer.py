"""A word stream for pacing text to playback that costs linear time in what it is given.

LiveKit's ``BufferedWordStream.push_text`` re-tokenizes its whole buffer once per word it
emits, so one delta's cost grows with the square of its length: a 24 KB text delta blocked
the event loop for 27 s (the window froze; SIGTERM waited). This stream tokenizes the
buffer once per push and emits every complete word, keeping the last (possibly unfinished)
one, which is what LiveKit's loop computes with ``min_token_len=1``.
"""

from __future__ import annotations

import functools

from livekit.agents import tokenize
from livekit.agents.tokenize import token_stream
from livekit.agents.tokenize._basic_word import split_words
from livekit.agents.tokenize.tokenizer import TokenData


class LinearWordStream(token_stream.BufferedWordStream):
    def push_text(self, text: str) -> None:
        self._check_not_closed()
        if not text:
            return
        self._in_buf += text
        tokens = self._tokenize_fnc(self._in_buf)
        if len(tokens) <= 1:
            return
        for token in tokens[:-1]:
            word = token[0] if isinstance(token, tuple) else token
            self._event_ch.send_nowait(TokenData(token=word, segment_id=self._current_segment_id))
        last = tokens[-2]
        if isinstance(last, tuple):
            self._in_buf = self._in_buf[last[2] :]
        else:
            at = max(self._in_buf.find(last), 0)
            self._in_buf = self._in_buf[at + len(last) :].lstrip()


class LinearWordTokenizer(tokenize.basic.WordTokenizer):
    """``tokenize.basic.WordTokenizer`` with a linear-time stream; same words."""

    def stream(self, *, language: str | None = None) -> tokenize.WordStream:
        return LinearWordStream(
            tokenizer=functools.partial(
                split_words,
                ignore_punctuation=self._ignore_punctuation,
                split_character=self._split_character,
                retain_format=self._retain_format,
                split_cjk_clauses=True,
            ),
            min_token_len=1,
            min_ctx_len=1,
        )


def synchronizer_word_tokenizer() -> LinearWordTokenizer:
    """The tokenizer ``TranscriptSynchronizer`` builds by default, made linear."""
    return LinearWordTokenizer(retain_format=True, ignore_punctuation=False, split_character=True)
