"""Rotation math: daily and weekly turns, handoff at local wall-clock time across DST, overrides."""

import itertools
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from oncall.rotation import Override, Person, Rotation, RotationType, handoff, on_call, shift_index, shifts

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
