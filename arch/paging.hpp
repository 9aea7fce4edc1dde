// The hypervisor's own address space: its image at -2 GiB with per-section rights (W^X), a
// non-executable direct map of physical memory at kDirectMapBase, and device pages mapped
// uncacheable (a framebuffer write-combining) into that same direct map on demand.
#pragma once
#include <cstddef>
#include <cstdint>

#include "boot/multiboot2.hpp"
#include "lib/frame_allocator.hpp"
#include "lib/page_table.hpp"

namespace paging {

constexpr uint64_t kDirectMapBase = 0xffff'8000'0000'0000;
constexpr uint64_t kImageOffset = 0xffff'ffff'8000'0000;

template <class T = void>
T* phys_to_virt(uint64_t physical)
{
    return reinterpret_cast<T*>(physical + kDirectMapBase);
}
uint64_t virt_to_phys(const void* virt);  // direct map or image addresses

// Builds the page tables and switches to them. Until then, the boot tables map 0-4 GiB.
// Returns nullptr or an error.
const char* init(FrameAllocator& frames, const mb2::BootInfo& boot);
// Every other CPU, as it starts: programs IA32_PAT as the tables need it and loads them.
void use_on_this_cpu();

// Non-executable mapping of a device's registers or memory, uncacheable unless `type` says
// otherwise (write_combining for a framebuffer: UC writes to it are an order of magnitude slower);
// a type the PAT layout cannot give maps uncacheable. nullptr when out of memory.
volatile void* map_device(uint64_t physical, uint64_t size, MemoryType type = MemoryType::uncacheable);
// Whether map_device gives `type` rather than uncacheable.
bool can_map(MemoryType type);
// Read-only view of firmware tables that may lie outside RAM the memory map describes.
const void* map_firmware(uint64_t physical, uint64_t size);
// Identity mapping used while application processors switch to long mode.
bool map_identity_code(uint64_t physical, uint64_t size);
void unmap_identity(uint64_t physical, uint64_t size);
// A stack's guard page (image or direct-map address): unmapped, so touching it faults; restored
// as data before the memory is freed. False when out of memory for a page table.
bool unmap_guard_page(uintptr_t virt);
bool restore_guard_page(uintptr_t virt);

// selftest=smap only (the hypervisor maps nothing else a CPL-3 access could use): maps the 4 KiB
// page at `virt` to `physical`, user-accessible and writable. False when out of memory.
bool map_user_page(uint64_t virt, uint64_t physical);
// Whether `virt` is mapped user-accessible; takes no lock, for the exception handler.
bool user_accessible(uint64_t virt);

uint64_t root();  // physical address of the PML4 (below 4 GiB, so a real-mode AP can load it)
bool smep_enabled();
bool smap_enabled();

}  // namespace paging
