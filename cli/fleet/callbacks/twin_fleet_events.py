"""Ansible stdout callback for `twin fleet run`: one JSON object per line, nothing else.

Loaded by ansible-playbook from this directory (`ANSIBLE_CALLBACK_PLUGINS`), never imported by
twin itself: the fleet runner reads these lines to show progress per host and to learn each
host's outcome (`cli.fleet.progress`).
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
    name: twin_fleet_events
    type: stdout
    short_description: JSON lines for twin fleet
    description: One JSON object per task result, retry and the final stats.
"""

# Result keys worth sending (the rest can be large: file contents, full module args).
KEPT = ("msg", "rc", "attempts", "retries", "finished", "stderr_lines", "unreachable")
FACTS = ("twin_run_name", "twin_run_dir", "twin_root")


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "stdout"
    CALLBACK_NAME = "twin_fleet_events"

    def _emit(self, event: str, **fields: Any) -> None:
        line = json.dumps({"event": event, "time": time.time(), **fields}, default=str)
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    def _result(self, event: str, result: Any) -> None:
        data = result._result
        fields: dict[str, Any] = {k: data[k] for k in KEPT if k in data}
        if isinstance(fields.get("stderr_lines"), list):
            fields["stderr_lines"] = fields["stderr_lines"][-5:]
        facts = data.get("ansible_facts") or {}
        fields["facts"] = {k: facts[k] for k in FACTS if k in facts}
        self._emit(
            event,
            host=result._host.get_name(),
            task=result._task.get_name(),
            changed=bool(data.get("changed")),
            **fields,
        )

    def v2_playbook_on_task_start(self, task: Any, is_conditional: bool) -> None:
        self._emit("task", task=task.get_name())

    def v2_runner_on_ok(self, result: Any) -> None:
        self._result("ok", result)

    def v2_runner_on_failed(self, result: Any, ignore_errors: bool = False) -> None:
        self._result("ignored" if ignore_errors else "failed", result)

    def v2_runner_on_unreachable(self, result: Any) -> None:
        self._result("unreachable", result)

    def v2_runner_on_skipped(self, result: Any) -> None:
        self._result("skipped", result)

    def v2_runner_retry(self, result: Any) -> None:
        self._result("retry", result)

    def v2_playbook_on_stats(self, stats: Any) -> None:
        hosts = {name: stats.summarize(name) for name in sorted(stats.processed)}
        self._emit("stats", hosts=hosts)
