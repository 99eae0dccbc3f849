"""Network stressor: TCP traffic over loopback between two endpoints inside the stressor.

A listener on 127.0.0.1 (ephemeral port) accepts one connection; a sender thread writes
`block_kb` buffers, capped at `rate_mbit_s` if given, and the main thread receives and counts.
Both socket calls release the GIL, so one process keeps both ends busy. The bytes show in the
`lo` interface counters.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from typing import Any

from core.stressors._runtime import RateMeter, Reporter, Stop, shaped_pacer


def run_network(params: dict[str, Any], stop: Stop, reporter: Reporter) -> None:
    block = int(params["block_kb"]) * 1024
    rate_param = params.get("rate_mbit_s")
    pacer = shaped_pacer(rate_param, stop, 1e6 / 8)  # a shaped cap (core.shapes)
    rate = float(rate_param) * 1e6 / 8 if rate_param and pacer is None else 0.0
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    sender = socket.create_connection(listener.getsockname())
    receiver, _ = listener.accept()
    listener.close()
    for s in (sender, receiver):
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sender.settimeout(0.2)
    receiver.settimeout(0.2)
    payload = bytes(range(256)) * (block // 256) + bytes(block % 256)
    sent = [0]
    failure: list[BaseException] = []

    def send_loop() -> None:
        t0 = time.monotonic()
        try:
            while not stop.done():
                wait = pacer.wait_s(sent[0], time.monotonic()) if pacer else 0.0
                if wait:
                    time.sleep(wait)
                    continue
                if rate:
                    ahead = sent[0] / rate - (time.monotonic() - t0)
                    if ahead > 0:
                        time.sleep(min(ahead, 0.05))
                        continue
                try:
                    sent[0] += sender.send(payload)
                except TimeoutError:
                    continue
        except OSError as exc:
            failure.append(exc)
        finally:
            with contextlib.suppress(OSError):
                sender.shutdown(socket.SHUT_WR)

    thread = threading.Thread(target=send_loop, name="twin-stress-net-send", daemon=True)
    thread.start()
    meter = RateMeter(("stress_net_bytes_per_s",))
    received = 0
    buf = bytearray(max(block, 1 << 16))
    reporter.publish({"stress_net_bytes_per_s": 0.0}, port=receiver.getsockname()[1])
    try:
        while not stop.done():
            try:
                n = receiver.recv_into(buf)
            except TimeoutError:
                n = -1
            if n == 0:
                break
            received += max(n, 0)
            if meter.due():
                reporter.publish(meter.rates({"stress_net_bytes_per_s": float(received)}))
    finally:
        thread.join(1.0)
        receiver.close()
        sender.close()
    if failure:
        raise failure[0]
    reporter.publish(meter.rates({"stress_net_bytes_per_s": float(received)}))
