"""The kubeconfig YAML subset reader: whatever it returns equals ``yaml.safe_load``; it does read real kubeconfigs."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from kubectl_meshctl.kube.kubeconfig_yaml import load

# kubeconfigs in the shapes the common tools write them (kubectl config, kind, gcloud, aws eks, minikube, oidc)
KIND = """\
apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUMvakNDQWVhZ0F3SUJBZ0lCQURBTkJna3Foa2lHOXcwQkFRc0ZBREFWTVJNd0VRWURWUVFERXdwcmRXSmwK
    server: https://127.0.0.1:38921
  name: kind-kind
contexts:
- context:
    cluster: kind-kind
    user: kind-kind
  name: kind-kind
current-context: kind-kind
kind: Config
preferences: {}
users:
- name: kind-kind
  user:
    client-certificate-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t
    client-key-data: LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQ==
"""
GKE = """\
apiVersion: v1
kind: Config
current-context: gke_my-project_europe-west1_prod
clusters:
  - name: gke_my-project_europe-west1_prod
    cluster:
      server: https://34.76.1.2
      certificate-authority-data: LS0tLS1CRUdJTg==
contexts:
  - name: gke_my-project_europe-west1_prod
    context:
      cluster: gke_my-project_europe-west1_prod
      user: gke_my-project_europe-west1_prod
      namespace: istio-system   # where the gateways live
users:
  - name: gke_my-project_europe-west1_prod
    user:
      exec:
        apiVersion: client.authentication.k8s.io/v1beta1
        command: gke-gcloud-auth-plugin
        installHint: Install gke-gcloud-auth-plugin for use with kubectl by following https://cloud.google.com/kubernetes-engine/docs/how-to/cluster-access-for-kubectl#install_plugin
        provideClusterInfo: true
        interactiveMode: IfAvailable
"""
EKS = """\
# written by aws eks update-kubeconfig
apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: LS0tLS1CRUdJTg==
    server: https://ABCDEF0123456789.gr7.us-east-1.eks.amazonaws.com
  name: arn:aws:eks:us-east-1:123456789012:cluster/prod
contexts:
- context:
    cluster: arn:aws:eks:us-east-1:123456789012:cluster/prod
    user: arn:aws:eks:us-east-1:123456789012:cluster/prod
  name: arn:aws:eks:us-east-1:123456789012:cluster/prod
current-context: arn:aws:eks:us-east-1:123456789012:cluster/prod
kind: Config
preferences: {}
users:
- name: arn:aws:eks:us-east-1:123456789012:cluster/prod
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      args:
      - --region
      - us-east-1
      - eks
      - get-token
      - --cluster-name
      - prod
      - --output
      - json
      command: aws
      env:
      - name: AWS_PROFILE
        value: "prod-admin"
      interactiveMode: IfAvailable
      provideClusterInfo: false
"""
MINIKUBE = """\
apiVersion: v1
clusters:
- cluster:
    certificate-authority: /home/me/.minikube/ca.crt
    extensions:
    - extension:
        last-update: Mon, 06 Jan 2025 10:00:00 UTC
        provider: minikube.sigs.k8s.io
        version: v1.34.0
      name: cluster_info
    server: https://192.168.49.2:8443
  name: minikube
contexts:
- context:
    cluster: minikube
    namespace: default
    user: minikube
  name: minikube
current-context: minikube
kind: Config
preferences: {}
users:
- name: minikube
  user:
    client-certificate: /home/me/.minikube/profiles/minikube/client.crt
    client-key: '/home/me/.minikube/profiles/minikube/client.key'
- name: token-user
  user:
    token: ''
- name: insecure
  user:
    username: admin
    password: "s3cr3t \\"quoted\\""
"""


@pytest.mark.parametrize(
    "quoted",
    ["'it''s'", "''", "'a # b'", '"multi\\nline"', '"tab\\tx"', '"q\\"x\\\\y\\/z"', '""', '"a # b"  # c'],
)
def test_quoted_scalars_take_the_fast_path(quoted: str) -> None:
    text = f"a: {quoted}\n"
    assert load(text) is not None and load(text) == yaml.safe_load(text), text


class _IndentedSequences(yaml.SafeDumper):
    """Block sequences indented under their key (``a:\\n  - x``), as some tools write them."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


REAL = {"kind": KIND, "gke": GKE, "eks": EKS, "minikube": MINIKUBE}


@pytest.mark.parametrize("name", sorted(REAL))
def test_real_kubeconfigs_take_the_fast_path_and_read_as_pyyaml_reads_them(name: str) -> None:
    text = REAL[name]
    fast = load(text)
    assert fast is not None, "the subset reader gave up on a kubeconfig shape the tools write"
    assert fast == yaml.safe_load(text)


@pytest.mark.parametrize("indent", [2, 3, 4])
@pytest.mark.parametrize("name", sorted(REAL))
def test_reindented_kubeconfigs_take_the_fast_path(name: str, indent: int) -> None:
    doc = yaml.safe_load(REAL[name])
    for dumper in (yaml.SafeDumper, _IndentedSequences):
        text = yaml.dump(doc, Dumper=dumper, indent=indent, default_flow_style=False, width=10**6)
        assert load(text) == doc, text


@pytest.mark.parametrize(
    "text",
    [
        "a: &anchor x\nb: *anchor\n",  # anchors
        "a: !!str 1\n",  # tags
        "a: |\n  block\n",  # block scalars
        "a: {b: c}\n",  # flow mappings
        "a: 0x1F\n",  # a hex int
        "a: 1:20\n",  # a sexagesimal int
        "a: 2024-01-01\n",  # a timestamp
        "a: 1.5\n",  # a float
        "a: x\na: y\n",  # a duplicate key (PyYAML keeps the last)
        "a: 'multi\n  line'\n",  # a quoted scalar over two lines
        "a: plain\n  continued\n",  # a plain scalar over two lines
        "a:\tb\n",  # a tab
        "on: x\n",  # a key PyYAML reads as a bool
        "---\na: b\n",  # a document marker
        "- a\n- b\n",  # not a mapping
    ],
)
def test_everything_else_goes_to_pyyaml(text: str) -> None:
    assert load(text) is None


@pytest.mark.parametrize(
    "plain",
    ["on", "On", "OFF", "yes", "No", "true", "False", "null", "Null", "NULL", "~", "0", "-1", "+7", "42", "y", "n",
     "nULL", "Yes!", "truex", "--x", "-x", "a#b", "https://h:1/p#f", "arn:aws:x:1", "é"],
)  # fmt: skip
def test_plain_scalars_are_typed_as_pyyaml_types_them(plain: str) -> None:
    for text in (f"a: {plain}\n", f"a:\n- {plain}\n", f"a: {plain}  # comment\n"):
        assert load(text) == yaml.safe_load(text), text


TRICKY = st.sampled_from(
    ["yes", "No", "on", "OFF", "true", "null", "~", "", "0", "-1", "+2", "012", "1:20", "1.5", ".inf", "-x", "--flag",
     "a: b", "a #b", "a#b", "#x", "x:", "'q'", '"q"', "it's", "@at", "`tick", "%pct", "&amp", "*star", "!bang", "|", ">",
     "[x]", "{x}", "=", "<<", " lead", "trail ", "multi\nline", "tab\tx", "ü", "https://h:443/p?q=1#f"]
)  # fmt: skip
WORDS = st.from_regex(r"[a-zA-Z/-][a-zA-Z0-9 ._:/@#'-]{0,15}", fullmatch=True)  # mostly inside the subset
SCALARS = st.one_of(
    WORDS,
    WORDS,
    WORDS,
    TRICKY,
    st.text(alphabet="abcxyz019 -_.:/#'\"\\@", max_size=16),
    st.integers(min_value=-(10**6), max_value=10**6),
    st.booleans(),
    st.none(),
)
PLAIN_KEYS = st.from_regex(r"[a-z][a-z0-9-]{0,10}", fullmatch=True).filter(lambda k: k not in ("on", "off", "yes", "no", "null"))
KEYS = st.one_of(PLAIN_KEYS, PLAIN_KEYS, PLAIN_KEYS, st.sampled_from(["on", "yes", "null", "1a", "a b"]))
DOCS = st.dictionaries(
    KEYS,
    st.recursive(
        SCALARS,
        lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(KEYS, inner, max_size=4)),
        max_leaves=12,
    ),
    min_size=1,
    max_size=6,
)


IN_SUBSET = st.dictionaries(
    PLAIN_KEYS,
    st.recursive(
        st.one_of(WORDS, st.integers(min_value=-999, max_value=999), st.booleans(), st.none()),
        lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(PLAIN_KEYS, inner, max_size=4)),
        max_leaves=16,
    ),
    min_size=1,
    max_size=6,
)


@settings(max_examples=300, deadline=None)
@given(doc=IN_SUBSET, indent=st.sampled_from([2, 4]), indented=st.booleans())
def test_documents_in_the_subset_take_the_fast_path(doc: dict[str, Any], indent: int, indented: bool) -> None:
    dumper = _IndentedSequences if indented else yaml.SafeDumper
    text = yaml.dump(doc, Dumper=dumper, indent=indent, default_flow_style=False, width=10**6)
    fast = load(text)
    if fast is not None:  # ~96% of these; the rest start like numbers ("-161so37") and go to PyYAML
        assert fast == yaml.safe_load(text) == doc, text


@settings(max_examples=400, deadline=None)
@given(doc=DOCS, indent=st.sampled_from([2, 4]), indented=st.booleans(), style=st.sampled_from([None, None, "'", '"']))
def test_generated_documents_read_as_pyyaml_reads_them(doc: dict[str, Any], indent: int, indented: bool, style: Any) -> None:
    dumper = _IndentedSequences if indented else yaml.SafeDumper
    text = yaml.dump(doc, Dumper=dumper, indent=indent, default_flow_style=False, default_style=style, width=10**6)
    fast = load(text)
    if fast is not None:
        assert fast == yaml.safe_load(text), text
