"""ddbbench: load-testing and access-pattern benchmarking for Amazon DynamoDB.

The package holds the shared core: the scenario model, key designs, the DynamoDB client
factory, the DynamoDB Local lifecycle, run directories and the CLI. Data generation lives in
``datagen``, analysis and reports in ``analysis``, Locust users in ``locustfiles/``.
"""

__version__ = "0.1.0"
