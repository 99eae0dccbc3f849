"""The model file: a JSON document, and where models live (`data/models/model-<host id>.json`).

Format (`"format": "server-twin-model"`, `"version": 1`):

- `host`: the fingerprint of the machine the training runs were recorded on (`host["id"]`);
- `n_cpus`, `ram_bytes`, `swap_bytes`: the machine's size, used for drives and warnings;
- `training_runs`: one entry per run (id, path, profile, samples, events);
- `start_lag_s`: per stressor kind, the mean delay between planned and actual event starts;
- `end_lag_s`: per kind, the median delay between planned and actual event ends (a stressor
  takes its time to stop and give back its memory; absent: the start lag);
- `fill_mb_s`, `fill_knee_mb`, `fill_slow_mb_s`: how fast memory becomes resident (null when
  not learnt; no knee: one rate), `fill_threads`: with how many threads (1 when absent),
  `fill_spread`: how much faster or slower a fill may run (relative; absent: `FILL_SPREAD`),
  `fill_knee_backed`: the knee's fast MiB are pages freed before in the run (absent: false),
  `fill_contended`: `[cores, MiB/s]` pairs, the slow rate training fills kept while sharing
  the cores with CPU events (absent or empty: the rate scales with the share);
- `release_share`, `release_drain_mb_s`, `release_most_mb`: what a memory event's fill
  leaves to drain (a share of its size, at most `release_most_mb` MiB) and the MiB/s it drains
  at from the fill's end: what is left when the event lets go stays counted as used meanwhile
  (null when not learnt: files from before it, or too few releases);
- `pcp_ref_bytes`: the free pages the kernel's per-CPU lists held at the median training
  sample: the memory levels are learnt as at that count, and each memory metric's
  `fit.pcp_tails` (quantiles of what the count's departures moved it by) widens its bands
  (`core.model.percpu`; null when a training run did not record `mem_pcp_free_bytes`);
- `pcp_idle_bytes`, `pcp_held_bytes`, `pcp_drain_bytes_s`, `pcp_jumps`: how the lists move
  with memory events (`core.model.pcp_lists`: their count idle and while memory is held, the
  pace they drain at after a release, `[MiB released, bytes they jump by]` pairs); a prediction
  draws that count, and `fit.pcp_tails` is then the spread around it (null or absent: files
  from before it, or no training run held memory);
- `kinds`: per stressor kind, its drive features, their largest training values
  (`feature_max`) and how many training events it had;
- `metrics`: per metric, `baseline`, `average` (interval-averaged or a level), `lower`/`upper`
  bounds, `terms` (per kind: `tau_rise_s`, `tau_fall_s`, `gains` per feature, `primary`:
  False for a side effect, whose features are capped at the training range) and `fit`
  (in-sample `r2`, `mae`, `rmse`, `n`).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from core.errors import BadInput
from core.model.fills import FILL_SPREAD, FillProfile
from core.model.pcp_lists import ListsProfile
from core.model.transients import ReleaseProfile
from core.rundir.atomic import write_json_atomic
from core.rundir.layout import DEFAULT_MODELS_DIR as DEFAULT_MODELS_DIR  # re-exported

FORMAT = "server-twin-model"
VERSION = 1


@dataclass
class Term:
    """How one stressor kind moves one metric."""

    tau_rise_s: float
    tau_fall_s: float
    gains: dict[str, float]
    primary: bool = True  # False: a side effect, not extrapolated past the training range


@dataclass
class MetricModel:
    """baseline + sum over events of gains . features x first-order response, within bounds."""

    baseline: float
    average: bool
    lower: float | None = None
    upper: float | None = None
    terms: dict[str, Term] = field(default_factory=dict)
    fit: dict[str, Any] = field(default_factory=dict)
    """In-sample r2/mae/rmse/n, and the spread the intervals use (`core.model.intervals`)."""


@dataclass
class TwinModel:
    host: dict[str, Any]
    n_cpus: int
    ram_bytes: float
    metrics: dict[str, MetricModel]
    kinds: dict[str, dict[str, Any]] = field(default_factory=dict)
    start_lag_s: dict[str, float] = field(default_factory=dict)
    end_lag_s: dict[str, float] = field(default_factory=dict)
    training_runs: list[dict[str, Any]] = field(default_factory=list)
    interval_s: float = 1.0
    swap_bytes: float = 0.0
    created_at: str = ""
    fill_mb_s: float | None = None
    """MiB/s this machine made memory resident in training (None: not learnt); with a knee,
    the rate of its first `fill_knee_mb` MiB, the rest at `fill_slow_mb_s` (per whole core)."""
    fill_knee_mb: float | None = None
    fill_slow_mb_s: float | None = None
    fill_threads: int = 1
    fill_spread: float = FILL_SPREAD
    fill_knee_backed: bool = False
    fill_contended: tuple[tuple[float, float], ...] = ()
    release_share: float | None = None
    """The share of a memory event's size its fill leaves to drain (at most `release_most_mb`)
    at `release_drain_mb_s` from the fill's end (None: not learnt)."""
    release_drain_mb_s: float | None = None
    release_most_mb: float | None = None
    pcp_ref_bytes: float | None = None
    """The per-CPU free lists' median count in training, the memory levels' reference (None:
    not recorded)."""
    pcp_idle_bytes: float | None = None
    pcp_held_bytes: float | None = None
    pcp_drain_bytes_s: float | None = None
    pcp_jumps: tuple[tuple[float, float], ...] = ()

    @property
    def lists(self) -> ListsProfile | None:
        """How the lists move with memory events (`core.model.pcp_lists`), or None."""
        if self.pcp_ref_bytes is None or self.pcp_idle_bytes is None:
            return None
        if self.pcp_held_bytes is None:
            return None
        return ListsProfile(
            self.pcp_idle_bytes, self.pcp_held_bytes, self.pcp_drain_bytes_s, self.pcp_jumps
        )

    @property
    def release(self) -> ReleaseProfile | None:
        """The learnt release residue (`core.model.transients`), or None."""
        if self.release_share is None or not self.release_drain_mb_s:
            return None
        most = math.inf if self.release_most_mb is None else self.release_most_mb
        return ReleaseProfile(self.release_share, self.release_drain_mb_s, most)

    @property
    def fill(self) -> FillProfile | None:
        """The learnt fill (`core.model.fills`), or None."""
        if not self.fill_mb_s or self.fill_mb_s <= 0:
            return None
        return FillProfile(
            self.fill_mb_s,
            self.fill_knee_mb,
            self.fill_slow_mb_s,
            max(1, self.fill_threads),
            self.fill_spread,
            self.fill_knee_backed,
            self.fill_contended,
            self.kinds.get("memory", {}).get("feature_max", {}).get("size_mb") or None,
        )

    @property
    def host_id(self) -> str:
        return str(self.host.get("id", ""))

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": VERSION,
            "created_at": self.created_at,
            "host": self.host,
            "n_cpus": self.n_cpus,
            "ram_bytes": self.ram_bytes,
            "swap_bytes": self.swap_bytes,
            "interval_s": self.interval_s,
            "training_runs": self.training_runs,
            "start_lag_s": self.start_lag_s,
            "end_lag_s": self.end_lag_s,
            "fill_mb_s": self.fill_mb_s,
            "fill_knee_mb": self.fill_knee_mb,
            "fill_slow_mb_s": self.fill_slow_mb_s,
            "fill_threads": self.fill_threads,
            "fill_spread": self.fill_spread,
            "fill_knee_backed": self.fill_knee_backed,
            "fill_contended": [list(pair) for pair in self.fill_contended],
            "release_share": self.release_share,
            "release_drain_mb_s": self.release_drain_mb_s,
            "release_most_mb": self.release_most_mb,
            "pcp_ref_bytes": self.pcp_ref_bytes,
            "pcp_idle_bytes": self.pcp_idle_bytes,
            "pcp_held_bytes": self.pcp_held_bytes,
            "pcp_drain_bytes_s": self.pcp_drain_bytes_s,
            "pcp_jumps": [list(pair) for pair in self.pcp_jumps],
            "kinds": self.kinds,
            "metrics": {name: asdict(m) for name, m in self.metrics.items()},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TwinModel:
        metrics: dict[str, MetricModel] = {}
        for name, m in data["metrics"].items():
            terms = {
                k: Term(
                    float(t["tau_rise_s"]),
                    float(t["tau_fall_s"]),
                    dict(t["gains"]),
                    bool(t.get("primary", True)),
                )
                for k, t in m.get("terms", {}).items()
            }
            metrics[name] = MetricModel(
                baseline=float(m["baseline"]),
                average=bool(m.get("average", True)),
                lower=m.get("lower"),
                upper=m.get("upper"),
                terms=terms,
                fit=dict(m.get("fit", {})),
            )
        return cls(
            host=dict(data.get("host", {})),
            n_cpus=int(data["n_cpus"]),
            ram_bytes=float(data["ram_bytes"]),
            swap_bytes=float(data.get("swap_bytes", 0.0)),
            metrics=metrics,
            kinds=dict(data.get("kinds", {})),
            start_lag_s={k: float(v) for k, v in data.get("start_lag_s", {}).items()},
            end_lag_s={k: float(v) for k, v in (data.get("end_lag_s") or {}).items()},
            training_runs=list(data.get("training_runs", [])),
            interval_s=float(data.get("interval_s", 1.0)),
            created_at=str(data.get("created_at", "")),
            fill_mb_s=_optional(data, "fill_mb_s"),
            fill_knee_mb=_optional(data, "fill_knee_mb"),
            fill_slow_mb_s=_optional(data, "fill_slow_mb_s"),
            fill_threads=int(data.get("fill_threads") or 1),
            fill_spread=float(data.get("fill_spread") or FILL_SPREAD),
            fill_knee_backed=data.get("fill_knee_backed") is True,  # JSON true only
            fill_contended=_pairs(data, "fill_contended"),
            release_share=_optional(data, "release_share"),
            release_drain_mb_s=_optional(data, "release_drain_mb_s"),
            release_most_mb=_optional(data, "release_most_mb"),
            pcp_ref_bytes=_optional(data, "pcp_ref_bytes"),
            pcp_idle_bytes=_optional(data, "pcp_idle_bytes"),
            pcp_held_bytes=_optional(data, "pcp_held_bytes"),
            pcp_drain_bytes_s=_optional(data, "pcp_drain_bytes_s"),
            pcp_jumps=_pairs(data, "pcp_jumps", zero_second=True),
        )

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_json_atomic(path, self.to_json())


def _optional(data: dict[str, Any], key: str) -> float | None:
    """A number the model file may lack (files from before it was learnt): None then."""
    value = data.get(key)
    return None if value is None else float(value)


def _pairs(
    data: dict[str, Any], key: str, zero_second: bool = False
) -> tuple[tuple[float, float], ...]:
    """Positive `[a, b]` number pairs the model file may lack (empty then; `zero_second`: b may
    be 0); `ValueError` for anything else."""
    pairs = []
    for pair in data.get(key) or []:
        a, b = (float(v) for v in pair)
        if not (a > 0 and (b > 0 or (zero_second and b == 0)) and math.isfinite(a + b)):
            raise ValueError(f"{key}: {pair!r} is not two positive numbers")
        pairs.append((a, b))
    return tuple(sorted(pairs))


def load_model(path: Path) -> TwinModel:
    """Read a model file; `BadInput` (one line) when it is missing or not a model."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise BadInput(f"{path}: cannot read model: {exc.strerror or exc}") from None
    except (ValueError, UnicodeDecodeError):
        raise BadInput(f"{path}: not a model file (not JSON)") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise BadInput(f"{path}: not a server-twin model file")
    if int(data.get("version", 0)) > VERSION:
        raise BadInput(
            f"{path}: model format version {data.get('version')} is newer than {VERSION}"
        )
    try:
        return TwinModel.from_json(data)
    except (KeyError, TypeError, ValueError) as exc:
        raise BadInput(f"{path}: damaged model file ({exc})") from None


def default_model_path(host_id: str, models_dir: Path = DEFAULT_MODELS_DIR) -> Path:
    return models_dir / f"model-{host_id}.json"


def find_model(host_id: str, models_dir: Path = DEFAULT_MODELS_DIR) -> Path | None:
    """The newest model for this host in `models_dir`; else the newest model of any host."""
    if not models_dir.is_dir():
        return None
    candidates = sorted(
        (p for p in models_dir.glob("*.json") if p.is_file()),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    fallback: Path | None = None
    for path in candidates:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError, UnicodeDecodeError):
            continue
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            continue
        if str(data.get("host", {}).get("id", "")) == host_id:
            return path
        if fallback is None:
            fallback = path
    return fallback
