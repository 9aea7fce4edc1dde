#!/usr/bin/env bash
# W^X in the image itself: no loadable segment of the hypervisor's ELF is both writable and
# executable, and .rodata sits in a read-only one (the page tables give the same rights at run
# time, and paging::init refuses to boot if any mapping is writable and executable).
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
LOG=$ROOT/build/logs/test-$TEST.log
make -s -C "$ROOT" build/matryoshka.elf >/dev/null
readelf -lW "$ROOT/build/matryoshka.elf" >"$LOG"
if grep -E "^\s+LOAD" "$LOG" | grep -qE " RWE | RW E "; then fail "a LOAD segment is writable and executable"; fi
segment=$(awk '/Section to Segment mapping/ {on = 1; next} on && / \.rodata/ {print $1}' "$LOG")
[[ -n $segment ]] || fail "no segment holds .rodata"
flags=$(grep -E "^\s+LOAD" "$LOG" | sed -n "$((10#$segment + 1))p" | awk '{print $(NF-1)}')
[[ $flags == R ]] || fail ".rodata is in a segment with flags '$flags', expected R"
pass
