"""kubectl-meshctl: a kubectl plugin for Istio ingress gateways."""

__version__ = "0.1.0"
