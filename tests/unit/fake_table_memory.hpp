// A PageTableMemory for host tests (lib/page_table.hpp): tables are host buffers under made-up
// physical addresses.
#pragma once
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>

// Hands out aligned host buffers under made-up physical addresses (high, scattered, so an entry
// that mangles address bits or confuses host and physical addresses shows up).
class FakeMemory {
public:
    ~FakeMemory()
    {
        for (auto& [phys, page] : pages_) std::free(page);
    }

    uint64_t allocate_table()
    {
        if (budget_ == 0) return ~0ull;
        --budget_;
        auto* page = static_cast<uint64_t*>(std::aligned_alloc(4096, 4096));
        std::memset(page, 0, 4096);
        uint64_t phys = next_;
        next_ += 0x3000;
        pages_[phys] = page;
        ++allocations_;
        return phys;
    }
    uint64_t* table(uint64_t phys)
    {
        auto it = pages_.find(phys);
        if (it == pages_.end()) {
            ADD_FAILURE() << "table() of unknown phys 0x" << std::hex << phys;
            std::abort();
        }
        return it->second;
    }
    void free_table(uint64_t phys)
    {
        auto it = pages_.find(phys);
        if (it == pages_.end()) {
            ADD_FAILURE() << "free_table() of unknown phys 0x" << std::hex << phys;
            return;
        }
        std::free(it->second);
        pages_.erase(it);
    }

    size_t live() const { return pages_.size(); }
    bool owns(uint64_t phys) const { return pages_.count(phys) != 0; }
    size_t allocations() const { return allocations_; }
    void set_budget(size_t n) { budget_ = n; }

private:
    std::map<uint64_t, uint64_t*> pages_;
    uint64_t next_ = 0x000f'ff00'0000'0000;
    size_t budget_ = SIZE_MAX;
    size_t allocations_ = 0;
};
