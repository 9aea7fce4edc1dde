#include "vmx/ept.hpp"

#include "arch/host_mtrr.hpp"
#include "arch/paging.hpp"
#include "ept/ept_format.hpp"
#include "ept/host_memory_types.hpp"
#include "lib/format.hpp"
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

constexpr uint64_t kWriteBack = 6, kFourLevelWalk = 3 << 3, kRootMask = ~0xfffull;

ept::EptFormat format_for_this_cpu()
{
    const vmx::Features& features = vmx::platform().features;
    ept::EptFormat format{};
    format.allow_2m = features.ept_2m;
    format.allow_1g = features.ept_1g;
    return format;
}

}  // namespace

uint64_t build(const guest_memory::Layout& layout, uint64_t ram_physical, FrameAllocator& frames)
{
    TableMemory memory{&frames};
    PageTable<ept::EptFormat, TableMemory> tables(format_for_this_cpu(), memory);
    if (!tables.init()) return 0;
    const Access ram{.read = true, .write = true, .execute = true};
    for (size_t i = 0; i < layout.ept_count; ++i) {
        const guest_memory::EptRange& r = layout.ept[i];
        if (!map_with_host_types(tables, host_mtrr::registers(), r.guest_physical, ram_physical + r.ram_offset,
                                 r.length, ram))
            return 0;
    }
    return tables.root() | kWriteBack | kFourLevelWalk;
}

void describe_leaves(uint64_t pointer, char* buffer, size_t size)
{
    constexpr MemoryType kTypes[] = {MemoryType::uncacheable, MemoryType::write_combining, MemoryType::write_through,
                                     MemoryType::write_protected, MemoryType::write_back};
    constexpr const char* kSizes[] = {"", "4K", "2M", "1G"};
    uint64_t counts[4][8] = {};
    TableMemory memory{nullptr};
    PageTable<ept::EptFormat, TableMemory> tables(format_for_this_cpu(), memory);
    tables.adopt(pointer & kRootMask);
    tables.for_each_leaf([&](uint64_t, int level, Access access) { ++counts[level][uint8_t(access.type) & 7]; });
    size_t used = 0;
    buffer[0] = 0;
    for (int level = 1; level <= 3; ++level)
        for (MemoryType type : kTypes)
            if (uint64_t n = counts[level][uint8_t(type)])
                used += format_to(buffer + used, size - used, "{}{} {} {}", used ? ", " : "", kSizes[level],
                                  mtrr::type_name(type), n);
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
