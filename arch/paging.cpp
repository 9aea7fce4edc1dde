#include "arch/paging.hpp"

#include "arch/cpu.hpp"
#include "lib/page_table.hpp"
#include "lib/spinlock.hpp"

#include <new>

extern "C" char image_text_start[], image_rodata_start[], image_data_start[], image_end[];

namespace paging {
namespace {

// Page tables come from below 4 GiB: before the switch they are reached through the boot
// tables' 4 GiB direct map, and an AP in real mode loads a 32-bit CR3.
constexpr uint64_t kTableLimit = 1ull << 32;

struct KernelTableMemory {
    FrameAllocator* frames;
    uint64_t allocate_table()
    {
        uint64_t page = frames->allocate(4096, 4096, kTableLimit);
        if (page == FrameAllocator::kNone) return ~0ull;
        auto* words = phys_to_virt<uint64_t>(page);
        for (int i = 0; i < 512; ++i) words[i] = 0;
        return page;
    }
    uint64_t* table(uint64_t physical) { return phys_to_virt<uint64_t>(physical); }
    void free_table(uint64_t physical) { frames->free(physical, 4096); }
};

KernelTableMemory memory;
PageTable<X86Format, KernelTableMemory>* tables;
alignas(PageTable<X86Format, KernelTableMemory>) char tables_storage[sizeof(PageTable<X86Format, KernelTableMemory>)];
Spinlock lock;
bool smep = false, smap = false;

constexpr Access kData{.read = true, .write = true, .execute = false};
constexpr Access kReadOnly{.read = true, .write = false, .execute = false};
constexpr Access kCode{.read = true, .write = false, .execute = true};
constexpr Access kDevice{.read = true, .write = true, .execute = false, .type = MemoryType::uncacheable};

uint64_t image_phys(const char* symbol) { return uint64_t(symbol) - kImageOffset; }

bool map_image_section(const char* start, const char* end, Access access)
{
    return tables->map(uint64_t(start), image_phys(start), uint64_t(end - start), access);
}

// Every leaf is writable or executable, never both, and the direct map executes nothing: checked
// on the tables as built, so the boot line's "W^X on" is a fact, not an intention.
const char* check_write_xor_execute()
{
    const char* error = nullptr;
    tables->for_each_leaf([&error](uint64_t virt, int, Access access) {
        if (access.write && access.execute) error = "W^X violated: a writable and executable hypervisor mapping";
        if (virt >= kDirectMapBase && virt < kImageOffset && access.execute) error = "the direct map is executable";
    });
    return error;
}

uint64_t page_down(uint64_t a) { return a & ~0xfffull; }
uint64_t page_up(uint64_t a) { return (a + 0xfff) & ~0xfffull; }

}  // namespace

uint64_t virt_to_phys(const void* virt)
{
    uint64_t v = uint64_t(virt);
    return v >= kImageOffset ? v - kImageOffset : v - kDirectMapBase;
}

const char* init(FrameAllocator& frames, const mb2::BootInfo& boot)
{
    memory.frames = &frames;
    X86Format format;
    format.allow_1g = cpu::cpuid(0x80000001).edx & cpu::feature::edx_ext_1g_pages;
    // Every x86-64 CPU has PAT; checked anyway, as without it a WC request falls back to UC.
    if (cpu::cpuid(1).edx & cpu::feature::edx1_pat) format.pat = X86Format::kPat;
    tables = new (tables_storage) PageTable<X86Format, KernelTableMemory>(format, memory);
    if (!tables->init()) return "no memory below 4 GiB for page tables";

    bool ok = map_image_section(image_text_start, image_rodata_start, kCode) &&
              map_image_section(image_rodata_start, image_data_start, kReadOnly) &&
              map_image_section(image_data_start, image_end, kData);
    // The direct map covers the first MiB (BIOS data, EBDA, where ACPI may look) and the RAM the
    // firmware described (usable, ACPI, NVS). Reserved ranges may be device registers that must
    // not be cached: those come through map_device or map_firmware.
    ok = ok && tables->map(kDirectMapBase, 0, 1ull << 20, kData);
    for (size_t i = 0; ok && i < boot.memory_count; ++i) {
        const mb2::MemoryRegion& r = boot.memory[i];
        if (r.type != 1 && r.type != 3 && r.type != 4) continue;
        uint64_t start = page_down(r.base), end = page_up(r.base + r.length);
        if (end <= start || end > (1ull << 46)) continue;
        ok = tables->map(kDirectMapBase + start, start, end - start, kData);
    }
    if (!ok) return "out of memory while building the hypervisor's page tables";
    if (const char* error = check_write_xor_execute()) return error;

    uint64_t cr4 = cpu::read_cr4() | cpu::cr4::pge;
    auto leaf7 = cpu::cpuid(0).eax >= 7 ? cpu::cpuid(7).ebx : 0;
    smep = leaf7 & cpu::feature::ebx7_smep;
    smap = leaf7 & cpu::feature::ebx7_smap;
    if (smep) cr4 |= cpu::cr4::smep;
    if (smap) cr4 |= cpu::cr4::smap;
    use_on_this_cpu();
    cpu::write_cr4(cr4);
    return nullptr;
}

// The tables' PAT layout goes into IA32_PAT before they are used: every CPU must hold the same
// one (SDM Vol. 3A 12.12.4). The boot tables never set the PAT bit, and only PA4/PA5 differ from
// the power-on layout, so nothing mapped changes type. VM exits restore it (the host-PAT field,
// read from this MSR when a VMCS is set up).
void use_on_this_cpu()
{
    if (tables->format().pat != X86Format::kDefaultPat) cpu::wrmsr(cpu::msr::pat, tables->format().pat);
    cpu::write_cr3(tables->root());
}

volatile void* map_device(uint64_t physical, uint64_t size, MemoryType type)
{
    SpinlockGuard guard(lock);
    uint64_t start = page_down(physical), end = page_up(physical + size);
    Access access = kDevice;
    if (can_map(type)) access.type = type;
    if (!tables->map(kDirectMapBase + start, start, end - start, access)) return nullptr;
    asm volatile("mov %%cr3, %%rax; mov %%rax, %%cr3" ::: "rax", "memory");
    return phys_to_virt(physical);
}

bool can_map(MemoryType type) { return tables->format().pat_index(type) >= 0; }

const void* map_firmware(uint64_t physical, uint64_t size)
{
    SpinlockGuard guard(lock);
    uint64_t start = page_down(physical), end = page_up(physical + size);
    for (uint64_t page = start; page < end; page += 4096) {
        uint64_t phys;
        Access access;
        int level;
        if (tables->translate(kDirectMapBase + page, phys, access, level)) continue;
        if (!tables->map(kDirectMapBase + page, page, 4096, kReadOnly)) return nullptr;
    }
    return phys_to_virt(physical);
}

bool map_identity_code(uint64_t physical, uint64_t size)
{
    SpinlockGuard guard(lock);
    return tables->map(physical, physical, size, kCode);
}

void unmap_identity(uint64_t physical, uint64_t size)
{
    SpinlockGuard guard(lock);
    tables->unmap(physical, size);
    asm volatile("mov %%cr3, %%rax; mov %%rax, %%cr3" ::: "rax", "memory");
}

bool unmap_guard_page(uintptr_t virt)
{
    SpinlockGuard guard(lock);
    if (!tables->unmap(virt, 4096)) return false;
    asm volatile("invlpg (%0)" ::"r"(virt) : "memory");
    return true;
}

bool restore_guard_page(uintptr_t virt)
{
    SpinlockGuard guard(lock);
    return tables->map(virt, virt_to_phys(reinterpret_cast<const void*>(virt)), 4096, kData);
}

bool map_user_page(uint64_t virt, uint64_t physical)
{
    SpinlockGuard guard(lock);
    if (!tables->map(virt, physical, 4096, Access{.read = true, .write = true, .user = true})) return false;
    asm volatile("invlpg (%0)" ::"r"(virt) : "memory");
    return true;
}

bool user_accessible(uint64_t virt)
{
    uint64_t phys;
    Access access;
    int level;
    return tables && tables->translate(virt, phys, access, level) && access.user;
}

uint64_t root() { return tables->root(); }
bool smep_enabled() { return smep; }
bool smap_enabled() { return smap; }

}  // namespace paging
