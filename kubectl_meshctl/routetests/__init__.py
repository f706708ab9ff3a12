"""Route tests: files that say which route a request must take, run against the one model of Envoy's routing.

Why this room exists: ``kubectl meshctl test`` runs two formats users already have -- Envoy's
``router_check_tool`` test files (:mod:`.router_check`, against a route configuration, a config dump or a
prediction) and istio-config-validator's ``testCases`` files (:mod:`.validator`, against manifests) -- without an
Envoy binary.  Both report the same :mod:`.results`.  Pure: the files arrive as decoded documents, nothing here
reads, prints or exits.
"""
