"""Test helpers for the crawler: local HTTP servers, a review-site generator, a PostgreSQL finder.

Every server binds 127.0.0.1 on a free port, runs in daemon threads, logs the requests it got,
and stops when its ``with`` block ends. Nothing here contacts any other address.
"""
