"""How far a run has got: the items with a result, of how many, and the time left at the pace of
the items measured so far; said at most once every ``interval_seconds``, so that a short run
says nothing and a long one (the seed's 990 items) a line every half minute.

The pace counts only items measured in this run: items taken back from the journal
(``--energy-resume``) cost nothing, and would make the rest look cheap. Under xdist the
controller counts every worker's results, so the pace is the workers' together.
"""

from __future__ import annotations

from dataclasses import dataclass

PROGRESS_INTERVAL_SECONDS = 30.0


@dataclass
class Progress:
    total: int
    started_seconds: float
    interval_seconds: float = PROGRESS_INTERVAL_SECONDS
    done: int = 0
    measured: int = 0  # of ``done``, those measured now (not taken from the journal, not skipped)
    said_seconds: float | None = None

    def record(self, now_seconds: float, *, measured: bool = True) -> str | None:
        """Count one item's result (``measured``: in this run, so that it sets the pace); the
        line to say now, or None (too soon since the last, or the run's last item: the run's
        end says the rest)."""
        self.done += 1
        self.measured += measured
        if self.done >= self.total:
            return None
        last = self.said_seconds if self.said_seconds is not None else self.started_seconds
        if now_seconds - last < self.interval_seconds:
            return None
        self.said_seconds = now_seconds
        return progress_line(
            self.done, self.total, now_seconds - self.started_seconds, self.measured
        )


def progress_line(done: int, total: int, elapsed_seconds: float, measured: int) -> str:
    """``pruneenergy: 120 of 990 items, 6 min 02 s so far, about 43 min left``; no estimate
    before an item was measured in this run."""
    line = f"pruneenergy: {done} of {total} items, {duration_text(elapsed_seconds)} so far"
    if measured:
        left = elapsed_seconds / measured * (total - done)
        line += f", about {duration_text(left)} left"
    return line


def duration_text(seconds: float) -> str:
    """``45 s``, ``6 min 02 s``, ``1 h 05 min``."""
    whole = max(0, round(seconds))
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    return f"{whole // 3600} h {whole % 3600 // 60:02d} min"
