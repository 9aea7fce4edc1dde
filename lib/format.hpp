// Type-safe formatting with "{}" placeholders, for the console and for error texts.
// Spec inside braces: [<][0][width][#][x|X|d|c]; e.g. "{:#x}", "{:08x}", "{:<12}".
#pragma once
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "lib/str.hpp"

struct FormatSink {
    void (*write)(void* context, const char* text, size_t length);
    void* context;
};

// A byte count printed in the largest binary unit that divides it ("128 MiB", "1536 KiB").
struct Bytes {
    uint64_t count;
};

struct FormatArg {
    enum class Kind : uint8_t { unsigned_int, signed_int, boolean, character, string, pointer, bytes } kind;
    union {
        uint64_t u;
        int64_t i;
        bool b;
        char c;
        Str s;
        const void* p;
    };

    template <class T>
        requires(std::is_integral_v<T> && !std::is_same_v<T, bool> && !std::is_same_v<T, char>)
    FormatArg(T value)
    {
        if constexpr (std::is_signed_v<T>) {
            kind = Kind::signed_int;
            i = value;
        } else {
            kind = Kind::unsigned_int;
            u = value;
        }
    }
    template <class T>
        requires std::is_enum_v<T>
    FormatArg(T value) : FormatArg(static_cast<std::underlying_type_t<T>>(value)) {}
    FormatArg(bool value) : kind(Kind::boolean), b(value) {}
    FormatArg(char value) : kind(Kind::character), c(value) {}
    FormatArg(Str value) : kind(Kind::string), s(value) {}
    FormatArg(const char* value) : kind(Kind::string), s(value ? Str(value) : Str("(null)")) {}
    FormatArg(char* value) : FormatArg(static_cast<const char*>(value)) {}
    FormatArg(const void* value) : kind(Kind::pointer), p(value) {}
    FormatArg(Bytes value) : kind(Kind::bytes), u(value.count) {}
};

void format_args(FormatSink sink, Str pattern, const FormatArg* args, size_t count);

template <class... Args>
void format(FormatSink sink, Str pattern, const Args&... args)
{
    if constexpr (sizeof...(Args) == 0) {
        format_args(sink, pattern, nullptr, 0);
    } else {
        const FormatArg list[] = {FormatArg(args)...};
        format_args(sink, pattern, list, sizeof...(Args));
    }
}

// Formats into a fixed buffer, always NUL-terminated, truncating what does not fit.
// Returns the length written (excluding the NUL).
size_t format_args_to(char* buffer, size_t size, Str pattern, const FormatArg* args, size_t count);

template <class... Args>
size_t format_to(char* buffer, size_t size, Str pattern, const Args&... args)
{
    if constexpr (sizeof...(Args) == 0) {
        return format_args_to(buffer, size, pattern, nullptr, 0);
    } else {
        const FormatArg list[] = {FormatArg(args)...};
        return format_args_to(buffer, size, pattern, list, sizeof...(Args));
    }
}
