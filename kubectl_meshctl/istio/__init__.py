"""The one model of istiod: what it builds for a gateway proxy from the resources (pure)."""
