"""Process-wide environment defaults that must be in place before litellm or deepeval import.

litellm fetches its model cost map from the internet at import time unless told to use the
local copy, and deepeval creates ``./.deepeval/`` and sends telemetry unless opted out. We set
these as defaults (``setdefault``), so a user can still opt in explicitly.
"""

import os

_OFFLINE_DEFAULTS = {
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    "LITELLM_TELEMETRY": "False",
    "DEEPEVAL_TELEMETRY_OPT_OUT": "1",
    "DEEPEVAL_UPDATE_WARNING_OPT_OUT": "1",
    "DEEPEVAL_GRPC_LOGGING": "0",
    "ERROR_REPORTING": "NO",
}

for _name, _value in _OFFLINE_DEFAULTS.items():
    os.environ.setdefault(_name, _value)

# deepeval keeps a key file and caches in DEEPEVAL_CACHE_FOLDER, by default ./.deepeval in the
# working directory. Keep the user's project clean: a per-user cache dir unless they chose one
# (runs with judges point it at the run directory before deepeval is imported).
os.environ.setdefault(
    "DEEPEVAL_CACHE_FOLDER",
    os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "harness", "deepeval"),
)
