"""The listing rows (listing/views.py): what `gateways` and `vs` print for each object."""

from __future__ import annotations


def test_vs_listing_shows_a_delegate_bound_through_its_root() -> None:
    """A hostless VirtualService is a delegate: not bound to mesh, but wherever its roots are."""
    from datetime import datetime, timezone

    from kubectl_meshctl.listing.views import virtual_service_rows

    row = {"name": "d", "namespace": "n", "gateways": [], "hosts": [], "rules": 1, "findings": [], "creationTimestamp": ""}
    mesh = {**row, "name": "m", "hosts": ["m.n.svc.cluster.local"]}
    rows = virtual_service_rows([row, mesh], now=datetime.now(timezone.utc), all_namespaces=False, wide=False)
    assert [r[:3] for r in rows[1:]] == [["d", "<root's>", "<delegate>"], ["m", "mesh", "m.n.svc.cluster.local"]]
