"""Rotation math: daily and weekly turns, handoff at local wall-clock time across DST, overrides."""

import itertools
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from oncall.rotation import Layer, Override, Person, Rotation, RotationType, Window, handoff, on_call, shift_index, shifts, turn

ALICE, BOB, CAROL, DAVE = (Person(n, f"{n.lower()}@example.org") for n in ("Alice", "Bob", "Carol", "Dave"))
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def rotation(kind: RotationType, start: datetime, *, at: time = time(9), zone: str = "UTC", members=(ALICE, BOB, CAROL)) -> Rotation:
    return Rotation(kind, start, at, zone, tuple(members))


class TestDaily:
    r = rotation(RotationType.DAILY, utc(2025, 1, 6, 9))

    def test_member_zero_holds_the_first_shift_and_the_next_member_is_secondary(self):
        shift = on_call(self.r, [], utc(2025, 1, 6, 12))
        assert (shift.primary, shift.secondary) == (ALICE, BOB)
        assert (shift.start, shift.end) == (utc(2025, 1, 6, 9), utc(2025, 1, 7, 9))
        assert not shift.overridden

    def test_turns_pass_at_the_handoff_and_wrap_around(self):
        assert on_call(self.r, [], utc(2025, 1, 7, 8, 59)).primary == ALICE
        assert on_call(self.r, [], utc(2025, 1, 7, 9)).primary == BOB
        third = on_call(self.r, [], utc(2025, 1, 8, 10))
        assert (third.primary, third.secondary) == (CAROL, ALICE)
        assert on_call(self.r, [], utc(2025, 1, 9, 10)).primary == ALICE

    def test_the_rotation_extends_before_its_start(self):
        assert on_call(self.r, [], utc(2025, 1, 6, 8)).primary == CAROL
        assert shift_index(self.r, utc(2025, 1, 1, 0)) == -6

    def test_a_start_before_the_handoff_time_belongs_to_the_day_before(self):
        early = rotation(RotationType.DAILY, utc(2025, 1, 6, 7))
        shift = on_call(early, [], utc(2025, 1, 6, 7))
        assert (shift.primary, shift.start, shift.end) == (ALICE, utc(2025, 1, 5, 9), utc(2025, 1, 6, 9))
        assert on_call(early, [], utc(2025, 1, 6, 9)).primary == BOB

    def test_one_member_is_both_primary_and_secondary(self):
        solo = rotation(RotationType.DAILY, utc(2025, 1, 6, 9), members=(ALICE,))
        shift = on_call(solo, [], utc(2025, 3, 1))
        assert (shift.primary, shift.secondary) == (ALICE, ALICE)

    def test_a_rotation_needs_members_and_an_aware_start(self):
        with pytest.raises(ValueError, match="member"):
            Rotation(RotationType.DAILY, utc(2025, 1, 1), time(9), "UTC", ())
        with pytest.raises(ValueError, match="aware"):
            Rotation(RotationType.DAILY, datetime(2025, 1, 1), time(9), "UTC", (ALICE,))


class TestWeekly:
    # Monday 2025-01-06 09:00 Berlin (08:00 UTC)
    r = rotation(RotationType.WEEKLY, datetime(2025, 1, 6, 9, tzinfo=BERLIN), zone="Europe/Berlin")

    def test_a_turn_lasts_seven_days_from_the_start_weekday(self):
        first = on_call(self.r, [], utc(2025, 1, 10, 12))
        assert (first.primary, first.secondary) == (ALICE, BOB)
        assert (first.start, first.end) == (utc(2025, 1, 6, 8), utc(2025, 1, 13, 8))
        assert on_call(self.r, [], utc(2025, 1, 13, 7, 59)).primary == ALICE
        assert on_call(self.r, [], utc(2025, 1, 13, 8)).primary == BOB
        assert on_call(self.r, [], utc(2025, 1, 27, 8)).primary == ALICE

    def test_handoff_stays_at_local_time_when_summer_time_starts_within_the_week(self):
        # Berlin moves to CEST on Sunday 2025-03-30: the Monday 09:00 handoff is at 07:00 UTC from then on.
        k = shift_index(self.r, utc(2025, 3, 28))
        assert handoff(self.r, k).astimezone(BERLIN).hour == 9
        assert handoff(self.r, k + 1) == utc(2025, 3, 31, 7)
        assert handoff(self.r, k + 1) - handoff(self.r, k) == timedelta(days=7, hours=-1)


class TestDaylightSaving:
    def test_new_york_spring_forward_shift_is_23_hours_and_handoff_stays_at_nine(self):
        r = rotation(RotationType.DAILY, datetime(2025, 3, 8, 9, tzinfo=NEW_YORK), zone="America/New_York")
        saturday = on_call(r, [], utc(2025, 3, 8, 20))
        assert saturday.start == utc(2025, 3, 8, 14)  # 09:00 EST
        assert saturday.end == utc(2025, 3, 9, 13)  # 09:00 EDT, 23 h later
        sunday = on_call(r, [], utc(2025, 3, 9, 13))
        assert (sunday.primary, sunday.start.astimezone(NEW_YORK).hour) == (BOB, 9)
        assert on_call(r, [], utc(2025, 3, 9, 12, 59)).primary == ALICE  # 08:59 EDT: still Alice

    def test_berlin_fall_back_shift_is_25_hours(self):
        r = rotation(RotationType.DAILY, datetime(2025, 10, 25, 9, tzinfo=BERLIN), zone="Europe/Berlin")
        shift = on_call(r, [], utc(2025, 10, 26, 1))
        assert shift.primary == ALICE
        assert shift.end - shift.start == timedelta(hours=25)
        assert shift.end.astimezone(BERLIN).time() == time(9)

    def test_a_handoff_inside_the_spring_forward_gap_happens_when_the_gap_ends(self):
        r = rotation(RotationType.DAILY, datetime(2025, 3, 29, 2, 30, tzinfo=BERLIN), at=time(2, 30), zone="Europe/Berlin")
        gap_day = on_call(r, [], utc(2025, 3, 30, 1, 30))  # 03:30 CEST, there is no 02:30 that day
        assert gap_day.primary == BOB
        assert gap_day.start == utc(2025, 3, 30, 1, 30)
        assert on_call(r, [], utc(2025, 3, 30, 1, 29)).primary == ALICE
        assert on_call(r, [], utc(2025, 3, 31, 0, 30)).primary == CAROL  # 02:30 CEST the next day

    def test_a_handoff_inside_the_fall_back_fold_happens_at_its_first_occurrence(self):
        r = rotation(RotationType.DAILY, datetime(2025, 10, 25, 2, 30, tzinfo=BERLIN), at=time(2, 30), zone="Europe/Berlin")
        assert on_call(r, [], utc(2025, 10, 26, 0, 30)).primary == BOB  # 02:30 CEST, the first one
        assert on_call(r, [], utc(2025, 10, 26, 0, 29)).primary == ALICE

    def test_a_start_just_after_a_gap_handoff_is_judged_in_real_time(self):
        # On the wall 03:10 looks later than 02:30, but the gap handoff is at 03:30 CEST: the start precedes it.
        r = rotation(RotationType.DAILY, datetime(2025, 3, 30, 3, 10, tzinfo=BERLIN), at=time(2, 30), zone="Europe/Berlin")
        first = on_call(r, [], r.start)
        assert first.primary == ALICE
        assert first.end == utc(2025, 3, 30, 1, 30)


class TestOverrides:
    r = rotation(RotationType.DAILY, utc(2025, 1, 6, 9))

    def test_an_override_replaces_the_primary_and_keeps_the_secondary(self):
        cover = Override(DAVE, utc(2025, 1, 6, 12), utc(2025, 1, 6, 18))
        shift = on_call(self.r, [cover], utc(2025, 1, 6, 13))
        assert (shift.primary, shift.secondary, shift.overridden) == (DAVE, BOB, True)
        assert (shift.start, shift.end) == (cover.start, cover.end)

    def test_an_override_cuts_the_shift_around_it(self):
        cover = Override(DAVE, utc(2025, 1, 6, 12), utc(2025, 1, 6, 18))
        before, after = on_call(self.r, [cover], utc(2025, 1, 6, 10)), on_call(self.r, [cover], utc(2025, 1, 6, 20))
        assert (before.primary, before.start, before.end) == (ALICE, utc(2025, 1, 6, 9), cover.start)
        assert (after.primary, after.start, after.end) == (ALICE, cover.end, utc(2025, 1, 7, 9))

    def test_an_override_crossing_a_handoff_covers_both_turns(self):
        cover = Override(DAVE, utc(2025, 1, 6, 20), utc(2025, 1, 7, 12))
        evening, morning = on_call(self.r, [cover], utc(2025, 1, 6, 22)), on_call(self.r, [cover], utc(2025, 1, 7, 10))
        assert (evening.primary, evening.secondary, evening.start, evening.end) == (DAVE, BOB, cover.start, utc(2025, 1, 7, 9))
        assert (morning.primary, morning.secondary, morning.start, morning.end) == (DAVE, CAROL, utc(2025, 1, 7, 9), cover.end)
        back = on_call(self.r, [cover], utc(2025, 1, 7, 12))
        assert (back.primary, back.overridden, back.start) == (BOB, False, cover.end)

    def test_when_the_secondary_covers_the_primary_the_next_member_becomes_secondary(self):
        cover = Override(Person("Bob B.", BOB.email.upper()), utc(2025, 1, 6, 10), utc(2025, 1, 6, 11))
        shift = on_call(self.r, [cover], utc(2025, 1, 6, 10, 30))
        assert (shift.primary.name, shift.secondary) == ("Bob B.", CAROL)

    def test_a_single_member_covered_by_themself_stays_secondary(self):
        solo = rotation(RotationType.DAILY, utc(2025, 1, 6, 9), members=(ALICE,))
        shift = on_call(solo, [Override(ALICE, utc(2025, 1, 6, 10), utc(2025, 1, 6, 11))], utc(2025, 1, 6, 10))
        assert (shift.primary, shift.secondary) == (ALICE, ALICE)

    def test_people_without_email_are_compared_by_name(self):
        nameless = rotation(RotationType.DAILY, utc(2025, 1, 6, 9), members=(Person("A", ""), Person("B", "")))
        shift = on_call(nameless, [Override(Person("B", ""), utc(2025, 1, 6, 10), utc(2025, 1, 6, 11))], utc(2025, 1, 6, 10))
        assert (shift.primary.name, shift.secondary.name) == ("B", "A")


class TestShifts:
    r = rotation(RotationType.DAILY, utc(2025, 1, 6, 9))

    def test_consecutive_stretches_from_the_one_containing_since(self):
        cover = Override(DAVE, utc(2025, 1, 7, 20), utc(2025, 1, 8, 12))
        listed = shifts(self.r, [cover], utc(2025, 1, 6, 12), utc(2025, 1, 9, 9), limit=50)
        assert [(s.primary, s.start) for s in listed] == [
            (ALICE, utc(2025, 1, 6, 9)),
            (BOB, utc(2025, 1, 7, 9)),
            (DAVE, utc(2025, 1, 7, 20)),
            (DAVE, utc(2025, 1, 8, 9)),
            (CAROL, utc(2025, 1, 8, 12)),
        ]
        assert all(a.end == b.start for a, b in itertools.pairwise(listed))

    def test_the_count_is_bounded(self):
        assert len(shifts(self.r, [], utc(2025, 1, 6), utc(2026, 1, 6), limit=10)) == 10


WEEKDAYS = frozenset(range(5))
BUSINESS_HOURS = Window(WEEKDAYS, time(9), time(18))


def berlin(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN).astimezone(UTC)


class TestLayers:
    # Bottom: Alice and Bob, weekly from Monday 2025-03-24 09:00 Berlin. On top, Mon–Fri 09:00–18:00 Berlin:
    # Carol and Dave, daily from the same Monday. Berlin moves to summer time on Sunday 2025-03-30.
    base = rotation(RotationType.WEEKLY, datetime(2025, 3, 24, 9, tzinfo=BERLIN), zone="Europe/Berlin", members=(ALICE, BOB))
    day_layer = Layer(
        rotation(RotationType.DAILY, datetime(2025, 3, 24, 9, tzinfo=BERLIN), zone="Europe/Berlin", members=(CAROL, DAVE)),
        (BUSINESS_HOURS,),
    )
    plan = (Layer(base), day_layer)

    @pytest.mark.parametrize(
        ("monday", "night", "day", "evening"),
        # The bottom layer hands over on Mondays at 09:00 too: the night before is the previous week's person.
        [((2025, 3, 24), BOB, (CAROL, DAVE), ALICE), ((2025, 3, 31), ALICE, (DAVE, CAROL), BOB)],
        ids=["winter time", "summer time"],
    )
    def test_business_hours_at_08_59_09_00_and_18_00_local(self, monday, night, day, evening):
        before = on_call(self.plan, [], berlin(*monday, 8, 59))
        assert (before.primary, before.end) == (night, berlin(*monday, 9))
        opening = on_call(self.plan, [], berlin(*monday, 9))
        assert (opening.primary, opening.secondary) == day  # the secondary comes from the providing layer
        assert (opening.start, opening.end) == (berlin(*monday, 9), berlin(*monday, 18))
        assert on_call(self.plan, [], berlin(*monday, 17, 59)).primary == day[0]
        closing = on_call(self.plan, [], berlin(*monday, 18))
        assert (closing.primary, closing.start, closing.end) == (evening, berlin(*monday, 18), berlin(*monday, 9) + timedelta(days=1))

    def test_the_window_stays_at_local_time_across_the_change_to_summer_time(self):
        friday = on_call(self.plan, [], berlin(2025, 3, 28, 12))
        monday = on_call(self.plan, [], berlin(2025, 3, 31, 12))
        assert (friday.start, friday.end) == (utc(2025, 3, 28, 8), utc(2025, 3, 28, 17))  # CET, UTC+1
        assert (monday.start, monday.end) == (utc(2025, 3, 31, 7), utc(2025, 3, 31, 16))  # CEST, UTC+2
        assert on_call(self.plan, [], utc(2025, 3, 31, 6, 59)).primary == ALICE
        assert on_call(self.plan, [], utc(2025, 3, 31, 7)).primary in (CAROL, DAVE)

    def test_the_weekend_falls_through_to_the_bottom_layer_and_the_layer_keeps_turning(self):
        weekend = on_call(self.plan, [], berlin(2025, 3, 29, 12))
        assert (weekend.primary, weekend.secondary) == (ALICE, BOB)
        assert (weekend.start, weekend.end) == (berlin(2025, 3, 28, 18), berlin(2025, 3, 31, 9))
        # Daily turns from Monday 24th: Carol, Dave, Carol, Dave, Carol (Fri), Dave and Carol (hidden), Dave (Mon 31st).
        assert on_call(self.plan, [], berlin(2025, 3, 28, 10)).primary == CAROL
        assert on_call(self.plan, [], berlin(2025, 3, 31, 10)).primary == DAVE

    def test_shifts_are_cut_at_restriction_boundaries(self):
        listed = shifts(self.plan, [], berlin(2025, 3, 27, 12), berlin(2025, 3, 31, 12), limit=50)
        assert [(s.primary, s.start.astimezone(BERLIN).strftime("%a %H:%M")) for s in listed] == [
            (DAVE, "Thu 09:00"),
            (ALICE, "Thu 18:00"),
            (CAROL, "Fri 09:00"),
            (ALICE, "Fri 18:00"),
            (DAVE, "Mon 09:00"),
        ]
        assert all(a.end == b.start for a, b in itertools.pairwise(listed))

    def test_an_override_wins_over_every_layer(self):
        cover = Override(DAVE, berlin(2025, 3, 27, 17), berlin(2025, 3, 27, 20))
        inside = on_call(self.plan, [cover], berlin(2025, 3, 27, 17, 30))
        assert (inside.primary, inside.secondary, inside.overridden) == (DAVE, CAROL, True)
        assert (inside.start, inside.end) == (cover.start, berlin(2025, 3, 27, 18))
        evening = on_call(self.plan, [cover], berlin(2025, 3, 27, 19))
        assert (evening.primary, evening.secondary, evening.start, evening.end) == (DAVE, BOB, berlin(2025, 3, 27, 18), cover.end)

    def test_a_later_layer_is_on_top(self):
        nights = Layer(rotation(RotationType.DAILY, utc(2025, 1, 6, 9), members=(DAVE,)), (Window(frozenset(range(7)), time(22), time(6)),))
        stacked = (
            Layer(rotation(RotationType.DAILY, utc(2025, 1, 6, 9))),
            Layer(rotation(RotationType.DAILY, utc(2025, 1, 6, 9), members=(BOB,))),
            nights,
        )
        assert on_call(stacked, [], utc(2025, 1, 7, 12)).primary == BOB
        night = on_call(stacked, [], utc(2025, 1, 7, 23))
        assert (night.primary, night.secondary, night.start, night.end) == (DAVE, DAVE, utc(2025, 1, 7, 22), utc(2025, 1, 8, 6))

    def test_windows_covering_the_whole_week_never_cut_a_shift(self):
        always = Layer(
            rotation(RotationType.WEEKLY, utc(2025, 1, 6, 9), members=(DAVE, CAROL)), (Window(frozenset(range(7)), time(0), time(0)),)
        )
        shift = on_call((Layer(rotation(RotationType.DAILY, utc(2025, 1, 6, 9))), always), [], utc(2025, 1, 8))
        assert (shift.primary, shift.start, shift.end) == (DAVE, utc(2025, 1, 6, 9), utc(2025, 1, 13, 9))

    def test_the_bottom_layer_has_no_restrictions_and_windows_need_weekdays(self):
        with pytest.raises(ValueError, match="bottom layer"):
            on_call((self.day_layer,), [], utc(2025, 3, 24))
        with pytest.raises(ValueError, match="weekdays"):
            Window(frozenset(), time(9), time(18))
        with pytest.raises(ValueError, match="weekdays"):
            Window(frozenset({7}), time(9), time(18))


class TestTurn:
    plan = TestLayers.plan

    def around(self, at: datetime, overrides=()) -> list:
        return shifts(self.plan, list(overrides), at - timedelta(hours=6), at + timedelta(days=35), limit=200)

    def test_a_turn_runs_from_the_change_of_primary_to_the_next_one(self):
        at = berlin(2025, 3, 28, 20)  # Friday evening: Alice from Friday 18:00 until Monday 09:00
        found = turn(self.around(at), at)
        assert (found.primary, found.secondary, found.start, found.end) == (ALICE, BOB, berlin(2025, 3, 28, 18), berlin(2025, 3, 31, 9))

    def test_stretches_of_the_same_primary_are_one_turn(self):
        # Thursday 18:00 Alice takes over from Dave; covering Friday 09:00–10:00 keeps her on past the day layer's start.
        cover = Override(ALICE, berlin(2025, 3, 28, 9), berlin(2025, 3, 28, 10))
        at = berlin(2025, 3, 27, 19)
        found = turn(self.around(at, [cover]), at)
        assert (found.start, found.end) == (berlin(2025, 3, 27, 18), berlin(2025, 3, 28, 10))

    def test_no_turn_when_the_primary_did_not_change_within_the_stretches(self):
        at = berlin(2025, 3, 29, 12)  # Alice since Friday 18:00: more than six hours ago
        assert turn(self.around(at), at) is None
        solo = rotation(RotationType.DAILY, utc(2025, 1, 6, 9), members=(ALICE,))
        assert turn(shifts(solo, [], utc(2025, 1, 7), utc(2025, 2, 1), limit=50), utc(2025, 1, 7, 9)) is None
        assert turn(self.around(at), at + timedelta(days=60)) is None
