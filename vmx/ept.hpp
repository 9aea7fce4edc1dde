// A VM's EPT (SDM Vol. 3C 29.3 "The Extended Page Table Mechanism"): built once from the VM's
// guest-physical layout with the largest pages alignment and memory types allow; every page has
// the type the host MTRRs give the host frame behind it, combined with the guest's PAT
// (ept/host_memory_types.hpp). Nothing of the hypervisor or of another VM is ever mapped, and no
// device either: a VM's devices are all emulated (the LAPIC, IOAPIC and VGA hole exit), so no
// guest mapping reaches MMIO. Everything unmapped exits as an EPT violation.
#pragma once
#include <cstddef>
#include <cstdint>

#include "lib/frame_allocator.hpp"
#include "vmx/guest_memory_map.hpp"

namespace ept {

// Returns the EPT pointer (SDM Vol. 3C 25.6.11: WB paging structures, 4-level walk), or 0 when
// out of memory.
uint64_t build(const guest_memory::Layout& layout, uint64_t ram_physical, FrameAllocator& frames);

// The leaves of the EPT behind `pointer` by size and memory type, e.g. "4K WB 415, 2M WB 63",
// read back from the tables (for the boot log).
void describe_leaves(uint64_t pointer, char* buffer, size_t size);

// INVEPT single-context for `pointer` (all-context when single is unsupported).
void invalidate(uint64_t pointer);

}  // namespace ept
