"""A lean DynamoDB client for load generation (``client: {kind: lean}`` in a scenario).

boto3 spends about 1.1-1.8 ms of CPU per GetItem on these machines; the load generator, not
the database, then sets the pace. This package sends DynamoDB's JSON protocol directly with
boto3's semantics (botocore's credential chain, endpoint resolution, standard retries and
exceptions): ``client.py`` (``LeanClient``), ``signer.py`` (SigV4 with a cached signing key),
``transport.py`` (pooled keep-alive HTTP), ``retry.py`` (botocore's standard mode, reused).
``ddbbench.client.make_client`` returns one when the scenario asks for it.
"""

from ddbbench.lean.client import DATA_PLANE, LeanClient
from ddbbench.lean.signer import Signer

__all__ = ["DATA_PLANE", "LeanClient", "Signer"]
