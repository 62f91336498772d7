"""Fault injection against the real daemon: a dripping endpoint beside a healthy one, a daemon and
``deliver --now`` on one database, a 404 outage with requeue, and kill -9 mid-send then restart.

Each test counts what a loopback receiver got against what was raised (``faults.Tally``): lost, posted twice,
out of order per claim, ending on a stale state. The scenarios live in ``fault_scenarios`` so that
``bench/delivery_faults.py`` runs the very same ones many times.
"""

from __future__ import annotations

import pytest

from fault_scenarios import (RESTART_BOUND, dripping_beside_healthy, kill_during_send, outage_404, side_by_side,
                             stuck_channel_health, utc_now)


def assert_clean(outcome, name: str, *, resent_allowed: bool = True) -> None:
    tally = outcome.tallies[name]
    figures = outcome.describe()
    assert tally.lost == 0, figures
    assert tally.doubled == 0, figures
    assert tally.out_of_order == 0, figures
    assert tally.stale_end == 0, figures
    if not resent_allowed:
        assert tally.posts == tally.expected, figures  # every id posted exactly once


def test_a_dripping_channel_delays_only_itself_and_is_cut(tmp_path):
    """Alerts from a real poll and from the queue: the healthy channel gets them all while the other drips;
    the drip is cut at the channel's deadline, and once it answers again it gets every alert, in order."""
    outcome = dripping_beside_healthy(tmp_path, utc_now())
    assert outcome.extra["b_all_delivered"], outcome.describe()
    assert outcome.extra["a_cut"], outcome.describe()  # the drip server saw the send hung up
    assert outcome.extra["a_all_delivered"], outcome.describe()
    assert_clean(outcome, "b", resent_allowed=False)
    assert_clean(outcome, "a")


def test_healthz_names_a_stuck_channel_until_it_recovers(tmp_path):
    outcome = stuck_channel_health(tmp_path, utc_now())
    assert outcome.extra["started"], outcome.extra["log_tail"]
    degraded = outcome.extra["degraded"]
    assert degraded, outcome.describe()
    code, report = degraded
    assert code == 200 and report["reason"], report
    assert report["channels"]["a"]["state"] in ("stuck", "paused", "disabled"), report
    # The healthy channel is not named as stuck (it may be listed as fine).
    assert report["channels"].get("b", {}).get("state") not in ("stuck", "paused", "disabled"), report
    assert 'news_monitor_channel_stuck{channel="a"} 1.0' in outcome.extra["stuck_metric"], outcome.extra
    assert outcome.extra["b_all_delivered"] and outcome.extra["a_all_delivered"], outcome.describe()
    assert outcome.extra["recovered"], outcome.describe()
    assert 'news_monitor_channel_stuck{channel="a"} 0.0' in outcome.extra["stuck_metric_after"], outcome.extra
    assert_clean(outcome, "a")


def test_deliver_now_beside_the_daemon_posts_every_alert_once(tmp_path, database_setting):
    outcome = side_by_side(tmp_path, utc_now(), seed=16, database=database_setting)
    assert outcome.extra["all_delivered"], outcome.describe()
    assert_clean(outcome, "hook", resent_allowed=False)


def test_a_404_outage_loses_nothing_and_each_claim_ends_on_its_latest_state(tmp_path):
    outcome = outage_404(tmp_path, utc_now())
    assert outcome.extra["refused_posts"] > 0, outcome.describe()  # the outage was really met
    assert outcome.extra["dead_after_outage"] == 0, outcome.describe()
    assert outcome.extra["dead_at_end"] == 0, outcome.describe()
    assert_clean(outcome, "hook")


@pytest.mark.parametrize("seed", [None, 1, 2], ids=["held-send", "random-kill-1", "random-kill-2"])
def test_kill_9_mid_send_then_restart_delivers_everything_soon(tmp_path, seed, database_setting):
    outcome = kill_during_send(tmp_path, utc_now(), seed=seed, database=database_setting)
    if seed is None:
        assert outcome.extra["held"], outcome.describe()  # the kill landed in a send
    assert outcome.extra["all_delivered"], outcome.describe()
    assert outcome.extra["restart_to_last"] <= RESTART_BOUND, outcome.describe()
    assert outcome.extra["resent_ids_in_flight"], outcome.describe()  # only the send in flight went twice
    assert_clean(outcome, "hook")
