// A VM's EPT (SDM Vol. 3C 29.3 "The Extended Page Table Mechanism"): built once from the VM's
// guest-physical layout with the largest pages alignment allows, write-back for RAM. Nothing of
// the hypervisor or of another VM is ever mapped; everything unmapped exits as an EPT violation.
#pragma once
#include <cstdint>

#include "lib/frame_allocator.hpp"
#include "vmx/guest_memory_map.hpp"

namespace ept {

// Returns the EPT pointer (SDM Vol. 3C 25.6.11: WB paging structures, 4-level walk), or 0 when
// out of memory.
uint64_t build(const guest_memory::Layout& layout, uint64_t ram_physical, FrameAllocator& frames);

// INVEPT single-context for `pointer` (all-context when single is unsupported).
void invalidate(uint64_t pointer);

}  // namespace ept
