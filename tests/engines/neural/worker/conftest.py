"""Tests that need the GPU engines' packages: they run in the worker environment.

In the default environment (no f5_tts, no chatterbox) they are not collected at all, neither
run nor skipped: `tests/engines/neural/test_worker_env.py` builds the worker environment
(`make worker-env-neural`) and runs this folder in it.
"""

from __future__ import annotations

import importlib.util

collect_ignore_glob = [] if importlib.util.find_spec("f5_tts") else ["test_f5.py"]
if not importlib.util.find_spec("chatterbox"):
    collect_ignore_glob.append("test_chatterbox.py")
