#!/usr/bin/env bash
# `make usb`'s build/matryoshka-usb.img, booted the way a machine boots a USB stick:
#   bios   QEMU, SeaBIOS, the image as a usb-storage disk on EHCI: GRUB i386-pc from the MBR
#   uefi   QEMU, OVMF, the same stick: GRUB x86_64-efi from the EFI system partition
#   disk   Bochs (VT-x), the image as a hard disk: the demo guests of tools/grub-usb.cfg run
# QEMU TCG has no VT-x, so there the hypervisor refuses (status 2) and powers off through ACPI
# (exit=acpi on the image's command line): QEMU exits 0 by itself. Before refusing the hypervisor
# says nothing about its modules, so the Bochs boot is what shows the module2 lines were seen.
# The emulators run directly (tools/run-vm builds its own ISO); raw COM1 output and firmware logs
# go to build/runs/test-usb_image.XXXXXX/ (kept on failure), the cleaned console to
# build/logs/test-usb_image-LABEL.log.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

OVMF_CODE=/usr/share/OVMF/OVMF_CODE_4M.fd
OVMF_VARS=/usr/share/OVMF/OVMF_VARS_4M.fd
REFUSAL="matryoshka: error: this CPU does not support VT-x (CPUID.1:ECX.VMX is 0)"

# A run directory of its own (two runs of the suite at once must not share it); kept on failure.
mkdir -p "$ROOT/build/logs" "$ROOT/build/runs"
RUN=$(mktemp -d "$ROOT/build/runs/test-$TEST.XXXXXX")

# One make at a time across parallel tests (tools/run-vm takes the same lock); the copy is taken
# under the lock too, so that another run's make cannot rewrite the image while it is read.
flock "$ROOT/build/.run-vm-make.lock" sh -c 'make -s -C "$1" build/matryoshka-usb.img && cp "$2" "$3"' \
    sh "$ROOT" "$ROOT/build/matryoshka-usb.img" "$RUN/usb.img" >"$RUN/make.log" 2>&1 ||
    { LOG=$RUN/make.log; fail "make build/matryoshka-usb.img failed"; }
IMG=$RUN/usb.img

# The image carries tools/grub-usb.cfg and the guests it names.
xorriso -osirrox on -indev "$IMG" -extract /boot/grub/grub.cfg "$RUN/grub.cfg" \
    -extract /guests "$RUN/guests" >/dev/null 2>&1 || fail "cannot read the image with xorriso"
cmp -s "$RUN/grub.cfg" "$ROOT/tools/grub-usb.cfg" || fail "the image's grub.cfg is not tools/grub-usb.cfg"
for guest in hello memfill; do
    cmp -s "$RUN/guests/$guest.elf" "$ROOT/build/guests/$guest.elf" || fail "the image has no guests/$guest.elf"
done

# console RAW LOG: the console without the firmware's and GRUB's escape sequences and CRs.
console() {
    touch "$1"
    sed -E 's#\x1b(\[[0-9;=?]*[ -/]*[@-~]|[()][0-9A-Za-z])##g; s#\r##g' "$1" >"$2"
}

# qemu_stick LABEL FIRMWARE-ARGS...: boots a copy of the image as a USB stick, expects the
# refusal and ACPI power-off (QEMU exit code 0 before the timeout).
qemu_stick() {
    local label=$1 rc=0
    shift
    LOG=$ROOT/build/logs/test-$TEST-$label.log
    cp "$IMG" "$RUN/stick-$label.img"
    timeout -k 5 "$TIMEOUT" qemu-system-x86_64 -machine q35 -m 256 -smp 2 -display none -no-reboot \
        -nic none -boot menu=off "$@" \
        -drive "if=none,id=stick,format=raw,file=$RUN/stick-$label.img" \
        -device usb-ehci -device usb-storage,drive=stick \
        -serial "file:$RUN/com1-$label.txt" \
        -device isa-debug-exit,iobase=0xf4,iosize=4 </dev/null >"$RUN/qemu-$label.out" 2>&1 || rc=$?
    console "$RUN/com1-$label.txt" "$LOG"
    [[ $rc != 124 && $rc != 137 ]] || fail "QEMU did not power off within $TIMEOUT s"
    expect_line "$REFUSAL"
    expect_line "matryoshka: command line: serial=com1 exit=acpi"
    expect_line "matryoshka: exit status 2"
    # exit=acpi: S5, QEMU exits 0. The debug-exit port (status 2: exit code 5) must stay unused.
    [[ $rc == 0 ]] || fail "QEMU exited with $rc, expected 0 (ACPI power-off)"
}

# SeaBIOS has USB mass storage (EHCI) boot built in; its debug log (port 0x402) shows which disk
# it booted: the stick is the only hard disk.
qemu_stick bios -chardev "file,id=fw,path=$RUN/seabios-bios.txt" -device isa-debugcon,iobase=0x402,chardev=fw
expect_match '^matryoshka: Matryoshka hypervisor, loaded by GRUB .* \(BIOS\)$'
grep -q "^USB MSC vendor='QEMU' product='QEMU HARDDISK'" "$RUN/seabios-bios.txt" ||
    fail "SeaBIOS saw no USB stick ($RUN/seabios-bios.txt)"
grep -q "^Booting from Hard Disk" "$RUN/seabios-bios.txt" ||
    fail "SeaBIOS did not boot the stick ($RUN/seabios-bios.txt)"

# OVMF: its boot manager prints the device it starts on COM1.
cp "$OVMF_VARS" "$RUN/OVMF_VARS.fd"
qemu_stick uefi -drive "if=pflash,format=raw,unit=0,readonly=on,file=$OVMF_CODE" \
    -drive "if=pflash,format=raw,unit=1,file=$RUN/OVMF_VARS.fd"
expect_match '^matryoshka: Matryoshka hypervisor, loaded by GRUB .* \(UEFI\)$'
expect_match '^BdsDxe: starting Boot[0-9A-F]+ "UEFI QEMU QEMU USB HARDDRIVE'

# Bochs with VT-x boots the image from its MBR as a hard disk; all three demo VMs must run and
# pass, then the hypervisor powers off through ACPI (Bochs reports the soft power-off).
# vga: extension=none: no VBE, so GRUB (which loads vbe for the hypervisor's framebuffer request)
# stays in text mode; Bochs's term display panics on a graphics mode.
LOG=$ROOT/build/logs/test-$TEST-disk.log
cp "$IMG" "$RUN/disk.img"
vga=/usr/share/vgabios/vgabios.bin
[[ -f $vga ]] || vga=/usr/share/bochs/VGABIOS-lgpl-latest
cat >"$RUN/bochsrc" <<EOF
megs: 256
romimage: file=/usr/share/bochs/BIOS-bochs-latest, options=fastboot
vgaromimage: file=$vga
cpu: model=corei7_haswell_4770, count=2, ips=50000000, reset_on_triple_fault=0
ata0-master: type=disk, path=$RUN/disk.img, mode=flat
boot: disk
clock: sync=none, time0=local
vga: extension=none
display_library: term
speaker: enabled=0
com1: enabled=1, mode=file, dev=$RUN/com1-disk.txt
log: $RUN/bochs.log
panic: action=fatal
error: action=report
info: action=ignore
debug: action=ignore
EOF
echo c >"$RUN/debugger.rc"
# SIGKILL: Bochs ignores SIGTERM. It exits 1 after the ACPI "panic" that is its power-off.
(cd "$RUN" && TERM=dumb timeout -s KILL "$TIMEOUT" bochs -q -f bochsrc -rc debugger.rc \
    </dev/null >bochs.out 2>&1) || true
console "$RUN/com1-disk.txt" "$LOG"
expect_line "matryoshka: command line: serial=com1 exit=acpi"
expect_line "matryoshka: 2 of 2 CPUs in VMX root"
expect_line "[hello] PASS hello"
for vm in fill-5a fill-a5; do
    expect_match "^\[$vm\] ok round 3: [0-9]+ KiB intact after yielding \(0 wrong words\)$"
    expect_line "[$vm] PASS memfill"
done
expect_match '^\[fill-5a\] memfill: pattern 0x5a '
expect_match '^\[fill-a5\] memfill: pattern 0xa5 '
for vm in hello fill-5a fill-a5; do
    expect_line "matryoshka: vm $vm ended: debug-exit 0"
done
expect_line "matryoshka: exit status 0"
grep -q "ACPI control: soft power off" "$RUN/bochs.log" || fail "Bochs did not power off through ACPI ($RUN/bochs.log)"

rm -rf "$RUN"
pass
