"""FastStream 0.7.8 without a broker: TestKafkaBroker, its in-memory test broker, runs
the subscriber in the publishing call (publish -> Pydantic decode -> handler), so
`consume` publishes N orders one after the other and times the whole. Prints the same
JSON line as tidings' `memory` bench. FastStream has no in-memory broker for
production use; this is its test double, the nearest thing it has.

  python bench_memory.py consume --n 100000
"""
import asyncio, json, resource, sys, time
from datetime import datetime, timezone
from decimal import Decimal

from faststream.kafka import KafkaBroker, TestKafkaBroker

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from app.main import OrderCreated  # noqa: E402

SENT = "x-bench-sent-ns"
broker = KafkaBroker("127.0.0.1:9092")
latencies = []


@broker.subscriber("bench.orders", group_id="bench")
async def consume(order: OrderCreated) -> None:
    _ = len(order.items)


def bench_order(n: int) -> dict:
    def line(sku, q, cents):
        return {"sku": sku, "quantity": q, "unit_price": f"{Decimal(cents) / 100:.2f}"}
    items = [line(f"SKU-{n % 7:03}", 1 + n % 3, 1990), line("SKU-GIFT", 1, 500), line("SKU-BOOK-0042", 2, 1250),
             line("SKU-PEN-0007", 3, 199), line("SKU-MUG-0311", 1, 899)]
    total = sum(Decimal(i["unit_price"]) * i["quantity"] for i in items)
    created = datetime.fromtimestamp(1_790_000_000 + n, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"order_id": f"order-{n}", "customer_email": f"customer{n}@example.com", "items": items,
            "total_amount": f"{total:.2f}", "created_at": created}


async def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else "consume"
    n = int(sys.argv[sys.argv.index("--n") + 1]) if "--n" in sys.argv else 100_000
    body = json.dumps(bench_order(1), separators=(",", ":")).encode()
    async with TestKafkaBroker(broker) as br:
        t0 = time.perf_counter()
        for _ in range(n):
            # Pre-encoded bytes, as the Rust benches publish: the handler side decodes.
            await br.publish(body, "bench.orders", headers={SENT: str(time.perf_counter_ns())})
        secs = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # The handler runs inside publish: the end-to-end latency is the publish call's time.
    per = secs / n * 1e6
    print(json.dumps({"impl": "faststream", "broker": "memory(TestKafkaBroker)", "mode": mode, "n": n,
                      "payload_bytes": len(body), "secs": round(secs, 4), "msgs_per_s": round(n / secs),
                      "p50_us": round(per, 1), "p99_us": None, "max_rss_kb": rss, "rss_kb": rss}))


if __name__ == "__main__":
    asyncio.run(main())
