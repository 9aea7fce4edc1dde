#include "vmx/ept.hpp"

#include "arch/paging.hpp"
#include "ept/ept_format.hpp"
#include "lib/page_table.hpp"
#include "vmx/vmx_root.hpp"

namespace ept {
namespace {

struct TableMemory {
    FrameAllocator* frames;
    uint64_t allocate_table()
    {
        uint64_t page = frames->allocate(4096);
        if (page == FrameAllocator::kNone) return ~0ull;
        auto* words = paging::phys_to_virt<uint64_t>(page);
        for (int i = 0; i < 512; ++i) words[i] = 0;
        return page;
    }
    uint64_t* table(uint64_t physical) { return paging::phys_to_virt<uint64_t>(physical); }
    void free_table(uint64_t physical) { frames->free(physical, 4096); }
};

constexpr uint64_t kWriteBack = 6, kFourLevelWalk = 3 << 3;

}  // namespace

uint64_t build(const guest_memory::Layout& layout, uint64_t ram_physical, FrameAllocator& frames)
{
    const vmx::Features& features = vmx::platform().features;
    ept::EptFormat format{};
    format.allow_2m = features.ept_2m;
    format.allow_1g = features.ept_1g;
    TableMemory memory{&frames};
    PageTable<ept::EptFormat, TableMemory> tables(format, memory);
    if (!tables.init()) return 0;
    const Access ram{.read = true, .write = true, .execute = true, .type = MemoryType::write_back};
    for (size_t i = 0; i < layout.ept_count; ++i) {
        const guest_memory::EptRange& r = layout.ept[i];
        if (!tables.map(r.guest_physical, ram_physical + r.ram_offset, r.length, ram)) return 0;
    }
    return tables.root() | kWriteBack | kFourLevelWalk;
}

void invalidate(uint64_t pointer)
{
    // INVEPT descriptor: EPTP, then a reserved quadword (SDM Vol. 3C 31.3 "INVEPT").
    struct {
        uint64_t eptp, reserved;
    } descriptor{pointer, 0};
    const vmx::Features& f = vmx::platform().features;
    uint64_t type = f.invept_single ? 1 : 2;
    asm volatile("invept %0, %1" ::"m"(descriptor), "r"(type) : "cc", "memory");
}

}  // namespace ept
