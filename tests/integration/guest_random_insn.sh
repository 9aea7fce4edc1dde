#!/usr/bin/env bash
# Random instruction streams in real, protected and long mode (guests/random_insn.c) beside the
# hello guest: the random guest recovers from everything its streams raise and passes, hello
# passes untouched, the hypervisor neither panics nor ends either VM. A longer run with another
# seed: RANDOM_INSN_COUNT=100000 RANDOM_INSN_SEED=$RANDOM TEST_TIMEOUT=3600 tests/run guest_random_insn
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
COUNT=${RANDOM_INSN_COUNT:-4500}
SEED=${RANDOM_INSN_SEED:-1}
boot "" 0 --emulator bochs "random_insn,cmdline=count=$COUNT seed=$SEED" hello
expect_line "[random_insn] seed $SEED, $COUNT streams, 200000 timer ticks, 64 real-mode steps per stream"
expect_match "^\[random_insn\] real mode: $((COUNT / 3)) streams: .*#UD [0-9]+.* filtered [0-9]+"
expect_match "^\[random_insn\] protected mode: $((COUNT / 3)) streams: .*#UD [0-9]+ #GP [0-9]+ #PF [0-9]+"
expect_match "^\[random_insn\] long mode: $((COUNT - 2 * (COUNT / 3))) streams: .*#UD [0-9]+ #GP [0-9]+ #PF [0-9]+"
expect_line "[random_insn] PASS random_insn"
expect_line "[hello] PASS hello"
expect_line "matryoshka: vm random_insn ended: debug-exit 0"
expect_line "matryoshka: vm hello ended: debug-exit 0"
expect_line "matryoshka: exit status 0"
if grep -q "matryoshka: panic" "$LOG"; then fail "the hypervisor panicked"; fi
pass
