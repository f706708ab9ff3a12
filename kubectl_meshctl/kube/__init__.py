"""The Kubernetes API: kubeconfig, the one HTTP client, paged lists, the cluster Source, port-forward."""
