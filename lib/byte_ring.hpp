// A fixed ring of bytes: what the console has accepted but the UART has not taken yet. Appends
// are all or nothing, so a line is never cut by a full ring (lines from different CPUs stay
// whole). The caller serializes access (the console lock).
#pragma once
#include <cstddef>
#include <cstdint>

template <size_t Capacity>
class ByteRing {
    static_assert(Capacity && (Capacity & (Capacity - 1)) == 0, "positions wrap with a mask");

public:
    size_t size() const { return tail_ - head_; }
    size_t room() const { return Capacity - size(); }
    bool empty() const { return head_ == tail_; }
    static constexpr size_t capacity() { return Capacity; }

    // False, and nothing appended, when `length` bytes do not fit.
    bool push(const char* text, size_t length)
    {
        if (length > room()) return false;
        for (size_t i = 0; i < length; ++i) bytes_[(tail_ + i) & (Capacity - 1)] = text[i];
        tail_ += length;
        return true;
    }
    char front() const { return bytes_[head_ & (Capacity - 1)]; }
    void pop() { ++head_; }
    void clear() { head_ = tail_; }

private:
    char bytes_[Capacity];
    size_t head_ = 0, tail_ = 0;  // free-running: size() = tail_ - head_ survives wrap-around
};
