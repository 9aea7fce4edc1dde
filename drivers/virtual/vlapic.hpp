// Virtual local APIC of one vCPU: the xAPIC register page (MMIO), the x2APIC MSRs, the timer
// (one-shot, periodic, TSC-deadline) and interrupt acceptance/delivery. A pure model: the
// hypervisor feeds it guest accesses and the time (`now`), injects what
// highest_deliverable() returns and routes IPIs the model cannot deliver itself.
//
// References are to the Intel SDM Vol. 3A chapter "Advanced Programmable Interrupt Controller
// (APIC)" by section name (the chapter number changed between editions).
//
// `now` is the host TSC and must not go backwards between calls on one object: the one-shot and
// periodic timers count bus clocks, which guest TSC writes do not move. IA32_TSC_DEADLINE holds
// a guest TSC value, the host TSC plus the offset set_tsc_offset() gives (0 until then); every
// deadline this model reports is converted to host time. Every register
// access first processes the timer up to `now`, so the guest never observes a timer that should
// already have fired. Not thread-safe: the caller serialises calls on one object (accept() from
// another vCPU's IPI included).
#pragma once
#include <cstddef>
#include <cstdint>

namespace vlapic {

constexpr uint32_t kMsrApicBase = 0x1b;
constexpr uint32_t kMsrTscDeadline = 0x6e0;
// The whole x2APIC MSR range ("x2APIC Register Address Space"); unlisted addresses #GP.
constexpr uint32_t kMsrX2apicFirst = 0x800;
constexpr uint32_t kMsrX2apicLast = 0xbff;

constexpr uint64_t kDefaultBase = 0xfee00000;
constexpr uint64_t kPageSize = 0x1000;
constexpr uint64_t kNoDeadline = ~0ull;
// Version register: version 0x14 (integrated APIC), max LVT entry 5 (timer, thermal, perf,
// LINT0, LINT1, error: no CMCI), bit 24 clear (no EOI-broadcast suppression).
constexpr uint32_t kVersion = 0x00050014;

// ESR bits ("Error Handling").
constexpr uint32_t kEsrSendIllegalVector = 1u << 5;
constexpr uint32_t kEsrReceiveIllegalVector = 1u << 6;
constexpr uint32_t kEsrIllegalRegisterAddress = 1u << 7;

enum class Mode : uint8_t { disabled, xapic, x2apic };

// ICR fields ("Interrupt Command Register (ICR)").
enum class DeliveryMode : uint8_t {
    fixed = 0,
    lowest_priority = 1,
    smi = 2,
    reserved3 = 3,
    nmi = 4,
    init = 5,
    startup = 6,
    reserved7 = 7,
};
enum class Shorthand : uint8_t { none = 0, self = 1, all_including_self = 2, all_excluding_self = 3 };
enum class DestMode : uint8_t { physical = 0, logical = 1 };
enum class Trigger : uint8_t { edge = 0, level = 1 };

// An IPI the hypervisor has to route, decoded from the ICR exactly as written.
struct IpiRequest {
    uint8_t vector;
    DeliveryMode delivery_mode;
    uint32_t destination;  // xAPIC: ICR bits 63:56 (8 bits); x2APIC: ICR bits 63:32
    Shorthand shorthand;
    DestMode dest_mode;
    bool level;            // ICR bit 14: 0 only for an INIT level de-assert
    Trigger trigger;       // ICR bit 15
    bool x2apic;           // the sender was in x2APIC mode: `destination` is 32-bit
};

struct Callbacks {
    // Every IPI that is not a fixed IPI to this APIC alone (shorthand self, or physical
    // destination == own ID): other destinations, broadcasts and logical destinations (which
    // may include this APIC: the router then calls accept() on it), NMI/INIT/SIPI/SMI/lowest
    // priority, also to self. Called at the end of the ICR write, so re-entering this object
    // from the callback is safe. Null: such IPIs are dropped.
    void (*send_ipi)(void* context, const IpiRequest& request);
    // EOI of a level-triggered vector (TMR bit set): for the IOAPIC's remote IRR. May be null.
    void (*level_eoi)(void* context, uint8_t vector);
    void* context;
};

struct Config {
    uint32_t apic_id = 0;           // x2APIC ID; the xAPIC ID is its low 8 bits
    bool bsp = false;               // IA32_APIC_BASE bit 8
    // TSC ticks per APIC timer input tick before the divide configuration; the timer's bus
    // clock is TSC / tsc_per_bus_tick (e.g. 3 for a 3 GHz TSC gives a 1 GHz bus). The guest
    // learns the rate from CPUID leaf 0x15 or calibrates it. 0 is taken as 1; clamped to 2^24.
    uint32_t tsc_per_bus_tick = 1;
    uint8_t phys_addr_bits = 39;    // guest MAXPHYADDR: IA32_APIC_BASE bits above it are reserved
};

enum class MsrResult : uint8_t { ok, gp };  // gp: the hypervisor injects #GP(0)

class Vlapic {
public:
    Vlapic(const Config& config, Callbacks callbacks);

    // IA32_APIC_BASE, IA32_TSC_DEADLINE and the x2APIC range.
    static bool handles_msr(uint32_t msr);
    MsrResult read_msr(uint32_t msr, uint64_t now, uint64_t& value);
    MsrResult write_msr(uint32_t msr, uint64_t value, uint64_t now);

    // The register page is decoded only in xAPIC mode (not when disabled or in x2APIC mode);
    // the hypervisor checks this before its MMIO bus.
    bool mmio_decodes(uint64_t gpa) const;
    uint64_t mmio_base() const { return apic_base_ & ~(kPageSize - 1) & physical_mask(); }
    // offset within the page. Reads of 1, 2, 4 or 8 bytes that stay inside one 16-byte register
    // slot return its bytes (the register is bytes 0..3, the rest reads 0); other reads return 0.
    // Writes must be 4 bytes at a 16-byte aligned offset; others are ignored ("Local APIC
    // Register Address Map": registers are accessed with aligned 32-bit loads and stores).
    uint64_t read_mmio(uint64_t offset, uint8_t size, uint64_t now);
    void write_mmio(uint64_t offset, uint8_t size, uint64_t value, uint64_t now);

    // An interrupt arriving from the IOAPIC or another APIC (fixed delivery). Vectors 0..15 set
    // ESR "receive illegal vector" instead. Dropped when the APIC is hardware- or
    // software-disabled ("Local APIC State After It Has Been Software Disabled").
    void accept(uint8_t vector, bool level_triggered = false);
    // The highest IRR vector whose priority class is above the PPR's class, or -1
    // ("Interrupt, Task, and Processor Priority").
    int highest_deliverable() const;
    // The vCPU took `vector` (the hypervisor injected it): IRR -> ISR.
    void acknowledge(uint8_t vector);

    // TSC value at which update() will change state (the timer fires), or kNoDeadline.
    // A masked timer reports none: its expiry is processed silently at the next access.
    uint64_t next_deadline() const;
    void update(uint64_t now);

    // The guest's TSC is now + offset from here on (it wrote IA32_TSC or IA32_TSC_ADJUST): an
    // armed TSC deadline keeps its guest value and fires when the moved TSC reaches it.
    void set_tsc_offset(uint64_t offset, uint64_t now);

    // INIT: registers to their reset values; ID, mode and base are kept ("x2APIC State
    // Transitions").
    void init_reset();

    Mode mode() const;
    uint32_t id() const { return mode() == Mode::x2apic ? id_ : (id_ & 0xff); }
    uint64_t apic_base() const { return apic_base_; }
    bool software_enabled() const { return (svr_ & kSvrEnable) != 0; }
    uint8_t tpr() const { return uint8_t(tpr_); }
    void set_tpr(uint8_t value) { tpr_ = value; }  // CR8 writes: TPR = CR8 << 4
    uint8_t ppr() const;
    uint32_t esr() const { return esr_; }
    uint32_t current_count(uint64_t now) const;
    // For the IPI router: does (destination, logical) select this APIC in its current mode
    // ("Determining IPI Destination"; x2APIC "Logical Destination Mode in x2APIC Mode")?
    // Broadcast (0xff xAPIC, 0xffffffff x2APIC) matches.
    bool matches_destination(uint32_t destination, bool logical) const;

private:
    static constexpr uint32_t kSvrEnable = 1u << 8;
    static constexpr uint32_t kLvtMask = 1u << 16;
    static constexpr size_t kLvtCount = 6;
    enum class TimerMode : uint8_t { one_shot = 0, periodic = 1, tsc_deadline = 2, reserved = 3 };

    bool read_register(uint32_t index, uint64_t now, uint64_t& value, bool x2apic);
    MsrResult write_register(uint32_t index, uint64_t value, uint64_t now, bool x2apic);
    MsrResult write_apic_base(uint64_t value);
    void reset_registers();
    void arm_deadline(uint64_t guest_deadline, uint64_t now);
    void send_icr(uint64_t icr);
    void signal_error(uint32_t bits);
    void raise_local(uint8_t vector);
    void eoi();
    TimerMode timer_mode() const { return TimerMode((lvt_[0] >> 17) & 3); }
    uint64_t ticks_per_count() const;
    uint64_t period() const;
    uint64_t physical_mask() const;
    uint32_t ldr() const;

    uint32_t id_;
    uint32_t tsc_per_bus_tick_;
    uint8_t phys_addr_bits_;
    Callbacks callbacks_;
    uint64_t apic_base_;

    uint32_t tpr_ = 0;
    uint32_t ldr_ = 0;  // xAPIC only; x2APIC derives it from the ID
    uint32_t dfr_ = 0xffffffff;
    uint32_t svr_ = 0xff;
    uint32_t isr_[8] = {};
    uint32_t tmr_[8] = {};
    uint32_t irr_[8] = {};
    uint32_t esr_ = 0;          // what the guest reads
    uint32_t esr_pending_ = 0;  // errors since the last ESR write
    uint64_t icr_ = 0;
    uint32_t lvt_[kLvtCount] = {};
    uint32_t initial_count_ = 0;
    uint32_t divide_ = 0;
    bool count_running_ = false;  // one-shot/periodic countdown in progress
    uint64_t count_start_ = 0;    // TSC at which the current period began
    uint64_t deadline_ = 0;       // TSC-deadline mode: guest TSC value, 0 = disarmed
    uint64_t host_deadline_ = 0;  // when the guest TSC reaches deadline_, in host TSC
    uint64_t tsc_offset_ = 0;     // guest TSC - host TSC
};

}  // namespace vlapic
