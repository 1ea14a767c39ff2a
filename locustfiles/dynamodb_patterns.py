"""Locust users replaying the seed system's DynamoDB access patterns.

Run through ``ddbbench run`` (which starts DynamoDB Local, loads the dataset and builds the
report), or directly with Locust against a loaded table::

    ddbbench local start && ddbbench load --scenario smoke
    locust -f locustfiles/dynamodb_patterns.py --ddb-scenario smoke      # web UI
    ddbbench report reports/<run-id>                                      # after the test

A thin shim: everything lives in ``ddbbench.locust_plugin`` (so the layering contracts cover
it); Locust finds the user class and the listeners by importing this file.
"""

# Locust must be imported first: it monkey-patches the standard library with gevent, and
# importing botocore/urllib3 before it has crashed with RecursionError.
import locust  # noqa: F401

from ddbbench.locust_plugin import ConversationUser

__all__ = ["ConversationUser"]
