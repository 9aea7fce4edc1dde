// A non-owning view of characters: what parsers hand around instead of std::string_view,
// whose out-of-range paths need the hosted runtime.
#pragma once
#include <cstddef>
#include <cstdint>

struct Str {
    const char* data = nullptr;
    size_t size = 0;

    constexpr Str() = default;
    constexpr Str(const char* d, size_t n) : data(d), size(n) {}
    constexpr Str(const char* zero_terminated) : data(zero_terminated), size(0)
    {
        while (zero_terminated && zero_terminated[size]) ++size;
    }

    constexpr bool empty() const { return size == 0; }
    constexpr char operator[](size_t i) const { return data[i]; }
    constexpr const char* begin() const { return data; }
    constexpr const char* end() const { return data + size; }

    constexpr bool operator==(Str other) const
    {
        if (size != other.size) return false;
        for (size_t i = 0; i < size; ++i)
            if (data[i] != other.data[i]) return false;
        return true;
    }
    constexpr bool starts_with(Str prefix) const
    {
        return prefix.size <= size && Str(data, prefix.size) == prefix;
    }
    // Clamped like Python slicing: never reads outside the view.
    constexpr Str slice(size_t from, size_t count = SIZE_MAX) const
    {
        if (from > size) from = size;
        if (count > size - from) count = size - from;
        return Str(data + from, count);
    }
    constexpr size_t find(char c) const
    {
        for (size_t i = 0; i < size; ++i)
            if (data[i] == c) return i;
        return SIZE_MAX;
    }
};

// Decimal, or hexadecimal with a 0x prefix; optional K/M/G suffix when allow_suffix.
// False on an empty string, a stray character or overflow.
constexpr bool parse_u64(Str text, uint64_t& out, bool allow_suffix = false)
{
    if (text.empty()) return false;
    unsigned base = 10;
    size_t i = 0;
    if (text.size > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
        base = 16;
        i = 2;
    }
    uint64_t shift = 0;
    size_t digits_end = text.size;
    if (allow_suffix && base == 10) {
        char last = text[text.size - 1];
        if (last == 'K' || last == 'k') shift = 10;
        if (last == 'M' || last == 'm') shift = 20;
        if (last == 'G' || last == 'g') shift = 30;
        if (shift) --digits_end;
    }
    if (i == digits_end) return false;
    uint64_t value = 0;
    for (; i < digits_end; ++i) {
        char c = text[i];
        unsigned digit;
        if (c >= '0' && c <= '9') digit = unsigned(c - '0');
        else if (base == 16 && c >= 'a' && c <= 'f') digit = unsigned(c - 'a' + 10);
        else if (base == 16 && c >= 'A' && c <= 'F') digit = unsigned(c - 'A' + 10);
        else return false;
        if (value > (UINT64_MAX - digit) / base) return false;
        value = value * base + digit;
    }
    if (shift && value > (UINT64_MAX >> shift)) return false;
    out = value << shift;
    return true;
}
