"""The listings (gateways, vs): rows joined from a snapshot and its findings, and their cache."""
