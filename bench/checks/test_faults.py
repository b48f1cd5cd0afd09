"""bench/faults.py's own judgements: which feed version a source's meetings
are after a kill, and how the searches sent while PostgreSQL restarted are
counted and checked."""

from bench.faults import Outcome, Sample, feed_records, feed_state, outage_checks, outage_summary, table

VERSIONS = {"v1": 3, "v2": 4}


def names(marker: str, count: int) -> list[str]:
    return [record["name"] for record in feed_records(marker=marker, count=count)]


def test_meetings_all_of_one_version_are_that_version():
    assert feed_state(live_names=names("v1", 3), versions=VERSIONS) == "v1"
    assert feed_state(live_names=names("v2", 4), versions=VERSIONS) == "v2"


def test_a_half_written_feed_is_mixed():
    assert feed_state(live_names=names("v1", 3)[:2] + names("v2", 4)[2:3], versions=VERSIONS) == "mixed"
    # Every record of the new version's names, but not all of its records.
    assert feed_state(live_names=names("v2", 4)[:3], versions=VERSIONS) == "mixed"
    assert feed_state(live_names=[], versions=VERSIONS) == "mixed"


def restart(*samples: Sample) -> Outcome:
    outcome = Outcome("postgres")
    outage_checks(outage_summary(list(samples), stopping=10.0, started_again=20.0), outcome)
    return outcome


GOOD = [Sample(1.0, 0.1, 200), Sample(12.0, 0.01, 503, retry_after=True), Sample(25.0, 0.1, 200)]


def test_200s_then_503s_with_retry_after_then_200s_pass():
    outcome = restart(*GOOD)
    assert outcome.passed, [c for c in outcome.checks if not c.passed]


def test_a_request_answered_after_the_stop_began_counts_as_down():
    summary = outage_summary([Sample(9.9, 0.5, 503, retry_after=True)], stopping=10.0, started_again=20.0)
    assert summary["before: by status"] == {} and summary["down: by status"] == {503: 1}


def failed_checks(outcome: Outcome) -> list[str]:
    return [c.name for c in outcome.checks if not c.passed]


def test_a_500_a_hang_a_503_without_retry_after_or_no_recovery_fail():
    assert failed_checks(restart(*GOOD, Sample(13.0, 0.1, 500))) == ["no other status"]
    assert failed_checks(restart(*GOOD, Sample(13.0, 10.0, None, hung=True))) == ["no request hung"]
    assert failed_checks(restart(*GOOD, Sample(13.0, 0.1, 503))) == ["every 503 carries Retry-After"]
    assert failed_checks(restart(*GOOD, Sample(26.0, 0.1, 503, retry_after=True))) == [
        "searches succeed again after the restart, app not restarted"]
    assert failed_checks(restart(*GOOD[::2])) == ["the outage was seen: 503s while PostgreSQL was down"]


def test_the_table_says_which_check_failed():
    outcome = restart(*GOOD, Sample(13.0, 0.1, 500))
    text = table([outcome])
    assert "[FAIL] no other status" in text and "SOME CHECKS FAILED" in text
    assert "all checks passed" in table([restart(*GOOD)])
