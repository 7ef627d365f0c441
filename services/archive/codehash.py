"""Normalized-code hash used for de-duplication.

Normalization: strip C/C++ comments (``//`` and ``/* */``) and Python comments (``#`` to end of
line, except C preprocessor directives such as ``#include``/``#define``/``#pragma``), leave string
and character literals untouched, collapse every whitespace run to one space, strip the ends, then
sha256 over UTF-8. Two sources that differ only in comments or layout hash identically.
"""

from __future__ import annotations

import hashlib
import re

# One pass over the text: literals first (kept), then comments (dropped).
_TOKEN_RE = re.compile(
    r"""
    (?P<str>"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*')   # string / char literal
  | (?P<block>/\*.*?\*/)                                # C block comment
  | (?P<line>//[^\n]*)                                  # C++ line comment
  | (?P<hash>\#[^\n]*)                                  # '#' to end of line
    """,
    re.DOTALL | re.VERBOSE,
)

_PREPROCESSOR = re.compile(
    r"#\s*(include|define|undef|if|ifdef|ifndef|elif|else|endif|pragma|error|warning|line)\b"
)
_WS = re.compile(r"\s+")


def _replace(m: re.Match[str]) -> str:
    if m.group("str") is not None:
        return m.group("str")
    if m.group("hash") is not None:
        text = m.group("hash")
        if _PREPROCESSOR.match(text):
            # keep the directive, but drop a trailing // comment on it
            return re.sub(r"//.*$", "", text)
        return " "
    return " "


def normalize_code(source: str) -> str:
    """Return ``source`` with comments removed and whitespace collapsed."""
    if not source:
        return ""
    text = _TOKEN_RE.sub(_replace, source)
    return _WS.sub(" ", text).strip()


def code_hash(source: str) -> str:
    """sha256 hex digest of :func:`normalize_code` (``""`` for empty/blank source)."""
    norm = normalize_code(source)
    if not norm:
        return ""
    return hashlib.sha256(norm.encode("utf-8")).hexdigest()
