#include "vmx/ipi.hpp"

#include "arch/percpu.hpp"
#include "drivers/lapic.hpp"
#include "vmx/scheduling.hpp"
#include "vmx/vm.hpp"

namespace ipi {
namespace {

using vlapic::DeliveryMode, vlapic::Shorthand;

void post(Vcpu& target, const vlapic::IpiRequest& r)
{
    switch (r.delivery_mode) {
    case DeliveryMode::fixed:
    case DeliveryMode::lowest_priority:
        // The trigger bit first: drain() reads it after taking the vector.
        if (r.trigger == vlapic::Trigger::level)
            __atomic_fetch_or(&target.posted_level[r.vector / 64], 1ull << (r.vector % 64), __ATOMIC_RELEASE);
        __atomic_fetch_or(&target.posted_vectors[r.vector / 64], 1ull << (r.vector % 64), __ATOMIC_RELEASE);
        break;
    case DeliveryMode::nmi: __atomic_store_n(&target.pending_nmi, true, __ATOMIC_RELEASE); break;
    case DeliveryMode::init:
        // INIT level de-assert (bit 14 clear) is a no-op on modern processors (SDM Vol. 3A
        // "Interrupt Command Register").
        if (!r.level) return;
        __atomic_store_n(&target.pending_init, true, __ATOMIC_RELEASE);
        break;
    case DeliveryMode::startup: __atomic_store_n(&target.pending_sipi, int(r.vector), __ATOMIC_RELEASE); break;
    default: return;  // SMI and the reserved modes have no effect on a VM
    }
    kick(target);
}

bool selected(const Vcpu& sender, const Vcpu& target, const vlapic::IpiRequest& r)
{
    switch (r.shorthand) {
    case Shorthand::self: return &sender == &target;
    case Shorthand::all_including_self: return true;
    case Shorthand::all_excluding_self: return &sender != &target;
    case Shorthand::none: break;
    }
    // Reads the target's ID/LDR/DFR from another CPU: aligned 32-bit registers, and a guest that
    // changes them while sending to itself races on real hardware too.
    return target.lapic.matches_destination(r.destination, r.dest_mode == vlapic::DestMode::logical);
}

}  // namespace

void route(void* sender_context, const vlapic::IpiRequest& r)
{
    Vcpu& sender = *static_cast<Vcpu*>(sender_context);
    Vm& vm = *sender.vm;
    for (uint32_t i = 0; i < vm.vcpu_count; ++i) {
        Vcpu& target = vm.vcpus[i];
        if (!selected(sender, target, r)) continue;
        post(target, r);
        // Lowest priority goes to one of the selected processors (SDM Vol. 3A "Lowest Priority
        // Delivery Mode"): the first is as good as any for a VM.
        if (r.delivery_mode == DeliveryMode::lowest_priority) return;
    }
}

void deliver_message(Vm& vm, const ioapic::Message& m)
{
    vlapic::IpiRequest r{};
    r.vector = m.vector;
    switch (m.delivery_mode) {
    case ioapic::DeliveryMode::fixed: r.delivery_mode = DeliveryMode::fixed; break;
    case ioapic::DeliveryMode::lowest_priority: r.delivery_mode = DeliveryMode::lowest_priority; break;
    case ioapic::DeliveryMode::nmi: r.delivery_mode = DeliveryMode::nmi; break;
    case ioapic::DeliveryMode::init: r.delivery_mode = DeliveryMode::init; break;
    default: return;  // SMI, ExtINT (the 8259s are not connected)
    }
    r.dest_mode = m.logical ? vlapic::DestMode::logical : vlapic::DestMode::physical;
    // 0xFF is the broadcast in both APIC modes (an x2APIC compares 0xFFFFFFFF).
    r.destination = m.destination == 0xff ? 0xffffffffu : m.destination;
    r.level = true;
    r.trigger = m.level ? vlapic::Trigger::level : vlapic::Trigger::edge;
    // A fixed vector 0-15 is posted too: the receiving local APIC rejects it with ESR's "receive
    // illegal vector" (SDM Vol. 3A "Error Handling"), in Vlapic::accept.
    for (uint32_t i = 0; i < vm.vcpu_count; ++i) {
        Vcpu& target = vm.vcpus[i];
        if (!target.lapic.matches_destination(r.destination, m.logical)) continue;
        post(target, r);
        if (r.delivery_mode == DeliveryMode::lowest_priority) return;  // as route() does
    }
}

void level_eoi(void* context, uint8_t vector)
{
    Vm& vm = *static_cast<Vcpu*>(context)->vm;
    SpinlockGuard guard(vm.devices_lock);
    vm.devices.ioapic.eoi(vector);
}

void kick(Vcpu& target)
{
    // A CPU running the target in guest mode exits on the host interrupt; one in the vCPU loop
    // drains the mailbox before its next entry anyway, and the interrupt then costs at most one
    // spurious exit. The post was a locked operation, so this load is ordered after it and the
    // target's CPU stores resident_on before it drains (vcpu_switch::load).
    PerCpu* cpu = __atomic_load_n(&target.resident_on, __ATOMIC_SEQ_CST);
    if (cpu && cpu != &this_cpu()) lapic::send_fixed(cpu->apic_id, kKickVector);
    // A halted (or SIPI-waiting) vCPU is off every run queue until someone wakes it.
    scheduling::wake(target);
}

bool pending(const Vcpu& vcpu)
{
    for (const uint64_t& word : vcpu.posted_vectors)
        if (__atomic_load_n(&word, __ATOMIC_SEQ_CST)) return true;
    return __atomic_load_n(&vcpu.pending_nmi, __ATOMIC_SEQ_CST) || __atomic_load_n(&vcpu.pending_init, __ATOMIC_SEQ_CST) ||
           __atomic_load_n(&vcpu.pending_sipi, __ATOMIC_SEQ_CST) >= 0;
}

void drain(Vcpu& vcpu)
{
    for (unsigned word = 0; word < 4; ++word) {
        // A plain load first: the locked exchange only when something was posted (every entry
        // passes here).
        if (!__atomic_load_n(&vcpu.posted_vectors[word], __ATOMIC_RELAXED)) continue;
        uint64_t bits = __atomic_exchange_n(&vcpu.posted_vectors[word], 0, __ATOMIC_ACQUIRE);
        uint64_t level = __atomic_fetch_and(&vcpu.posted_level[word], ~bits, __ATOMIC_ACQUIRE) & bits;
        while (bits) {
            unsigned bit = unsigned(__builtin_ctzll(bits));
            bits &= bits - 1;
            vcpu.lapic.accept(uint8_t(word * 64 + bit), (level >> bit) & 1);
        }
    }
}

}  // namespace ipi
