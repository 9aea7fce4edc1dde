#include "vmx/steal_time.hpp"

namespace steal_time {

bool publish(const GuestRam& ram, uint64_t gpa, uint64_t steal_ns)
{
    uint8_t* p = ram.at(gpa, sizeof(Record));
    if (!p) return false;
    volatile Record* record = reinterpret_cast<volatile Record*>(p);
    record->preempted = 0;
    uint32_t version = record->version;
    if (version & 1) ++version;  // a guest that left it odd: still go odd, then even
    record->version = version + 1;
    asm volatile("" ::: "memory");
    record->steal = steal_ns;
    asm volatile("" ::: "memory");
    record->version = version + 2;
    return true;
}

bool mark_preempted(const GuestRam& ram, uint64_t gpa)
{
    uint8_t* p = ram.at(gpa, sizeof(Record));
    if (!p) return false;
    reinterpret_cast<volatile Record*>(p)->preempted = vcpu_preempted;
    return true;
}

}  // namespace steal_time
