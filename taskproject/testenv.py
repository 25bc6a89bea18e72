"""pytest plugin (loaded with ``-p`` from pytest.ini, before Django's settings are read).

Tests run with DEBUG off, like production, which requires a SECRET_KEY; give them a throwaway
one unless the caller set their own, and the embedded PostgreSQL unless DATABASE_URL names one
(with DEBUG off the settings refuse a missing DATABASE_URL without EMBEDDED_PG=1).
"""

import os
import secrets

os.environ.setdefault("SECRET_KEY", "test-" + secrets.token_urlsafe(48))
# Silk is installed in tests (so /silk/ and its tables exist and its access rules are tested) but
# records nothing unless a test turns interception on: query-count tests stay exact.
os.environ.setdefault("SILK_ENABLED", "1")
os.environ.setdefault("SILK_SAMPLE_PERCENT", "0")
os.environ.setdefault("EMBEDDED_PG", "1")
# perfaudit's Server-Timing header is off with DEBUG off unless asked for; its tests ask.
os.environ.setdefault("PERFAUDIT_SERVER_TIMING", "1")
