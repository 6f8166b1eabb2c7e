"""FastStream 0.7.8 on Kafka (aiokafka), the same scenarios as tidings' `kafka` bench:
`consume --topic T` (N orders through a subscriber: Pydantic decode, handler; timed
from the first message) and `publish --topic T` (N publishes, each awaited for the
broker's confirmation, 256 in flight). Prints the same JSON line.
"""
import asyncio, json, os, resource, sys, time

from faststream.kafka import KafkaBroker

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from app.main import OrderCreated  # noqa: E402
from bench_memory import bench_order  # noqa: E402


def arg(name, default):
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else default


async def main():
    mode = sys.argv[1]
    n = int(arg("--n", "100000"))
    topic = arg("--topic", "bench.orders")
    body = json.dumps(bench_order(1), separators=(",", ":")).encode()
    broker = KafkaBroker("127.0.0.1:9092", logger=None)
    state = {"seen": 0, "first": None}
    done = asyncio.Event()
    if mode == "consume":
        @broker.subscriber(topic, group_id=f"fs-{os.getpid()}", auto_offset_reset="earliest")
        async def consume(order: OrderCreated) -> None:
            if state["first"] is None:
                state["first"] = time.perf_counter()
            _ = len(order.items)
            state["seen"] += 1
            if state["seen"] >= n:
                done.set()
    await broker.start()
    if mode == "consume":
        await done.wait()
        secs = time.perf_counter() - state["first"]
    else:
        t0 = time.perf_counter()
        sem = asyncio.Semaphore(256)

        async def one():
            async with sem:
                await broker.publish(body, topic)
        await asyncio.gather(*(one() for _ in range(n)))
        secs = time.perf_counter() - t0
    await broker.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"impl": "faststream", "broker": "kafka", "mode": mode, "n": n, "payload_bytes": len(body),
                      "secs": round(secs, 4), "msgs_per_s": round(n / secs), "p50_us": None, "p99_us": None,
                      "max_rss_kb": rss, "rss_kb": rss}))


asyncio.run(main())
