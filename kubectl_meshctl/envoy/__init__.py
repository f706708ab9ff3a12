"""Envoy's semantics: route matching and coverage, and the prediction written as Envoy JSON (pure)."""
