#include "drivers/virtual/vlapic.hpp"

namespace vlapic {
namespace {

// Register index = xAPIC offset >> 4 = x2APIC MSR - 0x800 ("Local APIC Register Address Map").
enum : uint32_t {
    kRegId = 0x02,
    kRegVersion = 0x03,
    kRegTpr = 0x08,
    kRegApr = 0x09,
    kRegPpr = 0x0a,
    kRegEoi = 0x0b,
    kRegRrd = 0x0c,
    kRegLdr = 0x0d,
    kRegDfr = 0x0e,
    kRegSvr = 0x0f,
    kRegIsr0 = 0x10,
    kRegTmr0 = 0x18,
    kRegIrr0 = 0x20,
    kRegEsr = 0x28,
    kRegIcr = 0x30,
    kRegIcrHigh = 0x31,
    kRegLvtTimer = 0x32,
    kRegLvtError = 0x37,
    kRegInitialCount = 0x38,
    kRegCurrentCount = 0x39,
    kRegDivide = 0x3e,
    kRegSelfIpi = 0x3f,
};

constexpr uint64_t kBaseBsp = 1ull << 8;
constexpr uint64_t kBaseExtd = 1ull << 10;
constexpr uint64_t kBaseEnable = 1ull << 11;

// Writable bits of timer, thermal, perf, LINT0, LINT1, error ("Local Vector Table").
constexpr uint32_t kLvtWritable[6] = {0x000700ff, 0x000107ff, 0x000107ff, 0x0001a7ff, 0x0001a7ff, 0x000100ff};
constexpr uint32_t kLvtDeliveryStatus = 1u << 12;
constexpr uint32_t kLvtRemoteIrr = 1u << 14;
constexpr size_t kLvtLint0 = 3, kLvtLint1 = 4, kLvtError = 5;

// ICR: vector, delivery mode, destination mode, level, trigger, shorthand. Delivery status
// (bit 12) reads 0 (idle) because sending is instantaneous here; it is reserved in x2APIC mode.
constexpr uint32_t kIcrLowWritable = 0x000ccfff;
constexpr uint64_t kIcrX2apicReserved = 0xfff33000;

constexpr uint32_t kSvrWritable = 0x3ff;  // vector, APIC enable, focus checking; no EOI suppression

int highest_bit(const uint32_t (&bits)[8])
{
    for (int i = 7; i >= 0; --i)
        if (bits[i]) return i * 32 + 31 - __builtin_clz(bits[i]);
    return -1;
}
bool test_bit(const uint32_t (&bits)[8], uint8_t v) { return (bits[v >> 5] >> (v & 31)) & 1; }
void set_bit(uint32_t (&bits)[8], uint8_t v) { bits[v >> 5] |= 1u << (v & 31); }
void clear_bit(uint32_t (&bits)[8], uint8_t v) { bits[v >> 5] &= ~(1u << (v & 31)); }

}  // namespace

Vlapic::Vlapic(const Config& config, Callbacks callbacks)
    : id_(config.apic_id),
      tsc_per_bus_tick_(config.tsc_per_bus_tick == 0 ? 1
                        : config.tsc_per_bus_tick > (1u << 24) ? (1u << 24)
                                                               : config.tsc_per_bus_tick),
      phys_addr_bits_(config.phys_addr_bits < 32 ? 32 : config.phys_addr_bits > 52 ? 52 : config.phys_addr_bits),
      callbacks_(callbacks),
      apic_base_(kDefaultBase | kBaseEnable | (config.bsp ? kBaseBsp : 0))
{
    reset_registers();
}

bool Vlapic::handles_msr(uint32_t msr)
{
    return msr == kMsrApicBase || msr == kMsrTscDeadline || (msr >= kMsrX2apicFirst && msr <= kMsrX2apicLast);
}

Mode Vlapic::mode() const
{
    if (!(apic_base_ & kBaseEnable)) return Mode::disabled;
    return (apic_base_ & kBaseExtd) ? Mode::x2apic : Mode::xapic;
}

uint64_t Vlapic::physical_mask() const { return (1ull << phys_addr_bits_) - 1; }

// x2APIC: the logical ID is derived from the x2APIC ID ("Logical Destination Mode in x2APIC
// Mode"): cluster = ID[19:4] in bits 31:16, one bit per ID[3:0] in bits 15:0.
uint32_t Vlapic::ldr() const
{
    if (mode() == Mode::x2apic) return ((id_ >> 4) << 16) | (1u << (id_ & 0xf));
    return ldr_;
}

void Vlapic::reset_registers()
{
    tpr_ = 0;
    ldr_ = 0;
    dfr_ = 0xffffffff;
    svr_ = 0xff;
    for (int i = 0; i < 8; ++i) isr_[i] = tmr_[i] = irr_[i] = 0;
    esr_ = esr_pending_ = 0;
    icr_ = 0;
    for (auto& lvt : lvt_) lvt = kLvtMask;
    initial_count_ = 0;
    divide_ = 0;
    count_running_ = false;
    count_start_ = 0;
    deadline_ = 0;
}

void Vlapic::init_reset() { reset_registers(); }

// "Interrupt, Task, and Processor Priority": PPR[7:4] = max(TPR[7:4], ISRV[7:4]), and PPR[3:0]
// = TPR[3:0] only when the TPR class wins.
uint8_t Vlapic::ppr() const
{
    int isrv = highest_bit(isr_);
    uint32_t isr_class = isrv < 0 ? 0 : uint32_t(isrv) & 0xf0;
    return (tpr_ & 0xf0) >= isr_class ? uint8_t(tpr_) : uint8_t(isr_class);
}

int Vlapic::highest_deliverable() const
{
    if (mode() == Mode::disabled) return -1;
    int v = highest_bit(irr_);
    if (v < 0) return -1;
    return (uint32_t(v) & 0xf0) > (uint32_t(ppr()) & 0xf0) ? v : -1;
}

void Vlapic::acknowledge(uint8_t vector)
{
    clear_bit(irr_, vector);
    set_bit(isr_, vector);
}

void Vlapic::accept(uint8_t vector, bool level_triggered)
{
    if (mode() == Mode::disabled) return;
    if (vector < 16) {
        signal_error(kEsrReceiveIllegalVector);
        return;
    }
    if (!software_enabled()) return;
    set_bit(irr_, vector);
    if (level_triggered) set_bit(tmr_, vector);
    else clear_bit(tmr_, vector);
}

// Local sources (LVT timer, error): edge-triggered fixed interrupts. They are masked while the
// APIC is software-disabled, so no enable check here.
void Vlapic::raise_local(uint8_t vector)
{
    if (vector < 16) {
        signal_error(kEsrReceiveIllegalVector);
        return;
    }
    set_bit(irr_, vector);
    clear_bit(tmr_, vector);
}

// "Error Handling": errors accumulate until the next ESR write, and each one raises the LVT
// error interrupt unless it is masked. An illegal error vector only adds its own bit (no loop).
void Vlapic::signal_error(uint32_t bits)
{
    esr_pending_ |= bits;
    uint32_t lvt = lvt_[kLvtError];
    if (lvt & kLvtMask) return;
    uint8_t vector = uint8_t(lvt);
    if (vector < 16) {
        esr_pending_ |= kEsrReceiveIllegalVector;
        return;
    }
    set_bit(irr_, vector);
    clear_bit(tmr_, vector);
}

void Vlapic::eoi()
{
    int v = highest_bit(isr_);
    if (v < 0) return;
    clear_bit(isr_, uint8_t(v));
    if (test_bit(tmr_, uint8_t(v)) && callbacks_.level_eoi) callbacks_.level_eoi(callbacks_.context, uint8_t(v));
}

// ---- timer ("APIC Timer"; "TSC-Deadline Mode") -------------------------------------------

// Divide configuration bits 3,1:0: 000 = /2 ... 110 = /128, 111 = /1.
uint64_t Vlapic::ticks_per_count() const
{
    uint32_t code = ((divide_ & 8) >> 1) | (divide_ & 3);
    return (1ull << ((code + 1) & 7)) * tsc_per_bus_tick_;
}

uint64_t Vlapic::period() const { return uint64_t(initial_count_) * ticks_per_count(); }

uint32_t Vlapic::current_count(uint64_t now) const
{
    if (timer_mode() == TimerMode::tsc_deadline || !count_running_) return 0;
    uint64_t p = period();
    uint64_t elapsed = now - count_start_;
    if (elapsed >= p) {
        if (timer_mode() != TimerMode::periodic) return 0;
        elapsed %= p;
    }
    return initial_count_ - uint32_t(elapsed / ticks_per_count());
}

uint64_t Vlapic::next_deadline() const
{
    if (mode() == Mode::disabled || (lvt_[0] & kLvtMask)) return kNoDeadline;
    if (timer_mode() == TimerMode::tsc_deadline) return deadline_ ? host_deadline_ : kNoDeadline;
    if (!count_running_) return kNoDeadline;
    return count_start_ + period();
}

// The guest TSC is compared with the deadline continuously ("TSC-Deadline Mode"): a deadline
// it has reached fires at once, a later one when the host TSC has advanced by the difference.
void Vlapic::arm_deadline(uint64_t guest_deadline, uint64_t now)
{
    deadline_ = guest_deadline;
    uint64_t guest_now = now + tsc_offset_;
    uint64_t ahead = guest_deadline <= guest_now ? 0 : guest_deadline - guest_now;
    host_deadline_ = ahead > kNoDeadline - now ? kNoDeadline : now + ahead;  // saturated: never
}

void Vlapic::set_tsc_offset(uint64_t offset, uint64_t now)
{
    update(now);
    tsc_offset_ = offset;
    if (!deadline_) return;
    arm_deadline(deadline_, now);
    update(now);
}

void Vlapic::update(uint64_t now)
{
    if (mode() == Mode::disabled) return;
    if (timer_mode() == TimerMode::tsc_deadline) {
        if (deadline_ == 0 || now < host_deadline_) return;
        deadline_ = 0;  // the timer disarms itself and the MSR reads 0 again
    } else {
        if (!count_running_) return;
        uint64_t p = period();
        uint64_t elapsed = now - count_start_;
        if (elapsed < p) return;
        // Periodic: reload at the period boundary (no drift); periods missed while nobody
        // called update() coalesce into one interrupt, as the IRR holds one bit per vector.
        // Mode 11b (reserved) counts like one-shot.
        if (timer_mode() == TimerMode::periodic) count_start_ += elapsed - elapsed % p;
        else count_running_ = false;
    }
    if (!(lvt_[0] & kLvtMask)) raise_local(uint8_t(lvt_[0]));
}

// ---- registers ----------------------------------------------------------------------------

bool Vlapic::read_register(uint32_t index, uint64_t now, uint64_t& value, bool x2apic)
{
    value = 0;
    switch (index) {
    case kRegId: value = x2apic ? id_ : (id_ & 0xff) << 24; return true;
    case kRegVersion: value = kVersion; return true;
    case kRegTpr: value = tpr_; return true;
    case kRegApr: return !x2apic;  // not in the x2APIC map; arbitration priority reads 0
    case kRegPpr: value = ppr(); return true;
    case kRegEoi: return !x2apic;  // write-only
    case kRegRrd: return !x2apic;  // remote read is not supported: reads 0
    case kRegLdr: value = ldr(); return true;
    case kRegDfr:
        value = dfr_;
        return !x2apic;
    case kRegSvr: value = svr_; return true;
    case kRegEsr: value = esr_; return true;
    case kRegIcr: value = x2apic ? icr_ : (icr_ & 0xffffffff); return true;
    case kRegIcrHigh:
        value = (icr_ >> 32) & 0xff000000;
        return !x2apic;
    case kRegInitialCount: value = initial_count_; return true;
    case kRegCurrentCount: value = current_count(now); return true;
    case kRegDivide: value = divide_; return true;
    default: break;
    }
    if (index >= kRegIsr0 && index < kRegIsr0 + 8) value = isr_[index - kRegIsr0];
    else if (index >= kRegTmr0 && index < kRegTmr0 + 8) value = tmr_[index - kRegTmr0];
    else if (index >= kRegIrr0 && index < kRegIrr0 + 8) value = irr_[index - kRegIrr0];
    else if (index >= kRegLvtTimer && index <= kRegLvtError) value = lvt_[index - kRegLvtTimer];
    else return false;  // reserved, CMCI (not implemented), SELF IPI (write-only / xAPIC reserved)
    return true;
}

// xAPIC: reserved bits and read-only registers are ignored. x2APIC ("Reserved Bit Checking"):
// a reserved bit set, a read-only or unlisted register is #GP.
MsrResult Vlapic::write_register(uint32_t index, uint64_t value, uint64_t now, bool x2apic)
{
    auto fits = [&](uint64_t allowed) { return !x2apic || (value & ~allowed) == 0; };
    uint32_t v = uint32_t(value);
    switch (index) {
    case kRegTpr:
        if (!fits(0xff)) return MsrResult::gp;
        tpr_ = v & 0xff;
        return MsrResult::ok;
    case kRegEoi:
        if (!fits(0)) return MsrResult::gp;
        eoi();
        return MsrResult::ok;
    case kRegLdr:
        if (x2apic) return MsrResult::gp;
        ldr_ = v & 0xff000000;
        return MsrResult::ok;
    case kRegDfr:
        if (x2apic) return MsrResult::gp;
        dfr_ = v | 0x0fffffff;
        return MsrResult::ok;
    case kRegSvr:
        if (!fits(kSvrWritable)) return MsrResult::gp;
        svr_ = v & kSvrWritable;
        // "Local APIC State After It Has Been Software Disabled": every LVT is masked.
        if (!software_enabled())
            for (auto& lvt : lvt_) lvt |= kLvtMask;
        return MsrResult::ok;
    case kRegEsr:
        if (!fits(0)) return MsrResult::gp;
        esr_ = esr_pending_;
        esr_pending_ = 0;
        return MsrResult::ok;
    case kRegIcr:
        if (x2apic) {
            if (value & kIcrX2apicReserved) return MsrResult::gp;
            icr_ = value;
        } else {
            icr_ = (icr_ & ~0xffffffffull) | (v & kIcrLowWritable);
        }
        send_icr(icr_);
        return MsrResult::ok;
    case kRegIcrHigh:
        if (x2apic) return MsrResult::gp;
        icr_ = (icr_ & 0xffffffffull) | (uint64_t(v & 0xff000000) << 32);
        return MsrResult::ok;
    case kRegInitialCount:
        if (!fits(0xffffffff)) return MsrResult::gp;
        // TSC-deadline mode ignores the initial count.
        if (timer_mode() == TimerMode::tsc_deadline) return MsrResult::ok;
        initial_count_ = v;
        count_running_ = v != 0;
        count_start_ = now;
        return MsrResult::ok;
    case kRegDivide: {
        if (!fits(0xb)) return MsrResult::gp;
        uint32_t remaining = current_count(now);
        divide_ = v & 0xb;
        // The count carries on from where it is, at the new rate.
        if (count_running_) count_start_ = now - uint64_t(initial_count_ - remaining) * ticks_per_count();
        return MsrResult::ok;
    }
    case kRegSelfIpi:
        if (!x2apic) break;  // reserved offset in xAPIC mode
        if (!fits(0xff)) return MsrResult::gp;
        if ((v & 0xff) < 16) signal_error(kEsrSendIllegalVector);
        else accept(uint8_t(v), false);
        return MsrResult::ok;
    case kRegId:
    case kRegVersion:
    case kRegPpr:
    case kRegCurrentCount:
        // Read-only. The xAPIC ID is writable on some models only; it stays fixed here.
        return x2apic ? MsrResult::gp : MsrResult::ok;
    case kRegApr:
    case kRegRrd:
        return x2apic ? MsrResult::gp : MsrResult::ok;
    default: break;
    }
    if (index >= kRegIsr0 && index < kRegIrr0 + 8) return x2apic ? MsrResult::gp : MsrResult::ok;
    if (index >= kRegLvtTimer && index <= kRegLvtError) {
        size_t i = index - kRegLvtTimer;
        uint32_t read_only = kLvtDeliveryStatus | ((i == kLvtLint0 || i == kLvtLint1) ? kLvtRemoteIrr : 0);
        if (!fits(kLvtWritable[i] | read_only)) return MsrResult::gp;
        uint32_t lvt = v & kLvtWritable[i];
        if (!software_enabled()) lvt |= kLvtMask;
        if (i == 0) {
            if (x2apic && ((lvt >> 17) & 3) == uint32_t(TimerMode::reserved)) return MsrResult::gp;
            // Entering or leaving TSC-deadline mode disarms the timer; one-shot <-> periodic
            // keeps the countdown, the new mode applies at its end.
            bool was_deadline = timer_mode() == TimerMode::tsc_deadline;
            bool is_deadline = ((lvt >> 17) & 3) == uint32_t(TimerMode::tsc_deadline);
            if (was_deadline != is_deadline) {
                count_running_ = false;
                initial_count_ = 0;
                deadline_ = 0;
            }
        }
        lvt_[i] = lvt;
        return MsrResult::ok;
    }
    if (x2apic) return MsrResult::gp;
    signal_error(kEsrIllegalRegisterAddress);
    return MsrResult::ok;
}

// "Interrupt Command Register (ICR)". Sending completes at once.
void Vlapic::send_icr(uint64_t icr)
{
    bool x2apic = mode() == Mode::x2apic;
    IpiRequest request{};
    request.vector = uint8_t(icr);
    request.delivery_mode = DeliveryMode((icr >> 8) & 7);
    request.dest_mode = DestMode((icr >> 11) & 1);
    request.level = (icr >> 14) & 1;
    request.trigger = Trigger((icr >> 15) & 1);
    request.shorthand = Shorthand((icr >> 18) & 3);
    request.x2apic = x2apic;
    request.destination = x2apic ? uint32_t(icr >> 32) : uint32_t(icr >> 56);

    bool vectored = request.delivery_mode == DeliveryMode::fixed || request.delivery_mode == DeliveryMode::lowest_priority;
    if (vectored && request.vector < 16) {
        signal_error(kEsrSendIllegalVector);
        return;
    }
    uint32_t broadcast = x2apic ? 0xffffffff : 0xff;
    bool self_only = request.shorthand == Shorthand::self ||
                     (request.shorthand == Shorthand::none && request.dest_mode == DestMode::physical &&
                      request.destination == id() && request.destination != broadcast);
    if (self_only && request.delivery_mode == DeliveryMode::fixed) {
        // IPIs are edge-triggered (the ICR trigger bit only qualifies INIT de-assert).
        accept(request.vector, false);
        return;
    }
    if (callbacks_.send_ipi) callbacks_.send_ipi(callbacks_.context, request);
}

bool Vlapic::matches_destination(uint32_t destination, bool logical) const
{
    switch (mode()) {
    case Mode::disabled: return false;
    case Mode::x2apic: {
        if (destination == 0xffffffff) return true;
        if (!logical) return destination == id_;
        uint32_t l = ldr();
        return (destination >> 16) == (l >> 16) && (destination & l & 0xffff) != 0;
    }
    case Mode::xapic: break;
    }
    uint8_t d = uint8_t(destination);
    if (d == 0xff) return true;
    if (!logical) return d == (id_ & 0xff);
    uint8_t l = uint8_t(ldr_ >> 24);
    if ((dfr_ >> 28) == 0xf) return (d & l) != 0;  // flat model
    return (d >> 4) == (l >> 4) && (d & l & 0xf) != 0;  // cluster model
}

// ---- IA32_APIC_BASE ("x2APIC State Transitions") -----------------------------------------

MsrResult Vlapic::write_apic_base(uint64_t value)
{
    // Bits 7:0 and 9 and those above MAXPHYADDR are reserved; BSP (bit 8) is read-only here.
    if (value & (0x2ffull | ~physical_mask())) return MsrResult::gp;
    bool enable = value & kBaseEnable, extd = value & kBaseExtd;
    if (!enable && extd) return MsrResult::gp;  // the invalid state
    Mode from = mode();
    Mode to = !enable ? Mode::disabled : extd ? Mode::x2apic : Mode::xapic;
    if (from == Mode::disabled && to == Mode::x2apic) return MsrResult::gp;
    if (from == Mode::x2apic && to == Mode::xapic) return MsrResult::gp;
    apic_base_ = (value & ~kBaseBsp) | (apic_base_ & kBaseBsp);
    // Only the ID survives a pass through the disabled state.
    if (to == Mode::disabled && from != Mode::disabled) reset_registers();
    return MsrResult::ok;
}

// ---- access front ends --------------------------------------------------------------------

MsrResult Vlapic::read_msr(uint32_t msr, uint64_t now, uint64_t& value)
{
    value = 0;
    update(now);
    if (msr == kMsrApicBase) {
        value = apic_base_;
        return MsrResult::ok;
    }
    if (msr == kMsrTscDeadline) {
        // Reads 0 outside TSC-deadline mode ("TSC-Deadline Mode").
        if (mode() != Mode::disabled && timer_mode() == TimerMode::tsc_deadline) value = deadline_;
        return MsrResult::ok;
    }
    if (msr < kMsrX2apicFirst || msr > kMsrX2apicLast || mode() != Mode::x2apic) return MsrResult::gp;
    uint32_t index = msr - kMsrX2apicFirst;
    if (index > kRegSelfIpi || !read_register(index, now, value, true)) {
        value = 0;
        return MsrResult::gp;
    }
    return MsrResult::ok;
}

MsrResult Vlapic::write_msr(uint32_t msr, uint64_t value, uint64_t now)
{
    update(now);
    if (msr == kMsrApicBase) return write_apic_base(value);
    if (msr == kMsrTscDeadline) {
        // Ignored outside TSC-deadline mode; 0 disarms; a deadline already past fires at once.
        if (mode() != Mode::disabled && timer_mode() == TimerMode::tsc_deadline) {
            arm_deadline(value, now);
            update(now);
        }
        return MsrResult::ok;
    }
    if (msr < kMsrX2apicFirst || msr > kMsrX2apicLast || mode() != Mode::x2apic) return MsrResult::gp;
    uint32_t index = msr - kMsrX2apicFirst;
    if (index > kRegSelfIpi) return MsrResult::gp;
    // The upper half of every x2APIC MSR except the ICR is reserved.
    if (index != kRegIcr && (value >> 32)) return MsrResult::gp;
    return write_register(index, value, now, true);
}

bool Vlapic::mmio_decodes(uint64_t gpa) const
{
    return mode() == Mode::xapic && gpa - mmio_base() < kPageSize;
}

uint64_t Vlapic::read_mmio(uint64_t offset, uint8_t size, uint64_t now)
{
    if (mode() != Mode::xapic || offset >= kPageSize) return 0;
    if (size != 1 && size != 2 && size != 4 && size != 8) return 0;
    update(now);
    uint32_t in_slot = uint32_t(offset & 0xf);
    if (in_slot + size > 16) return 0;
    if (in_slot >= 4) return 0;
    uint64_t reg = 0;
    if (!read_register(uint32_t(offset >> 4), now, reg, false)) {
        signal_error(kEsrIllegalRegisterAddress);
        reg = 0;
    }
    reg = (reg & 0xffffffff) >> (8 * in_slot);
    return size >= 4 ? reg : reg & ((1ull << (8 * size)) - 1);
}

void Vlapic::write_mmio(uint64_t offset, uint8_t size, uint64_t value, uint64_t now)
{
    if (mode() != Mode::xapic || offset >= kPageSize) return;
    if (size != 4 || (offset & 0xf)) return;
    update(now);
    write_register(uint32_t(offset >> 4), uint32_t(value), now, false);
}

}  // namespace vlapic
