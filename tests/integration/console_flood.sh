#!/usr/bin/env bash
# Two VMs print ~80 KiB at once, more than the hypervisor's serial queue holds (64 KiB): each
# waits for room in its share (polling LSR), and every line still arrives whole, once, in order,
# not mixed with the other's. Then a VM that writes without looking at LSR (raw=1) floods beside
# a quiet one and one that writes 16 bytes per THR-empty interrupt (irq=1): the flooder's bytes
# the busy UART could not take are lost and reported; the quiet VM, within its share, and the
# interrupt-driven one, whose interrupt waits while its share is full, lose nothing and finish.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

# expect_whole_lines VM LINES: the log has the VM's LINES numbered lines, each the next number
# and exactly 100 bytes.
expect_whole_lines() {
    local broken
    # shellcheck disable=SC2016
    broken=$(tr -d '\r' <"$LOG" | awk -v vm="$1" -v lines="$2" '
        index($0, "[" vm "] flood " vm " line ") == 1 {
            text = substr($0, length(vm) + 4)
            if ($5 != sprintf("%04d", next_line) || length(text) != 100 - 1) { print "line " next_line ": " $0; exit }
            ++next_line
        }
        END { if (next_line != lines) print next_line " of " lines " lines arrived" }')
    [ -z "$broken" ] || fail "$1: $broken"
}

lines=400
boot "" 0 --emulator bochs --cpus 2 "console_flood,name=fa,cmdline=name=fa lines=$lines" \
    "console_flood,name=fb,cmdline=name=fb lines=$lines"
for vm in fa fb; do
    expect_line "[$vm] PASS console_flood"
    expect_line "matryoshka: vm $vm ended: debug-exit 0"
    expect_whole_lines "$vm" "$lines"
done
! grep -aq "console: lost" "$LOG" || fail "a VM that polls LSR lost output: $(grep -a "console: lost" "$LOG")"
expect_line "matryoshka: exit status 0"

# 300 KB from the flooder and 40 KB by interrupts, many times their shares of the queue (a third
# of 48 KiB each); the quiet VM starts printing once the flood is under way.
quiet_lines=100
boot share 0 --emulator bochs --cpus 2 "console_flood,name=flood,cmdline=name=flood lines=3000 raw=1" \
    "console_flood,name=quiet,cmdline=name=quiet lines=$quiet_lines pause=100" \
    "console_flood,name=irq,cmdline=name=irq lines=$lines irq=1"
expect_whole_lines quiet "$quiet_lines"
expect_whole_lines irq "$lines"
for vm in quiet irq; do
    expect_line "[$vm] PASS console_flood"
    expect_line "matryoshka: vm $vm ended: debug-exit 0"
    ! grep -aq "vm $vm console: lost" "$LOG" || fail "$vm lost output: $(grep -a "vm $vm console: lost" "$LOG")"
done
expect_line "[flood] PASS console_flood"  # written polling LSR: it waits for room, nothing lost
expect_line "matryoshka: vm flood ended: debug-exit 0"
expect_match "^matryoshka: vm flood console: lost [1-9][0-9]* bytes written to its busy UART, 0 lines over its queue share"
expect_line "matryoshka: exit status 0"
pass
