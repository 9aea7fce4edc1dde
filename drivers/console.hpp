// The hypervisor's console: every line goes to each enabled output (serial, port 0xE9).
// Lines from different CPUs never interleave: output is assembled per call under one lock.
#pragma once
#include "lib/format.hpp"

namespace console {

struct Outputs {
    uint16_t serial_port;  // 0: no serial output
    bool e9;               // Bochs/QEMU debug port
};

void configure(Outputs outputs);
void write(const char* text, size_t length);
// Used by fault paths: takes the lock if it can within a bound, and writes regardless.
void write_unlocked_if_stuck(const char* text, size_t length);
void flush();  // every byte written so far has left the machine
FormatSink sink();
FormatSink emergency_sink();

template <class... Args>
void print(Str pattern, const Args&... args)
{
    char line[512];
    size_t length = format_to(line, sizeof line, pattern, args...);
    write(line, length);
}

// One line with a fixed prefix: "matryoshka: error: " and friends are what users and tests grep for.
template <class... Args>
void print_line(Str prefix, Str pattern, const Args&... args)
{
    char line[512];
    size_t length = format_to(line, sizeof line, "{}", prefix);
    length += format_to(line + length, sizeof line - length, pattern, args...);
    length += format_to(line + length, sizeof line - length, "\n");
    write(line, length);
}

template <class... Args>
void info(Str pattern, const Args&... args)
{
    print_line("matryoshka: ", pattern, args...);
}

template <class... Args>
void warning(Str pattern, const Args&... args)
{
    print_line("matryoshka: warning: ", pattern, args...);
}

template <class... Args>
void error(Str pattern, const Args&... args)
{
    print_line("matryoshka: error: ", pattern, args...);
}

}  // namespace console
