"""Envoy's semantics: its route model, request matching, coverage, and the prediction written as Envoy JSON (pure)."""
