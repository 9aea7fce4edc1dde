// The hypervisor's console: every line goes to each enabled output (serial, port 0xE9, the boot
// framebuffer). Lines from different CPUs never interleave: output is assembled per call under
// one lock. Serial output is queued and goes out as the UART takes it (write() sends what the UART
// takes at once, poll() more): the hypervisor waits for the UART only when the queue is full;
// each guest has a bounded share of the queue (write_for_guest), so none waits behind another.
#pragma once
#include "boot/multiboot2.hpp"
#include "lib/format.hpp"

namespace console {

struct Outputs {
    uint16_t serial_port;  // 0: no serial output
    bool e9;               // Bochs/QEMU debug port
    // The framebuffer GRUB left (its Multiboot2 description), or nullptr: no framebuffer output.
    // It is mapped with paging::map_device, so pass it only once paging::init has run.
    const mb2::Framebuffer* framebuffer = nullptr;
};

// Sets the outputs; call it again to change them (main does once paging is up, to add the
// framebuffer). A UART is programmed when its port changes, and left out when nothing answers
// there. A framebuffer console starts on a cleared screen with everything written since boot
// (up to a few KiB), then follows the other outputs. Returns nullptr, or why the framebuffer
// cannot carry the console; the other outputs work regardless.
const char* configure(const Outputs& outputs);

struct Active {
    uint16_t serial_port;    // 0: none
    bool e9;
    bool framebuffer;
    uint32_t columns, rows;  // the framebuffer console's text grid
    bool write_combining;    // how the framebuffer is mapped (else uncacheable)
};
Active active();

void write(const char* text, size_t length);

// Guests' output: guest i (0 .. kMaxGuests - 1) may have at most its share of the serial queue
// unsent, so that one that prints without pause never makes the hypervisor or another guest
// wait for the UART. The shares split all but a reserve for the hypervisor's own messages
// equally between `count` guests (until this is called, each may fill the queue).
constexpr size_t kSerialQueueBytes = 64 * 1024, kHypervisorReserve = 16 * 1024;
constexpr size_t kMaxGuests = 16;
constexpr size_t kSmallestGuestShare = (kSerialQueueBytes - kHypervisorReserve) / kMaxGuests;
void set_guest_count(size_t count);
// The bytes guest `guest` may queue now without waiting (its share's room, at most the queue's).
size_t guest_room(size_t guest);
// Writes `text` as write() does, unless its serial form exceeds what is left of the guest's
// share: then nothing is written, false.
bool write_for_guest(size_t guest, const char* text, size_t length);
// Used by fault paths: takes the lock if it can within a bound, and writes regardless; returns
// once the text has left the machine.
void write_unlocked_if_stuck(const char* text, size_t length);
// Every CPU calls it often (each VM exit, each idle spin): sends queued serial output the UART
// takes without waiting. Cheap when nothing is queued or another CPU holds the console.
void poll();
// Serial output waits in the queue (for the next poll()).
bool output_queued();
void flush();  // every byte written so far has left the machine
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
