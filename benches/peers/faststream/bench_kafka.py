"""FastStream 0.7.8 on Kafka (aiokafka), the same scenarios as tidings' `kafka` bench:
`consume --topic T` (N orders through a subscriber: Pydantic decode, handler; timed
from the first message), `publish --topic T` (N publishes, each awaited for the
broker's confirmation, 256 in flight) and `latency --topic T [--rate R]` (one process
publishes N orders R a second, default 1,000, each stamped with the send time in a
header and confirmed in a task of its own, and consumes them; the handler records now
minus the stamp; unstamped warm-ups go out every 50 ms until the consumer has one;
`--fetch-wait-ms MS` sets the subscriber's `fetch_max_wait_ms`).
Prints the same JSON line.
"""
import asyncio, json, math, os, resource, sys, time

from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from app.main import OrderCreated  # noqa: E402
from bench_memory import bench_order  # noqa: E402


SENT_HEADER = "x-bench-sent-ns"


def arg(name, default):
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else default


def percentile(sorted_values, p):
    """Nearest rank, as tidings_benches::percentile."""
    if not sorted_values:
        return 0
    rank = max(1, min(len(sorted_values), math.ceil(p / 100 * len(sorted_values))))
    return sorted_values[rank - 1]


async def main():
    mode = sys.argv[1]
    n = int(arg("--n", "100000"))
    topic = arg("--topic", "bench.orders")
    body = json.dumps(bench_order(1), separators=(",", ":")).encode()
    broker = KafkaBroker("127.0.0.1:9092", logger=None)
    state = {"seen": 0, "first": None, "warm": False, "latencies": []}
    done = asyncio.Event()
    if mode == "latency":
        # --fetch-wait-ms: aiokafka's fetch_max_wait_ms (500 by default, as librdkafka's).
        @broker.subscriber(topic, group_id=f"fs-latency-{os.getpid()}", auto_offset_reset="earliest",
                           fetch_max_wait_ms=int(arg("--fetch-wait-ms", "500")))
        async def consume_latency(order: OrderCreated, msg: KafkaMessage) -> None:
            _ = len(order.items)
            sent = msg.headers.get(SENT_HEADER)
            if sent is None:
                state["warm"] = True
                return
            state["latencies"].append(time.perf_counter_ns() - int(sent))
            if len(state["latencies"]) >= n:
                done.set()
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
    latencies = []
    if mode == "consume":
        await done.wait()
        secs = time.perf_counter() - state["first"]
    elif mode == "latency":
        rate = int(arg("--rate", "1000"))
        tasks = set()

        def send(headers):
            t = asyncio.create_task(broker.publish(body, topic, headers=headers))
            tasks.add(t)
            t.add_done_callback(tasks.discard)

        deadline = time.perf_counter() + 60
        while not state["warm"]:
            if time.perf_counter() > deadline:
                sys.exit("no warm-up message came back within 60 s")
            send(None)
            await asyncio.sleep(0.05)
        t0 = time.perf_counter()
        for i in range(n):
            delay = t0 + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            send({SENT_HEADER: str(time.perf_counter_ns())})
        try:
            await asyncio.wait_for(done.wait(), 60)
        except TimeoutError:
            sys.exit(f"{len(state['latencies'])} of {n} stamped messages came back within 60 s")
        secs = time.perf_counter() - t0
        latencies = sorted(state["latencies"])
    else:
        t0 = time.perf_counter()
        # --in-flight: publishes awaiting confirmation at once (256 by default, as the others).
        sem = asyncio.Semaphore(int(arg("--in-flight", "256")))

        async def one():
            async with sem:
                await broker.publish(body, topic)
        await asyncio.gather(*(one() for _ in range(n)))
        secs = time.perf_counter() - t0
    await broker.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"impl": "faststream", "broker": "kafka", "mode": mode, "n": n, "payload_bytes": len(body),
                      "secs": round(secs, 4), "msgs_per_s": round(n / secs),
                      "p50_us": round(percentile(latencies, 50) / 1000, 1) if latencies else None,
                      "p99_us": round(percentile(latencies, 99) / 1000, 1) if latencies else None,
                      "max_rss_kb": rss, "rss_kb": rss}))


asyncio.run(main())
