// A guest loader's error message, written into the caller's buffer as "guest '<name>': <what>"
// (without the prefix when the name is empty). Construction empties the buffer, so the caller
// reads "" after a success. Shared by the Multiboot, flat-binary and Linux loaders.
#pragma once
#include <cstddef>

#include "lib/format.hpp"
#include "lib/str.hpp"

class LoadError {
public:
    LoadError(Str guest_name, char* buffer, size_t size) : guest_name_(guest_name), buffer_(buffer), size_(size)
    {
        if (buffer_ && size_) buffer_[0] = 0;
    }

    // Formats the message; returns false, so a loader can `return fail(...)`.
    template <class... Args>
    bool fail(Str pattern, const Args&... args) const
    {
        if (!buffer_ || !size_) return false;
        size_t n = guest_name_.empty() ? 0 : format_to(buffer_, size_, "guest '{}': ", guest_name_);
        format_to(buffer_ + n, size_ - n, pattern, args...);
        return false;
    }

private:
    Str guest_name_;
    char* buffer_;
    size_t size_;
};
