"""Wall-clock seconds per part of the seed, so `seed_demo` and `make bench` show where the
time goes (and a part that stops scaling linearly shows up at once)."""

import time
from contextlib import contextmanager


class Phases:
    """Seconds per named phase, in the order first seen; a phase timed twice adds up."""

    def __init__(self):
        self.seconds: dict[str, float] = {}

    @contextmanager
    def phase(self, name: str):
        self.seconds.setdefault(name, 0.0)  # listed before the phases timed inside it
        started = time.perf_counter()
        try:
            yield
        finally:
            self.add(name, time.perf_counter() - started)

    def add(self, name: str, seconds: float) -> None:
        self.seconds[name] = self.seconds.get(name, 0.0) + seconds

    def lines(self) -> list[str]:
        return [f"  {name:<34} {seconds:8.2f} s" for name, seconds in self.seconds.items()]
