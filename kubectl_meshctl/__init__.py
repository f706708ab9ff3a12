"""kubectl-meshctl: a kubectl plugin for Istio ingress gateways."""

__version__ = "0.1.0"

ISTIO_VERSIONS = ("v1", "v1beta1", "v1alpha3")
"""The networking.istio.io versions read (files and cluster), preferred first."""
