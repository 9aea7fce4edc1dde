// The fuzz targets' invariant check: a violated invariant traps, which libFuzzer reports as a
// crash with its reproducer (unlike a return value, which it ignores).
#pragma once

inline void check(bool ok)
{
    if (!ok) __builtin_trap();
}
