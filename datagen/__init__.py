"""Deterministic, realistic datasets for the seed system's tables.

Every entity is a pure function of ``(seed, index)``: any process can generate any slice and
Locust workers can reconstruct the key space without reading the table.
"""
