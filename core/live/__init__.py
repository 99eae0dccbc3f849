"""Live outputs: a run appears where operators already look, while it records.

- `metrics_endpoint`: a Prometheus `/metrics` endpoint (prometheus-client) fed from the
  latest sample.
- `influx`: the InfluxDB HTTP client (1.x `/write`, 2.x `/api/v2/write`) and `twin export
  --to influx`.
- `stream`: a `RunListener` that streams rows to InfluxDB in batches while a run records.
- `fanout`: one listener that forwards to several (a run takes one listener).

Every listener here only stores or queues what it is given: serving and sending happen on
their own threads, so the sampler is never blocked or delayed.
"""
