#!/usr/bin/env python3
"""schemathesis' `st` command, with one guard: on CPython 3.11.7 (this machine's and CI's), `ast.parse`
can raise `SystemError: AST constructor recursion depth mismatch` when called deep in a stack
(CPython gh-106905, fixed in later 3.11 releases). Hypothesis calls it only to describe a lambda in a
strategy's repr, and whether a run reaches it depends on the seeded generation, so any change to
docs/openapi.yaml could make schemathesis report a "runtime error" that says nothing about Herald. The
guard turns that SystemError into the SyntaxError Hypothesis already handles (it then names the lambda
"<unknown>"); nothing else changes.
"""
import ast
import sys

_parse = ast.parse


def _guarded_parse(*args, **kwargs):
    try:
        return _parse(*args, **kwargs)
    except SystemError as error:
        raise SyntaxError(str(error)) from error


ast.parse = _guarded_parse

from schemathesis.cli import schemathesis  # noqa: E402 (after the guard, on purpose)

if __name__ == "__main__":
    sys.exit(schemathesis())
