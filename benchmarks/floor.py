"""The floor of a cold cluster listing: read the given lists over HTTPS and ``json.loads`` every page, nothing else.

Used by ``bench_scale.py`` as the baseline a cold ``kubectl-meshctl gateways -A`` cannot beat: the same lists the
plugin reads (paged with ``limit``/``continue`` as the plugin pages them), over one keep-alive connection per list,
the lists read concurrently (one thread each, as the plugin reads them in parallel lanes), every page parsed with
``json.loads`` and its items kept (the plugin needs every object at once to analyse them).  No discovery, no cache,
no kubeconfig parsing: the server, token and CA come from the command line.  Standard library only::

    python benchmarks/floor.py --server https://127.0.0.1:PORT --token T --ca-file ca.crt \\
        /api/v1/pods /apis/networking.istio.io/v1/gateways ...

Prints one short line (objects, pages, bytes) and exits 0; exits 1 on any non-200 answer.
"""

from __future__ import annotations

import argparse
import gc
import http.client
import json
import ssl
import sys
import threading
import urllib.parse


def read_list(
    server: str, token: str, context: ssl.SSLContext, path: str, limit: int, out: dict[str, list]
) -> tuple[int, int, int]:
    """Every page of one list: (objects, pages, bytes).  Items are appended to ``out[path]``."""
    url = urllib.parse.urlsplit(server)
    conn = http.client.HTTPSConnection(url.hostname or "127.0.0.1", url.port or 443, context=context)
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    items: list = out.setdefault(path, [])
    pages = size = 0
    token_ = ""
    try:
        while True:
            query = {"limit": str(limit)}
            if token_:
                query["continue"] = token_
            conn.request("GET", f"{url.path.rstrip('/')}{path}?{urllib.parse.urlencode(query)}", headers=headers)
            response = conn.getresponse()
            body = response.read()
            if response.status != 200:
                raise RuntimeError(f"{path}: HTTP {response.status}: {body[:200]!r}")
            page = json.loads(body)
            pages += 1
            size += len(body)
            items.extend(page.get("items") or ())
            token_ = (page.get("metadata") or {}).get("continue") or ""
            if not token_:
                return len(items), pages, size
    finally:
        conn.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--ca-file", required=True)
    parser.add_argument("--limit", type=int, default=500, help="page size (the plugin's PAGE_SIZE)")
    parser.add_argument("--serial", action="store_true", help="read the lists one after another")
    parser.add_argument("--no-gc", action="store_true", help="gc.disable() first (the cyclic GC is most of the cost at scale)")
    parser.add_argument("paths", nargs="+")
    args = parser.parse_args(argv)
    if args.no_gc:
        gc.disable()

    context = ssl.create_default_context(cafile=args.ca_file)
    out: dict[str, list] = {}
    results: dict[str, tuple[int, int, int]] = {}
    errors: list[BaseException] = []

    def run(path: str) -> None:
        try:
            results[path] = read_list(args.server, args.token, context, path, args.limit, out)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    if args.serial:
        for path in args.paths:
            run(path)
    else:
        threads = [threading.Thread(target=run, args=(p,)) for p in args.paths]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    if errors:
        print(f"floor: {errors[0]}", file=sys.stderr)
        return 1
    objects = sum(r[0] for r in results.values())
    pages = sum(r[1] for r in results.values())
    size = sum(r[2] for r in results.values())
    print(f"{objects} objects, {pages} pages, {size / 1e6:.1f} MB from {len(results)} lists")
    return 0


if __name__ == "__main__":
    sys.exit(main())
