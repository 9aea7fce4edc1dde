// Civil date to seconds since 1970-01-01 (proleptic Gregorian), for turning the host RTC's
// reading into the wall clock guests' RTCs show. Hardware-independent.
#pragma once
#include <cstdint>

constexpr int64_t days_since_epoch(int64_t year, unsigned month, unsigned day)
{
    // Count from March so the leap day is the year's last; eras are 400-year cycles.
    year -= month <= 2;
    int64_t era = (year >= 0 ? year : year - 399) / 400;
    int64_t year_of_era = year - era * 400;
    int64_t day_of_year = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
    int64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    return era * 146097 + day_of_era - 719468;
}

constexpr int64_t seconds_since_epoch(int64_t year, unsigned month, unsigned day, unsigned hour, unsigned minute,
                                      unsigned second)
{
    return days_since_epoch(year, month, day) * 86400 + hour * 3600 + minute * 60 + second;
}

static_assert(days_since_epoch(1970, 1, 1) == 0);
static_assert(days_since_epoch(2000, 3, 1) == 11017);
static_assert(seconds_since_epoch(2026, 11, 23, 17, 9, 0) == 1795453740);
