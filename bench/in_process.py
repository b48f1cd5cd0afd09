"""Django set up in this process as the in-process benchmarks run it
(filter_search.py, first_after_write.py): production settings (DEBUG off, a
throwaway key), the answer cache off, and no computing budget, since one
client asks everything (0 turns it off, as http_bench.py does)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def django_setup(tree: str | Path = ROOT) -> None:
    """Set up Django with the code of the checkout `tree` (this one by default)."""
    sys.path.insert(0, str(tree))
    os.chdir(tree)  # the settings' imports put the working directory first on the path
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "meetingfinder.settings")
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-key-never-used-in-production-7c1e9a4f2b8d6e3a5c0f")
    os.environ.setdefault("DJANGO_DEBUG", "false")
    os.environ["CACHE_ANSWERS"] = "false"
    os.environ.setdefault("PUBLIC_COMPUTE_SECONDS_PER_MINUTE", "0")

    import django

    django.setup()
