"""The test run's settings: the app's own (cobrowse.settings), with a key for tests.

pytest-django loads settings before any conftest.py, and the app refuses its built-in development
key with DEBUG off, as tests run. The key goes into the environment so that the servers the tests
start as subprocesses (daphne, manage.py, with cobrowse.settings) read it too.
"""

import os

from tests.support import TEST_SECRET_KEY

if not (os.environ.get("SECRET_KEY") or os.environ.get("SECRET_KEY_FILE")):
    os.environ["SECRET_KEY"] = TEST_SECRET_KEY

from cobrowse.settings import *  # noqa: F403
