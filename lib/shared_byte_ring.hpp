// A fixed ring of bytes shared by several writers: what the console has accepted but the UART
// has not taken yet. Each byte remembers its writer, so every writer's unsent bytes are counted
// exactly and can be bounded (set_limit): a writer that fills its part never takes the room that
// limits left for the others. Appends are all or nothing, so a line is never cut by a full ring
// (lines from different CPUs stay whole). The caller serializes access (the console lock).
#pragma once
#include <cstddef>
#include <cstdint>

template <size_t Capacity, size_t Writers>
class SharedByteRing {
    static_assert(Capacity && (Capacity & (Capacity - 1)) == 0, "positions wrap with a mask");
    static_assert(Writers && Writers <= 256, "a writer is one byte");

public:
    SharedByteRing()
    {
        for (size_t& limit : limit_) limit = Capacity;
    }

    size_t size() const { return tail_ - head_; }
    size_t room() const { return Capacity - size(); }
    bool empty() const { return head_ == tail_; }
    static constexpr size_t capacity() { return Capacity; }

    // The most `writer` may have queued at once (initially the whole ring).
    void set_limit(size_t writer, size_t limit) { limit_[writer] = limit; }
    size_t queued(size_t writer) const { return queued_[writer]; }
    bool within_limit(size_t writer, size_t length) const { return queued_[writer] + length <= limit_[writer]; }
    // What `writer` may append now: the room left under its limit, at most the ring's room.
    size_t room_for(size_t writer) const
    {
        size_t own = queued_[writer] < limit_[writer] ? limit_[writer] - queued_[writer] : 0;
        return own < room() ? own : room();
    }

    // False, and nothing appended, when `length` bytes exceed room_for(writer).
    bool push(size_t writer, const char* text, size_t length)
    {
        if (length > room_for(writer)) return false;
        for (size_t i = 0; i < length; ++i) {
            bytes_[(tail_ + i) & (Capacity - 1)] = text[i];
            writer_of_[(tail_ + i) & (Capacity - 1)] = uint8_t(writer);
        }
        tail_ += length;
        queued_[writer] += length;
        return true;
    }
    char front() const { return bytes_[head_ & (Capacity - 1)]; }
    void pop()
    {
        --queued_[writer_of_[head_ & (Capacity - 1)]];
        ++head_;
    }
    void clear()
    {
        head_ = tail_;
        for (size_t& count : queued_) count = 0;
    }

private:
    char bytes_[Capacity];
    uint8_t writer_of_[Capacity];
    size_t limit_[Writers];
    size_t queued_[Writers] = {};
    size_t head_ = 0, tail_ = 0;  // free-running: size() = tail_ - head_ survives wrap-around
};
