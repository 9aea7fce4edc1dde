// A guest that resets its machine (the 8042's reset line, the PIIX reset control register 0xCF9,
// which is also the FADT's reset register): with on_reboot=restart the VM starts again as a PC
// does after a reset; otherwise (on_reboot=end, or once max_restarts restarts are done) it ends
// with reason reboot.
//
// A restart is the machine's power-on state again: RAM zeroed and the guest's images loaded
// afresh from the modules GRUB loaded (vms::reload), every vCPU back to its power-on state
// (vms::power_on: the boot vCPU at the loader's start state, the others waiting for SIPI), the
// devices reset except the battery-backed CMOS (vm_devices::reset). Guest memory and devices may
// only change while no vCPU of the VM runs, and the vCPUs run on any CPU, so it is a rendezvous
// in the vCPU loop:
//   1. request() bumps the VM's reset generation and kicks every vCPU (a host IPI to the CPU
//      running it, a wake-up when it is blocked).
//   2. Each vCPU, at the top of its loop, takes the generation once: it is saved off its CPU and
//      put in its power-on state, whatever the old guest posted to it is dropped, and it counts
//      itself parked. The others then block (waiting for SIPI); vCPU 0 yields its CPU until all
//      are parked, so that on one CPU the others get to park.
//   3. vCPU 0, seeing all parked, reloads the VM and runs it from its start state.
// Nothing of the old guest survives but the CMOS: a guest counts its boots there, as on a PC.
// A guest that reboots for ever restarts for ever (as a PC does); max_restarts bounds it. A triple
// fault still ends the VM (a PC's chipset would reset it): it is a guest bug to report, not a reboot.
#pragma once
#include "arch/percpu.hpp"
#include "vmx/vm.hpp"

namespace vm_reset {

// The guest reset its machine (from a device model: any vCPU, devices lock held).
void request(Vm& vm);

enum class Step : uint8_t { run, block, yield };
// At the top of the vCPU loop, before the vCPU is loaded: run (no reset, or this vCPU restarted
// the VM and runs its new guest), block (parked until the new guest's SIPI), or yield (vCPU 0
// waits for the others to park).
Step take(PerCpu& cpu, Vcpu& vcpu);

// A reset this vCPU has not taken yet: checked after it blocks, so a request that raced with
// the block still wakes it.
bool pending(const Vcpu& vcpu);

}  // namespace vm_reset
