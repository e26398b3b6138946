"""Admin UI weight and speed: each page's HTML + assets, and the audit page with 100,000 audit rows.

    python benchmarks/admin_pages.py [--rows 100000] [--requests 300] [--database-url postgresql://...]

Starts the real application under uvicorn on loopback (local mode, so the pages need no sign-in) with the
test plugins, on a fresh SQLite file (or a fresh PostgreSQL database with --database-url, dropped after).
Then:

1. page weight: each admin page's HTML plus the assets it loads (CSS, HTMX), uncompressed; goal < 100 KB;
2. audit page: inserts --rows change-audit rows into one organization, then times GET of the audit page
   (first page, a page deep in the history via its cursor, and a filtered page), sequentially over
   loopback, reporting p50/p99/max; this is the time a client waits, so an upper bound of server time.
   Goal: p99 < 50 ms.

Prints a table; see benchmarks/ADMIN.md for figures measured on the development machine.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import insert, text
from sqlmodel import Session, col, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from omni_mcp.admin.audit_query import make_cursor
from omni_mcp.audit.models import AuditLog
from omni_mcp.db.models import utcnow
from omni_mcp.testing import TEST_DATABASE_ENV, fresh_database_url, make_test_settings, serve_in_thread
from tests.sample_plugins import CrmPlugin, EchoPlugin

ORG = "default"
PAGES = [
    "/admin",
    f"/admin/orgs/{ORG}",
    f"/admin/orgs/{ORG}/services",
    f"/admin/orgs/{ORG}/prompts",
    f"/admin/orgs/{ORG}/prompts/crm_follow_up",
    f"/admin/orgs/{ORG}/resources",
    f"/admin/orgs/{ORG}/keys",
    f"/admin/orgs/{ORG}/audit",
    f"/admin/orgs/{ORG}/calls",
]
ASSET = re.compile(r'(?:src|href)="(/admin/static/[^"]+)"')


def page_weights(client: httpx.Client) -> list[tuple[str, int, int]]:
    rows = []
    asset_sizes: dict[str, int] = {}
    for path in PAGES:
        response = client.get(path)
        response.raise_for_status()
        assets = 0
        for asset in ASSET.findall(response.text):
            if asset not in asset_sizes:
                asset_sizes[asset] = len(client.get(asset).content)
            assets += asset_sizes[asset]
        rows.append((path, len(response.content), assets))
    return rows


def fill_audit(engine: Any, org_id: int, rows: int) -> None:
    """`rows` changes, one every 10 ms of the last `rows` / 100 seconds (times distinct, as in life)."""
    start = utcnow() - timedelta(milliseconds=10 * rows)
    batch = []
    with engine.begin() as connection:
        for index in range(rows):
            batch.append(
                {
                    "organization_id": org_id,
                    "actor": f"user:bench_{index % 50}",
                    "entity_type": ("prompt", "service", "membership", "api_key")[index % 4],
                    "entity_id": f"item_{index}",
                    "action": ("create", "update", "delete")[index % 3],
                    "before": None,
                    "after": {"n": index, "text": "x" * 40},
                    "created_at": start + timedelta(milliseconds=10 * index),
                }
            )
            if len(batch) == 5000:
                connection.execute(insert(AuditLog), batch)
                batch = []
        if batch:
            connection.execute(insert(AuditLog), batch)
        # Statistics as the database would have them in steady state (autovacuum analyzes a table this size).
        connection.execute(text("ANALYZE audit_logs"))


def cursor_at(engine: Any, org_id: int, offset: int) -> str:
    """The cursor that starts a page `offset` rows into the history (newest first)."""
    with Session(engine) as session:
        row = session.exec(
            select(AuditLog)
            .where(AuditLog.organization_id == org_id)
            .order_by(col(AuditLog.created_at).desc(), col(AuditLog.id).desc())
            .offset(offset)
            .limit(1)
        ).one()
    return make_cursor(row.created_at, row.id)


def timed(client: httpx.Client, path: str, requests: int) -> tuple[float, float, float]:
    client.get(path).raise_for_status()  # warm
    samples = []
    for _ in range(requests):
        started = time.perf_counter()
        client.get(path).raise_for_status()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.99) - 1], samples[-1]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--database-url", default=None, help="a PostgreSQL server to make a database on")
    options = parser.parse_args()
    if options.database_url:
        os.environ[TEST_DATABASE_ENV] = options.database_url
    with fresh_database_url() as url:
        settings = make_test_settings(url, logging={"level": "WARNING"})
        with serve_in_thread(settings, [("crm", CrmPlugin()), ("demo", EchoPlugin())]) as gateway:
            client = httpx.Client(base_url=gateway.base_url, timeout=30)
            print(f"database: {url.split('@')[-1]}")
            print("\npage weight (uncompressed bytes; goal: < 100 KB each)")
            print(f"{'page':<45} {'HTML':>8} {'assets':>8} {'total':>8}")
            for path, html, assets in page_weights(client):
                print(f"{path:<45} {html:>8} {assets:>8} {html + assets:>8}")

            org_id = gateway.runtime.tenancy.organization_id(ORG)
            started = time.perf_counter()
            fill_audit(gateway.runtime.engine, org_id, options.rows)
            print(f"\ninserted {options.rows:,} audit rows in {time.perf_counter() - started:.1f} s")
            first = client.get(f"/admin/orgs/{ORG}/audit").text
            cursor = re.search(r"cursor=(\d+)", first)
            deep = max(1, options.rows // 2)
            cases = [
                ("audit page 1", f"/admin/orgs/{ORG}/audit"),
                (
                    "audit page at row 50,000",
                    f"/admin/orgs/{ORG}/audit?cursor={cursor_at(gateway.runtime.engine, org_id, deep)}",
                ),
                ("audit filtered (actor)", f"/admin/orgs/{ORG}/audit?actor=user:bench_7"),
                ("audit filtered (rare action)", f"/admin/orgs/{ORG}/audit?entity_type=organization"),
            ]
            assert cursor is not None, "the audit page has no next-page link"
            print(f"\naudit page, {options.requests} sequential requests each (ms; goal: p99 < 50)")
            print(f"{'case':<32} {'p50':>7} {'p99':>7} {'max':>7}")
            for name, path in cases:
                p50, p99, worst = timed(client, path, options.requests)
                print(f"{name:<32} {p50:>7.1f} {p99:>7.1f} {worst:>7.1f}")


if __name__ == "__main__":
    main()
