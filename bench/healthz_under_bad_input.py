"""Does bad input stall the service? ``/healthz`` latency while hostile bodies arrive.

Starts ``tocsin dev`` with the example config (logs as in production: JSON to a file),
then polls ``GET /healthz`` back to back for two windows of the same length:

- *quiet*: nothing else happens (the baseline, measured in the same run);
- *hostile*: meanwhile, 20 Events API bodies with ``custom_details`` nested 900 deep and 20
  bodies of 200,000 nested brackets arrive, unauthenticated, one after another.

Prints p50/p99/max of ``/healthz`` per window, the hostile/quiet ratio, what the hostile
requests were answered, and how much log they wrote. Before issue 11 a 900-deep body
stalled ``/healthz`` for minutes and wrote 105 MB of log.

    .venv/bin/python bench/healthz_under_bad_input.py
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from pathlib import Path

import httpx
from common import num, percentile, progress, running_stack

WINDOW = 10.0
BODIES = 20
ROOT = Path(__file__).resolve().parents[1]


def deep_event(depth: int) -> bytes:
    details = "[" * depth + "]" * depth
    return (
        '{"routing_key": "nope", "event_action": "trigger", "payload": {"summary": "s", '
        '"source": "bench", "severity": "critical", "custom_details": ' + details + "}}"
    ).encode()


async def poll(http: httpx.AsyncClient, until: float) -> list[float]:
    """``/healthz`` back to back until ``until`` (monotonic); latencies in ms."""
    latencies = []
    while time.monotonic() < until:
        started = time.perf_counter()
        response = await http.get("/healthz")
        latencies.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise RuntimeError(f"/healthz answered {response.status_code}")
    return latencies


async def hostile(http: httpx.AsyncClient) -> tuple[Counter[int], float]:
    """Send the hostile bodies spread over the window: their answers, and the slowest answer."""
    answers: Counter[int] = Counter()
    bodies = [deep_event(900), b"[" * 200_000] * BODIES
    slowest = 0.0
    for body in bodies:
        started = time.monotonic()
        response = await http.post("/webhooks/events", content=body)
        answers[response.status_code] += 1
        slowest = max(slowest, time.monotonic() - started)
        await asyncio.sleep(WINDOW / len(bodies))
    return answers, slowest


async def main() -> None:
    config = (ROOT / "tocsin.example.yaml").read_text()
    async with (
        running_stack("tocsin-healthz-", config, progress) as stack,
        httpx.AsyncClient(base_url=stack.api_url, timeout=600) as probe,
        httpx.AsyncClient(base_url=stack.api_url, timeout=600) as attacker,
    ):
        await poll(probe, time.monotonic() + 2)  # warm up
        progress("quiet window")
        quiet = await poll(probe, time.monotonic() + WINDOW)
        log_before = stack.log_path.stat().st_size
        progress("hostile window")
        started = time.monotonic()
        attack = asyncio.create_task(hostile(attacker))
        loud = await poll(probe, started + WINDOW)
        answers, slowest = await attack
        loud += await poll(probe, time.monotonic() + 1)
        log_growth = stack.log_path.stat().st_size - log_before

    print("\n/healthz latency (ms), polled back to back")
    print(f"{'window':<10}{'requests':>10}{'p50':>9}{'p99':>9}{'max':>9}")
    for name, values in (("quiet", quiet), ("hostile", loud)):
        print(
            f"{name:<10}{len(values):>10}{num(percentile(values, 50), 2):>9}"
            f"{num(percentile(values, 99), 2):>9}{num(max(values), 2):>9}"
        )
    ratio = percentile(loud, 99) / percentile(quiet, 99)
    print(f"\np99 hostile/quiet: {ratio:.2f}x")
    sent = ", ".join(f"{count} x {code}" for code, count in sorted(answers.items()))
    print(f"hostile bodies: {BODIES} x 900-deep custom_details + {BODIES} x 200,000 brackets")
    print(f"answered: {sent}, the slowest in {slowest * 1000:.1f} ms")
    print(f"log written during the hostile window: {log_growth:,} bytes")


if __name__ == "__main__":
    asyncio.run(main())
