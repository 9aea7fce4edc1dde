// The few symbols a freestanding g++ still expects: the mem* family (GCC emits calls to them
// for struct copies and zeroing) and the C++ ABI hooks for pure virtuals and static destructors.
// Kernel-only: host builds use the C library.
#include <cstddef>
#include <cstdint>

extern "C" {

// Quadwords for the bulk, bytes for the tail: a string instruction's cost grows with its
// iterations (on CPUs without fast-strings microcode, and in Bochs, one tick each), and the
// hypervisor copies and clears whole guest kernels with these.
void* memcpy(void* destination, const void* source, size_t count)
{
    void* start = destination;
    size_t quadwords = count / 8, tail = count % 8;
    asm volatile("rep movsq" : "+D"(destination), "+S"(source), "+c"(quadwords)::"memory");
    asm volatile("rep movsb" : "+D"(destination), "+S"(source), "+c"(tail)::"memory");
    return start;
}

void* memmove(void* destination, const void* source, size_t count)
{
    auto* d = static_cast<unsigned char*>(destination);
    auto* s = static_cast<const unsigned char*>(source);
    if (d <= s || d >= s + count) {
        for (size_t i = 0; i < count; ++i) d[i] = s[i];
    } else {
        for (size_t i = count; i-- > 0;) d[i] = s[i];
    }
    return destination;
}

void* memset(void* destination, int value, size_t count)
{
    void* start = destination;
    uint64_t pattern = uint8_t(value) * 0x0101010101010101ull;
    size_t quadwords = count / 8, tail = count % 8;
    asm volatile("rep stosq" : "+D"(destination), "+c"(quadwords) : "a"(pattern) : "memory");
    asm volatile("rep stosb" : "+D"(destination), "+c"(tail) : "a"(pattern) : "memory");
    return start;
}

int memcmp(const void* a, const void* b, size_t count)
{
    auto* x = static_cast<const unsigned char*>(a);
    auto* y = static_cast<const unsigned char*>(b);
    for (size_t i = 0; i < count; ++i)
        if (x[i] != y[i]) return x[i] < y[i] ? -1 : 1;
    return 0;
}

size_t strlen(const char* s)
{
    size_t n = 0;
    while (s[n]) ++n;
    return n;
}

// The hypervisor never exits, so static destructors are never registered to run.
void* __dso_handle = nullptr;
int __cxa_atexit(void (*)(void*), void*, void*) { return 0; }

[[noreturn]] void __cxa_pure_virtual()
{
    for (;;) asm volatile("cli; hlt");
}
}

using Constructor = void (*)();
extern "C" Constructor init_array_start[], init_array_end[];

// Global constructors run explicitly (no crt0 here), in link order after init priority.
void run_global_constructors()
{
    for (Constructor* c = init_array_start; c != init_array_end; ++c) (*c)();
}
