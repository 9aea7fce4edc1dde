"""tools/bench's Linux figures: the Linux test guest's boot to its userspace marker under the
hypervisor against the same kernel and initramfs booted by GRUB alone, and the kernel-build-like
load of guests/linux/build-workload at 2x vCPU overcommit under two scheduling policies.
Bochs ticks throughout (its TSC counts emulated instructions)."""

import gzip
import re
import struct
import subprocess

from benchlib import ROOT, run_vm, table

LINUX = ROOT / "build" / "linux"
# quiet: natively, Bochs's 16550 paces each byte of the kernel's log at the emulated baud rate,
# where the hypervisor's UART takes it at once; with it both boots print the same few lines.
CMDLINE = "console=ttyS0 quiet"
VM_MEM = "128M"            # the VM's RAM, and the whole emulated machine's in the native boot
HV_MACHINE_MEM = "256"     # MiB of the emulated machine under the hypervisor: the VM's and its own
KERNEL_OFFSET = 0xFFFFFFFF80000000  # linker.ld: the hypervisor runs at its physical address + this
LOAD_PCPUS, LOAD_VCPUS = 2, 4       # 2x overcommit
LOAD_POLICIES = ["round-robin", "lock-holder-aware"]
# Which bench guest round trip (tools/bench) stands for an exit reason's cost; the rest: "floor".
EXIT_COST_OPS = {"CPUID": "cpuid", "I/O": "out80", "EPT violation": "lapic_read", "VMCALL": "vmcall"}
COST_OPS = sorted(set(EXIT_COST_OPS.values()) | {"floor"})

MARKER_RE = re.compile(r"^(?:\[lx\] )?matryoshka-linux: userspace reached, \d+ CPUs, TSC (\d+)$", re.M)
HANDOFF_RE = re.compile(r"^matryoshka: GRUB handoff at TSC (\d+)$", re.M)
VMX_ROOT_RE = re.compile(r"^matryoshka: handoff to VMX root: (\d+) ticks$", re.M)
TICK_RE = re.compile(r"^run-vm: tick at (0x[0-9a-f]+): (\d+)$", re.M)
EXITS_RE = re.compile(r"^matryoshka: vm lx exits: (.*)$", re.M)
LOAD_RE = re.compile(r"^\[lx\] matryoshka-linux: workload build: (\d+) units .* in (\d+) ticks, (\d+) per unit$", re.M)
LOAD_PASS_RE = re.compile(r"^\[lx\] matryoshka-linux: PASS workload build", re.M)


def grub_linux_entry(bzimage):
    """Where GRUB 2.06's `linux` command jumps on BIOS: the 32-bit entry, the start of the
    protected-mode kernel, which it loads at pref_address when the kernel is relocatable (boot
    protocol 2.10+, grub-core/loader/i386/linux.c), else at code32_start."""
    header = bzimage.read_bytes()[:0x260]
    version, = struct.unpack_from("<H", header, 0x206)
    code32_start, = struct.unpack_from("<I", header, 0x214)
    relocatable = header[0x234]
    pref_address, = struct.unpack_from("<Q", header, 0x258)
    return pref_address if version >= 0x20a and relocatable else code32_start


def first_vmlaunch(elf):
    """The physical address of the hypervisor's one VMLAUNCH (vmx/vm_entry.asm): where it first
    enters a guest."""
    listing = subprocess.run(["objdump", "-d", str(elf)], check=True, text=True, stdout=subprocess.PIPE).stdout
    match = re.search(r"^\s*([0-9a-f]+):\s+0f 01 c2\s+vmlaunch", listing, re.M)
    if match is None:
        raise SystemExit(f"bench: no VMLAUNCH in {elf}")
    return int(match.group(1), 16) - KERNEL_OFFSET


def first(regex, text):
    match = regex.search(text)
    return int(match.group(1)) if match else None


def tick_at(text, address):
    return next((int(m.group(2)) for m in TICK_RE.finditer(text) if int(m.group(1), 16) == address), None)


def exit_counts(text):
    """{reason: count} from the hypervisor's `vm lx exits: REASON N, ...` line."""
    match = EXITS_RE.search(text)
    if match is None or match.group(1) == "none":
        return {}
    return {reason: int(n) for reason, n in (item.rsplit(" ", 1) for item in match.group(1).split(", "))}


def difference(a, b):
    return a - b if a is not None and b is not None else None


def shown(value):
    return "-" if value is None else value


def print_exit_costs(counts, guest):
    """The exits' cost at the bench guest's round-trip costs (net of RDTSC): a lower bound of the
    time the hypervisor took from Linux, as a real exit also does its emulation's work."""
    rdtsc = guest.get("rdtsc_min")
    net = {op: guest[f"{op}_min"] - rdtsc for op in COST_OPS if f"{op}_min" in guest} if rdtsc else {}
    if "floor" not in net:
        return
    cost = sum(n * net.get(EXIT_COST_OPS.get(reason, "floor"), net["floor"]) for reason, n in counts.items())
    print(f"  at the bench guest's round trips (CPUID {net.get('cpuid')}, I/O as out80 {net.get('out80')}, "
          f"EPT violation as lapic_read {net.get('lapic_read')}, the rest as the floor {net['floor']}): "
          f"{cost} ticks, {sum(counts.values())} exits")


def print_linux_boot(elf, guest):
    """Boots the Linux guest natively and under the hypervisor, 1 CPU, and prints the ticks from
    GRUB's jump (to the kernel, to the hypervisor) to the marker, their ratio, and where the
    hypervisor's extra ticks go."""
    subprocess.run(["make", "-s", "-C", str(ROOT), "linux-guest"], check=True)
    bzimage = LINUX / "bzImage"
    # GRUB's module2 gunzips the VM's initrd before the handoff, its `initrd` command leaves it to
    # the kernel: both kernels get the same uncompressed archive instead.
    initrd = LINUX / "initrd.cpio"
    initrd.write_bytes(gzip.decompress((LINUX / "initrd.cpio.gz").read_bytes()))
    guest_spec = f"{bzimage},name=lx,initrd={initrd},mem={VM_MEM},cmdline={CMDLINE}"
    entry, launch = grub_linux_entry(bzimage), first_vmlaunch(elf)
    _, native, native_log, _ = run_vm("bench-linux-native", ["--tick-at", hex(entry), "--native", guest_spec])
    status, vm, vm_log, _ = run_vm("bench-linux-vm", ["--elf", str(elf), "--mem", HV_MACHINE_MEM,
                                                      "--tick-at", hex(launch), guest_spec])
    native_ticks = difference(first(MARKER_RE, native), tick_at(native, entry))
    handoff, marker, launched = first(HANDOFF_RE, vm), first(MARKER_RE, vm), tick_at(vm, launch)
    vm_ticks, guest_ticks = difference(marker, handoff), difference(marker, launched)
    vmx_root = first(VMX_ROOT_RE, vm)
    print(f"Linux boot to its userspace marker: 1 CPU, {VM_MEM}iB, cmdline \"{CMDLINE}\", the same bzImage and "
          f"uncompressed initramfs (ticks; logs {native_log}, {vm_log})")
    table(["stretch", "ticks", "vs native"], [
        [f"native: GRUB's jump to the kernel ({entry:#x}) to the marker", shown(native_ticks), ""],
        ["Matryoshka: GRUB's handoff to the marker", f"- (exit {status})" if vm_ticks is None else vm_ticks,
         shown(difference(vm_ticks, native_ticks))],
        ["  handoff to VMX root", shown(vmx_root), ""],
        ["  VMX root to the first VMLAUNCH (VM setup)", shown(difference(difference(launched, handoff), vmx_root)), ""],
        ["  first VMLAUNCH to the marker (Linux with its exits)", shown(guest_ticks),
         shown(difference(guest_ticks, native_ticks))],
    ])
    if vm_ticks and native_ticks:
        print(f"ratio {vm_ticks / native_ticks:.3f} (goal 1.05)")
    counts = exit_counts(vm)
    if counts:
        print("exits of the whole run (to the power-off): " + ", ".join(f"{r} {n}" for r, n in counts.items()))
        print_exit_costs(counts, guest)


def print_linux_load(elf):
    """The build-like load in a 4-vCPU Linux VM on 2 CPUs under each of LOAD_POLICIES."""
    rows, baseline = [], None
    for policy in LOAD_POLICIES:
        status, text, log, seconds = run_vm(
            f"bench-linux-load-{policy}",
            ["--elf", str(elf), "--cpus", str(LOAD_PCPUS), "--mem", HV_MACHINE_MEM, "--hv-args", f"sched={policy}",
             f"linux,name=lx,mem={VM_MEM},vcpus={LOAD_VCPUS},cmdline={CMDLINE} matryoshka.workload=build"])
        match = LOAD_RE.search(text)
        if match is None:
            rows.append([policy, "-", "-", "-", "-", "-", f"exit {status}", f"{seconds:.0f}", str(log)])
            continue
        units, ticks, per_unit = (int(g) for g in match.groups())
        baseline = per_unit if policy == LOAD_POLICIES[0] else baseline
        verdict = "ok" if LOAD_PASS_RE.search(text) and status == 0 else f"FAIL (exit {status})"
        rows.append([policy, units, ticks, per_unit, f"{per_unit / baseline:.3f}" if baseline else "-",
                     exit_counts(text).get("PAUSE", 0), verdict, f"{seconds:.0f}", str(log)])
    print(f"Linux build-like load (guests/linux/build-workload: short pipelines of busybox processes, "
          f"2 jobs per vCPU), {LOAD_VCPUS} vCPUs on {LOAD_PCPUS} CPUs")
    table(["sched", "units", "ticks", "ticks/unit", f"vs {LOAD_POLICIES[0]}", "PAUSE exits", "status", "wall s",
           "log"], rows)
