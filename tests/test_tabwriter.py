"""Go text/tabwriter semantics, checked against byte-exact outputs of the real programs."""

from __future__ import annotations

from conftest import shared_path
from hypothesis import given
from hypothesis import strategies as st

from kubectl_meshctl.gocompat.tabwriter import KUBECTL, TabWriterConfig, table, tabwrite

ISTIOCTL = TabWriterConfig(minwidth=0, tabwidth=8, padding=5)


def test_istioctl_routes_golden_bytes() -> None:
    expected = shared_path("testdata", "istio", "routes", "istio-gateway-http-route-prefix", "output.txt").read_text()
    rows = [
        ["NAME", "VHOST NAME", "DOMAINS", "MATCH", "VIRTUAL SERVICE"],
        ["http.8080", "httpbin.example.com:80", "httpbin.example.com", "/get*", "httpbin.default"],
        ["", "backend", "*", "/stats/prometheus*", ""],
        ["", "backend", "*", "/healthz/ready*", ""],
    ]
    assert table(rows, ISTIOCTL) == expected


def test_kubectl_pods_table() -> None:
    # kubectl get pods output shape: 3 spaces of padding, last column unpadded
    rows = [["NAME", "READY", "STATUS", "RESTARTS", "AGE"], ["istio-ingressgateway-5d7f9b8c4-x2x7q", "1/1", "Running", "0", "3d"]]
    assert table(rows, KUBECTL) == (
        "NAME                                   READY   STATUS    RESTARTS   AGE\n"
        "istio-ingressgateway-5d7f9b8c4-x2x7q   1/1     Running   0          3d\n"
    )


def test_line_without_tab_ends_column_blocks() -> None:
    text = "a\tbb\tc\nline without tabs\nxxxx\ty\tz\n"
    assert tabwrite(text, ISTIOCTL) == "a     bb     c\nline without tabs\nxxxx     y     z\n"


def test_ragged_rows_form_separate_blocks() -> None:
    # the second column block only spans the lines that have a second column cell
    text = "aaaa\tb\tc\nd\te\nffffffff\tg\th\n"
    assert tabwrite(text, TabWriterConfig(0, 8, 1)) == "aaaa     b c\nd        e\nffffffff g h\n"


@given(
    st.integers(min_value=1, max_value=6).flatmap(
        lambda n: st.lists(st.lists(st.text(alphabet="ab c-é/{}%", max_size=12), min_size=n, max_size=n), min_size=1, max_size=8)
    )
)
def test_uniform_tables_take_a_shortcut_to_the_same_bytes(rows: list[list[str]]) -> None:
    from kubectl_meshctl.gocompat.tabwriter import KUBECTL, _uniform_table, tabwrite

    assert _uniform_table(rows, KUBECTL) == tabwrite("".join("\t".join(r) + "\n" for r in rows), KUBECTL)
