"""The targets Dolium's figures are held to, each with its measured value and a mark.

A target is a figure, never a failure: the bench reports "pass" or "MISS"
and goes on; "n/a" when a figure it needs was not measured (a phase left
out, a reference server not installed).
"""

from __future__ import annotations

from typing import Any

# LIST of the big bucket "no slower than" the 10k one: a p50 within this
# factor, for the noise of a shared machine.
LIST_NOISE = 1.10


def _get(results: dict[str, Any], *path: str) -> Any:
    node: Any = results
    for part in path:
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _target(
    what: str, value: float | None, goal: str, ok: bool | None, unit: str = ""
) -> dict[str, Any]:
    return {
        "target": what,
        "goal": goal,
        "value": None if value is None else round(value, 2),
        "unit": unit,
        "mark": "n/a" if ok is None else ("pass" if ok else "MISS"),
    }


def _ratio(a: Any, b: Any) -> float | None:
    return a / b if a and b else None


def evaluate(results: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    small = results.get("small", {})
    for op, goals in (
        ("GET", (("s3rver", 2.0), ("moto", 10.0), ("bare", 0.25))),
        ("PUT", (("moto", 5.0), ("s3rver", 2.0), ("bare", 0.10))),
    ):
        for c in (16, 64):
            mine = _get(small, "dolium", f"{op}/c{c}", "ops_per_s")
            for other, goal in goals:
                r = _ratio(mine, _get(small, other, f"{op}/c{c}", "ops_per_s"))
                name = "bare app" if other == "bare" else other
                out.append(
                    _target(
                        f"4 KiB {op} c{c}: Dolium / {name} ops/s",
                        r,
                        f">= {goal:g}x",
                        None if r is None else r >= goal,
                        "x",
                    )
                )
    for op in ("GET", "PUT"):
        for c in (16, 64):
            r = _ratio(
                _get(small, "bare", f"{op}/c{c}", "ops_per_s"),
                _get(small, "dolium", f"{op}/c{c}", "ops_per_s"),
            )
            out.append(
                _target(
                    f"load generator ceiling, {op} c{c}: bare app / Dolium ops/s",
                    r,
                    ">= 5x",
                    None if r is None else r >= 5.0,
                    "x",
                )
            )
    streams = (
        ("PUT", ("reference_points", "md5_mb_per_s"), "one core's MD5 MB/s"),
        ("GET", ("large", "bare", "GET/s1", "mb_per_s"), "bare app's stream"),
    )
    for op, reference, name in streams:
        mine = _get(results, "large", "dolium", f"{op}/s1", "mb_per_s")
        r = _ratio(mine, _get(results, *reference))
        target = f"single-stream {op} MB/s / {name}"
        out.append(_target(target, r, ">= 0.70", None if r is None else r >= 0.70))
    big_p50 = _get(results, "list", "dolium", "big", "p50_ms")
    keys = _get(results, "list", "dolium", "big", "keys")
    label = f"{keys:,}" if keys else "big"
    out.append(
        _target(
            f"LIST first page p50, {label} keys",
            big_p50,
            "<= 10 ms",
            None if big_p50 is None else big_p50 <= 10.0,
            "ms",
        )
    )
    r = _ratio(big_p50, _get(results, "list", "dolium", "10k", "p50_ms"))
    out.append(
        _target(
            f"LIST p50, {label} keys / 10k keys",
            r,
            f"<= 1 (within {LIST_NOISE:g} for noise)",
            None if r is None else r <= LIST_NOISE,
            "x",
        )
    )
    peak = _get(results, "big", "peak_rss_mib")
    size = _get(results, "big", "bytes")
    out.append(
        _target(
            f"streamed {size / 1024**3:g} GiB upload: server peak memory (PSS)"
            if size
            else "streamed upload: peak memory (PSS)",
            peak,
            "< 200 MiB",
            None if peak is None else peak < 200,
            "MiB",
        )
    )
    for c in (16, 64):
        r = _ratio(
            _get(results, "audit", "on", f"PUT/c{c}", "ops_per_s"),
            _get(results, "audit", "off", f"PUT/c{c}", "ops_per_s"),
        )
        out.append(
            _target(
                f"4 KiB PUT c{c} with the audit log / without",
                r,
                ">= 0.5 (recording must not halve writes)",
                None if r is None else r >= 0.5,
                "x",
            )
        )
    return out
