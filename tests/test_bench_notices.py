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
