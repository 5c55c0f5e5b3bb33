"""The notices bench (bench/notices.py) at tiny sizes, so that its code cannot rot: the
database match and the naive in-memory match of a few hundred subscriptions must agree
(match_figures raises when they do not), and a few notices must go through real worker
processes to the SMTP server, each once under its own Message-ID and marked sent."""

import pytest

from bench import notices

pytestmark = pytest.mark.integration


def test_the_match_bench_finds_the_same_subscriptions_both_ways(db):
    figures = dict(notices.match_figures(500, repeat=1))
    matched = [int(figure.split()[0]) for label, figure in figures.items() if "matched" in label]
    assert len(matched) == 2  # two processes, each agreeing both ways
    assert all(0 < count < 500 for count in matched), matched  # some match, not all


def test_the_send_bench_delivers_every_notice_once(transactional_db, tmp_path):
    figures = dict(notices.send_figures(40, workers=(2,), log_dir=tmp_path))
    assert float(figures["  e-mails per second"]) > 0


def test_the_send_bench_counts_the_prefork_children(transactional_db, tmp_path):
    """BENCH_NOTICE_CONCURRENCY: a worker with prefork children sends each notice once too,
    and the CPU per e-mail counts its children (the parent alone does not send)."""
    figures = dict(notices.send_figures(20, workers=(1,), log_dir=tmp_path, concurrency=2))
    assert "1 worker process (prefork x2): first e-mail after start (s)" in figures
    assert "  CPU per e-mail (ms): worker processes" in figures
