"""Waiting estimates: robust service times and the minutes announced, worked out by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.queue.eta import (
    Forecast,
    OpenStation,
    ServiceTimes,
    average_minutes,
    forecast,
    quantile,
    service_times,
    staffed,
    waiting_range,
    without_outliers,
)
from app.queue.ordering import Caller, Waiting

NOON = datetime(2026, 12, 1, 11, 0, tzinfo=UTC)
THRESHOLD = timedelta(minutes=30)
STANDARD = Caller("standard", accessible=False)
DOUBLE = Caller("double", accessible=True)
CATALOG = ServiceTimes(*(timedelta(minutes=30),) * 3)


def minutes(*values: float) -> ServiceTimes:
    low, typical, high = (timedelta(minutes=v) for v in values)
    return ServiceTimes(low, typical, high)


def minutes_ago(n: float) -> datetime:
    return NOON - timedelta(minutes=n)


# Statistics


def test_a_quantile_interpolates_between_the_sorted_values() -> None:
    assert quantile([7.0], 0.9) == 7.0
    assert quantile([1, 2, 3, 4], 0.5) == 2.5
    assert quantile([1, 2, 3, 4, 5], 0.25) == 2.0
    assert quantile([0, 10], 0.1) == 1.0
    assert quantile([10, 20, 40], 0.75) == 30.0
    assert quantile([1, 2, 3, 4], 0.0) == 1
    assert quantile([1, 2, 3, 4], 1.0) == 4


def test_fewer_than_four_values_are_only_sorted() -> None:
    assert without_outliers([3, 1, 2]) == [1, 2, 3]
    assert without_outliers([1, 2, 100]) == [1, 2, 100]
    assert without_outliers([]) == []


def test_from_four_values_the_far_ones_are_cut() -> None:
    # Quartiles 1.75 and 27.25: the fences are 38.25 beyond them.
    assert without_outliers([100, 3, 2, 1]) == [1, 2, 3]


def test_a_value_exactly_on_a_fence_is_kept_and_one_beyond_is_dropped() -> None:
    middle = [40, 40, 45, 50, 55, 60, 60]  # quartiles 40 and 60: fences at 10 and 90

    assert without_outliers([90, *middle, 10]) == [10, *middle, 90]
    assert without_outliers([90.5, *middle, 9.5]) == middle
    assert without_outliers([90.5, *middle, 10]) == [10, *middle]
    assert without_outliers([90, *middle, 9.5]) == [*middle, 90]


def test_with_no_history_a_service_takes_its_catalog_time() -> None:
    assert service_times([], 30) == minutes(30, 30, 30)


def test_fewer_than_eight_durations_are_padded_with_the_catalog_time() -> None:
    # 10, 20 and six 30s.
    assert service_times([10, 20], 30) == minutes(17, 30, 30)
    # Six 30s, 40 and 50: the padding is sorted in with the rest.
    assert service_times([40, 50], 30) == minutes(30, 30, 43)


def test_no_service_is_expected_to_take_less_than_half_its_catalog_time() -> None:
    assert service_times([5] * 10, 30) == minutes(15, 15, 15)
    assert service_times([14, 16] * 5, 30) == minutes(15, 15, 16)


def test_a_zero_duration_counts_and_a_negative_one_does_not() -> None:
    # 0, 10, 20, 30 and four 40s; the floor is 20.
    assert service_times([0, 10, 20, 30], 40) == minutes(20, 35, 40)
    assert service_times([0, -5, 10, 20, 30], 40) == minutes(20, 35, 40)


def test_only_the_latest_forty_durations_count() -> None:
    newest_first = [10] * 20 + [20] * 20 + [30] * 5

    assert service_times(newest_first, 10) == minutes(10, 15, 20)


def test_outliers_are_cut_before_the_quantiles() -> None:
    recent = [20, 22, 18, 21, 19, 20, 23, 17, 20, 0.05, 480]

    # Left: 17 to 23; the quartiles of all eleven were 18.5 and 21.5.
    assert service_times(recent, 20) == ServiceTimes(
        timedelta(seconds=1068), timedelta(minutes=20), timedelta(seconds=1332)
    )


def test_the_usual_duration_is_the_robust_typical_one() -> None:
    assert average_minutes([10] * 20 + [1000], default=20) == 10
    assert average_minutes([], default=20) == 20
    assert average_minutes([4] * 10, default=20) == 10


# The lobby screen's range for a newcomer


@pytest.mark.parametrize(
    ("ahead", "stations", "average", "expected"),
    [
        (0, 1, 10, (0, 13)),
        (1, 1, 10, (8, 25)),
        (3, 2, 10, (8, 25)),
        (4, 2, 10, (16, 38)),
        (1, 1, 3, (2, 8)),
        (2, 1, 0, (0, 1)),
        (0, 0, 10, None),
        (5, -1, 10, None),
    ],
)
def test_a_newcomers_range_counts_full_rounds_of_the_stations(
    ahead: int, stations: int, average: float, expected: tuple[int, int] | None
) -> None:
    assert waiting_range(ahead, stations, average) == expected


# Who is at work


def test_a_busy_station_is_staffed_whoever_waits() -> None:
    busy = OpenStation(STANDARD, busy_since=minutes_ago(200), busy_with=7)

    assert staffed(busy, [Waiting(1, minutes_ago(120))], NOON)


def test_a_station_seen_within_the_hour_is_staffed() -> None:
    waiting_long = [Waiting(1, minutes_ago(120))]

    assert staffed(OpenStation(STANDARD, last_seen=minutes_ago(60)), waiting_long, NOON)
    an_hour_and_a_second = NOON - timedelta(minutes=60, seconds=1)
    assert not staffed(OpenStation(STANDARD, last_seen=an_hour_and_a_second), waiting_long, NOON)


def test_a_free_station_leaving_someone_it_could_call_over_ten_minutes_is_not_staffed() -> None:
    never_seen = OpenStation(STANDARD)
    ten_minutes = Waiting(1, minutes_ago(10))
    a_second_more = Waiting(2, NOON - timedelta(minutes=10, seconds=1))

    assert staffed(never_seen, [ten_minutes], NOON)
    assert not staffed(never_seen, [ten_minutes, a_second_more], NOON)
    assert staffed(never_seen, [Waiting(3, minutes_ago(90), kind="double")], NOON)
    assert staffed(never_seen, [], NOON)


def test_the_wait_that_counts_starts_when_the_station_was_last_seen() -> None:
    seen_long_ago = OpenStation(STANDARD, last_seen=minutes_ago(61))

    assert staffed(seen_long_ago, [Waiting(1, minutes_ago(5))], NOON)
    assert not staffed(seen_long_ago, [Waiting(1, minutes_ago(11))], NOON)
    seen_after_the_arrival = OpenStation(STANDARD, last_seen=minutes_ago(65))
    assert not staffed(seen_after_the_arrival, [Waiting(1, minutes_ago(200))], NOON)


# Forecasts, small queues by hand. A call takes the service's time plus a minute.


def test_two_in_line_at_one_station() -> None:
    """Services of 10, 15 or 25 minutes: the second waits 11 to 26 minutes."""
    tickets = [Waiting(2, minutes_ago(10), service=7), Waiting(1, minutes_ago(20), service=7)]
    times = {7: minutes(10, 15, 25)}

    found = forecast(tickets, [OpenStation(STANDARD)], times, CATALOG, NOON, THRESHOLD)

    assert found == {1: Forecast(1, (0, 1)), 2: Forecast(2, (11, 26))}


def test_the_pessimistic_end_counts_only_the_stations_at_work() -> None:
    """Two stations, one last seen two hours ago and leaving people waiting: the usual
    plan has both, the pessimistic one only the other."""
    tickets = [Waiting(n, minutes_ago(25 - 5 * n), service=7) for n in (1, 2, 3)]
    times = {7: minutes(10, 15, 25)}
    stations = [
        OpenStation(STANDARD, last_seen=minutes_ago(5)),
        OpenStation(STANDARD, last_seen=minutes_ago(120)),
    ]

    found = forecast(tickets, stations, times, CATALOG, NOON, THRESHOLD)

    assert found == {
        1: Forecast(1, (0, 1)),
        2: Forecast(2, (0, 26)),  # at once, or after the one at work is done
        3: Forecast(3, (11, 52)),
    }


def test_with_nobody_seen_at_work_every_open_station_counts() -> None:
    tickets = [Waiting(n, minutes_ago(25 - 5 * n), service=7) for n in (1, 2, 3)]
    stations = [OpenStation(STANDARD), OpenStation(STANDARD)]

    found = forecast(tickets, stations, {7: minutes(10, 15, 25)}, CATALOG, NOON, THRESHOLD)

    assert found[3] == Forecast(3, (11, 26))


def test_a_busy_station_is_free_after_its_services_time() -> None:
    tickets = [Waiting(1, minutes_ago(1), service=7)]
    times = {7: minutes(10, 15, 25), 8: minutes(2, 3, 4)}

    def wait(station: OpenStation) -> tuple[int, int] | None:
        return forecast(tickets, [station], times, CATALOG, NOON, THRESHOLD)[1].minutes

    busy_since = minutes_ago(5)
    assert wait(OpenStation(STANDARD, busy_since=busy_since, busy_with=7)) == (5, 20)
    assert wait(OpenStation(STANDARD, busy_since=minutes_ago(60), busy_with=7)) == (0, 1)
    # A service missing from the catalog: the default, 30 minutes in every plan.
    assert wait(OpenStation(STANDARD, busy_since=busy_since, busy_with=9)) == (25, 26)
    assert wait(OpenStation(STANDARD, busy_since=busy_since)) == (25, 26)


def test_a_busy_station_with_no_service_known_takes_the_times_of_service_zero() -> None:
    tickets = [Waiting(1, minutes_ago(1))]
    times = {0: minutes(2, 4, 6)}
    station = OpenStation(STANDARD, busy_since=minutes_ago(1))

    assert forecast(tickets, [station], times, CATALOG, NOON, THRESHOLD)[1].minutes == (1, 5)


def test_a_ticket_no_open_station_can_serve_has_no_range_and_comes_last() -> None:
    tickets = [Waiting(1, minutes_ago(40), kind="double"), Waiting(2, minutes_ago(1))]

    found = forecast(tickets, [OpenStation(STANDARD)], {}, CATALOG, NOON, THRESHOLD)

    assert found == {1: Forecast(2, None), 2: Forecast(1, (0, 1))}


def test_a_booked_person_due_now_takes_the_station_first_in_the_usual_and_long_plans() -> None:
    here = [Waiting(1, minutes_ago(5), service=7)]
    booked = [Waiting(50, NOON, due_at=NOON, service=7)]
    times = {7: minutes(10, 15, 25)}
    station = [OpenStation(STANDARD)]

    found = forecast(here, station, times, CATALOG, NOON, THRESHOLD, expected=booked)

    # Not counted by the optimistic end (they may not come); 26 minutes by the long plan.
    assert found == {1: Forecast(1, (0, 26))}


def test_the_usual_plan_counts_the_booked_people_due_within_the_hour() -> None:
    """Calls of 62 minutes: a standard booked person due within the hour takes the standard
    desk at 62, and the double desk's next ticket is placed before the standard one
    waiting; one due a second later is not counted, though due before 62."""
    here = [
        Waiting(1, minutes_ago(9), service=7),
        Waiting(2, minutes_ago(8), service=7, kind="double"),
        Waiting(3, minutes_ago(7), service=7),
        Waiting(4, minutes_ago(6), service=7, kind="double"),
    ]
    times = {7: minutes(61, 61, 61)}
    stations = [OpenStation(STANDARD), OpenStation(DOUBLE)]

    def places(due_at: datetime) -> dict[int, int]:
        booked = [Waiting(50, due_at, due_at=due_at, service=7)]
        found = forecast(here, stations, times, CATALOG, NOON, THRESHOLD, expected=booked)
        return {ticket_id: f.position for ticket_id, f in found.items()}

    assert places(NOON + timedelta(hours=1)) == {1: 1, 2: 2, 4: 3, 3: 4}
    assert places(NOON + timedelta(hours=1, seconds=1)) == {1: 1, 2: 2, 3: 3, 4: 4}
