"""Istio's semantics: the one model of istiod (what it builds for a gateway proxy) and its host-name rules (pure)."""
