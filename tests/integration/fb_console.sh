#!/usr/bin/env bash
# The framebuffer console under UEFI: GRUB hands over OVMF's GOP framebuffer, the hypervisor draws
# its console on it, and the screen shows exactly the lines it printed on COM1.
#
# QEMU TCG + OVMF with gfxpayload=auto (what the multiboot2 command itself sets for an image that
# asks for a framebuffer: under GOP, the firmware's current mode, as on a UEFI PC), exit=halt so that
# the machine stays up after the refusal (TCG has no VT-x); then a screendump through QEMU's
# monitor, compared pixel for pixel with what tools/fb-expect (the hypervisor's own renderer and
# font, built for the host) draws for the same lines at the same size: the whole screen, margins
# included, so a console that draws nothing, garbage, the wrong colours or a stale line fails.
# An unknown option with a long name makes its warning wider than the screen: wrapping is checked
# on the way too.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

FB_EXPECT=$ROOT/build/tools/fb-expect
sources=("$ROOT/tools/fb-expect.cpp" "$ROOT/drivers/fb_text.cpp" "$ROOT/drivers/fb_text.hpp"
         "$ROOT/drivers/font8x16.cpp" "$ROOT/drivers/font8x16.hpp")
stale=0
[[ -x $FB_EXPECT ]] || stale=1
for s in "${sources[@]}"; do [[ $s -nt $FB_EXPECT ]] && stale=1; done
if ((stale)); then
    mkdir -p "$(dirname "$FB_EXPECT")"
    g++ -std=c++20 -O1 -Wall -Wextra -Werror -I"$ROOT" "$ROOT/tools/fb-expect.cpp" "$ROOT/drivers/fb_text.cpp" \
        "$ROOT/drivers/font8x16.cpp" -o "$FB_EXPECT.tmp" && mv "$FB_EXPECT.tmp" "$FB_EXPECT" ||
        fail "cannot build tools/fb-expect"
fi

work=$(mktemp -d)
NAME=test-$TEST
LOG=$ROOT/build/logs/$NAME.log
SCREEN=$ROOT/build/logs/$NAME.ppm # kept for a look after a failure
rm -f "$SCREEN" "$LOG" # a previous run's log must not answer the wait below
LONG_KEY=an_unknown_option_whose_name_is_long_enough_to_make_its_warning_wrap_at_the_right_edge_of_the_screen
"$ROOT/tools/run-vm" --quiet --timeout "$TIMEOUT" --name "$NAME" --log "$LOG" --keep \
    --emulator qemu --firmware uefi --cpus 1 --gfxpayload auto --monitor "$work/monitor" \
    --hv-args "exit=halt console=serial,fb $LONG_KEY=1" >/dev/null 2>&1 &
vm=$!
# run-vm stops QEMU when it gets SIGTERM. (Under set -e, a failing command here would change the
# script's exit status.)
cleanup() {
    kill -TERM $vm 2>/dev/null || true
    wait $vm 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

for ((i = 0; i < TIMEOUT; ++i)); do
    grep -qxF "matryoshka: halted" "$LOG" 2>/dev/null && break
    kill -0 $vm 2>/dev/null || fail "run-vm ended before the hypervisor halted"
    sleep 1
done
grep -qxF "matryoshka: halted" "$LOG" || fail "no line 'matryoshka: halted' after $TIMEOUT s"
expect_line "matryoshka: error: this CPU does not support VT-x (CPUID.1:ECX.VMX is 0)"
expect_match "^matryoshka: framebuffer console: [0-9]+x[0-9]+, (24|32) bpp at 0x[0-9a-f]+ \(write-combining\), [0-9]+x[0-9]+ characters$"
expect_match "^matryoshka: warning: unknown option '$LONG_KEY' ignored"

# What the screen should show: every console line from the banner on (the framebuffer console
# replays what was written before it started), without run-vm's own lines.
sed -n '/^matryoshka: Matryoshka hypervisor, loaded by /,$p' "$LOG" | grep -v '^run-vm: ' >"$work/expected.txt"
grep -qF "does not support VT-x" "$work/expected.txt" || fail "no console text to compare with"

# screendump FILE: asks QEMU's monitor for a PPM of the screen and waits for its answer.
screendump() {
    python3 - "$work/monitor" "$1" <<'EOF'
import socket, sys, time
sock = socket.socket(socket.AF_UNIX)
sock.connect(sys.argv[1])
sock.settimeout(10)
def until_prompt(count):
    data = b""
    while data.count(b"(qemu)") < count:
        chunk = sock.recv(4096)
        if not chunk:
            sys.exit("monitor closed")
        data += chunk
    return data
until_prompt(1)
sock.sendall(b"screendump " + sys.argv[2].encode() + b"\n")
answer = until_prompt(1)  # after the echoed command, the next prompt: the file is written
if b"rror" in answer:
    sys.exit(answer.decode(errors="replace"))
EOF
}

# The last lines may still be reaching the screen when COM1 has them: a few tries.
for try in 1 2 3 4 5; do
    rm -f "$SCREEN"
    screendump "$SCREEN" || fail "screendump through the QEMU monitor failed"
    if "$FB_EXPECT" compare "$SCREEN" <"$work/expected.txt" >"$work/compare.txt" 2>&1; then
        # The comparison must be able to fail: one character changed in the expected text.
        sed 's/does not support VT-x/does not support VT-y/' "$work/expected.txt" >"$work/altered.txt"
        "$FB_EXPECT" compare "$SCREEN" <"$work/altered.txt" >/dev/null 2>&1 &&
            fail "fb-expect also accepts a screen that differs by one character"
        pass
        exit 0
    fi
    sleep 1
done
sed 's/^/    /' "$work/compare.txt"
fail "the screen does not show the console text (screendump: $SCREEN)"
