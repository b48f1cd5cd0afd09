"""The test suite's settings: the environment-driven settings themselves,
with a test-only secret key when the environment gives none (DEBUG stays off,
as in production). Subprocesses started by tests inherit the key."""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-key-0f9c2b7e4a1d8c6b3e5f7a9d2c4b6e8f0a1c3e5d7b9f")

from meetingfinder.settings import *  # noqa: E402,F401,F403

# WhiteNoise serves the apps' static folders as they are: no collectstatic
# before the tests (the settings tie this to DEBUG, which tests keep off).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True

# The suite asks thousands of new questions a minute, all from one address:
# tests/test_compute_budget.py turns the per-client budget on where it is tested.
PUBLIC_COMPUTE_SECONDS_PER_MINUTE = 0
