"""Temporary: the explorer moved to `service` (Explorer) and `http` (its server); remove at merge."""
from rnnlab.explore.http import is_loopback, make_server, url_of  # noqa: F401
from rnnlab.explore.service import MAX_BODY, MAX_INPUT_TOKENS, MAX_TOP, Explorer, tagger_explorer  # noqa: F401
