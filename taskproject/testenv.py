"""pytest plugin (loaded with ``-p`` from pytest.ini, before Django's settings are read).

Tests run with DEBUG off, like production, which requires a SECRET_KEY; give them a throwaway
one unless the caller set their own.
"""

import os
import secrets

os.environ.setdefault("SECRET_KEY", "test-" + secrets.token_urlsafe(48))
