#include "drivers/console.hpp"

#include "arch/cpu.hpp"
#include "arch/paging.hpp"
#include "drivers/fb_text.hpp"
#include "drivers/serial.hpp"
#include "lib/shared_byte_ring.hpp"
#include "lib/spinlock.hpp"

namespace console {
namespace {

// Until configure() runs, COM1 and nothing else: early errors still reach the usual place.
uint16_t serial_port = 0x3f8;
uint16_t programmed_port = 0;  // the UART serial::init last set up (0: none yet)
bool e9 = false;
Spinlock lock;

// Serial output is queued and sent as the UART takes it: at 115200 baud a line of 80 bytes
// takes ~7 ms, which a guest's console write would otherwise spend inside its VM exit (and any
// CPU that prints meanwhile, spinning on the lock). 64 KiB holds the whole boot log; the
// hypervisor only waits when its text does not fit, and then only until it does.
//
// Writer 0 is the hypervisor, writer 1 + i guest i. Guests share all but kHypervisorReserve
// bytes equally (set_guest_count); a guest's line over its share is refused, not waited for. So
// the guests' bytes never exceed the queue minus the reserve, and a guest that prints without
// pause fills only its own share: the hypervisor and the other guests queue without waiting
// behind it.
constexpr size_t kHypervisor = 0;
SharedByteRing<kSerialQueueBytes, 1 + kMaxGuests> serial_queue;
uint32_t serial_queue_bytes;  // its size, for poll()'s lock-free look

// Moves queued bytes into the UART until at least `wanted_room` bytes of the queue are free,
// waiting for the UART as needed, then what it takes without waiting. wanted_room 0: never waits.
// A UART that stopped taking bytes loses what is queued: waiting on it would hang every writer.
void send_queued(size_t wanted_room)
{
    while (!serial_queue.empty()) {
        bool must_wait = serial_queue.room() < wanted_room;
        unsigned room = must_wait ? serial::wait_transmit_room(serial_port) : serial::transmit_room(serial_port);
        if (!room && must_wait) serial_queue.clear();
        if (!room) break;
        for (; room && !serial_queue.empty(); --room) {
            serial::transmit(serial_port, serial_queue.front());
            serial_queue.pop();
        }
    }
    __atomic_store_n(&serial_queue_bytes, uint32_t(serial_queue.size()), __ATOMIC_RELAXED);
}

// A terminal wants "\r\n" for a new line.
size_t serial_length(const char* text, size_t length)
{
    size_t bytes = length;
    for (size_t i = 0; i < length; ++i) bytes += text[i] == '\n';
    return bytes;
}

// A text longer than the queue goes in pieces; the lock holds other CPUs' lines back until all
// of it is in. A guest's text is within its limit (write_for_guest): a wait here is only ever
// for the hypervisor's own messages beyond the reserve.
void queue_for_serial(size_t writer, const char* text, size_t length)
{
    constexpr size_t kPiece = 256;
    while (length) {
        size_t piece = length < kPiece ? length : kPiece;
        send_queued(2 * piece);  // room for the worst case: every byte a '\n'
        for (size_t i = 0; i < piece; ++i) {
            if (text[i] == '\n') serial_queue.push(writer, "\r", 1);
            serial_queue.push(writer, text + i, 1);
        }
        text += piece;
        length -= piece;
    }
}

// The framebuffer console. Its text shadow is 64 KiB: a 3840x2160 screen is 480 x 135 cells;
// larger screens use the rows that fit.
fb::TextConsole screen;
bool screen_on = false;
char screen_text[64 * 1024];

// What was written before the framebuffer console started (it needs paging), replayed onto it
// so that the screen also shows the boot banner and the command-line diagnostics.
char early[4096];
size_t early_length = 0;

void emit(size_t writer, const char* text, size_t length)
{
    if (serial_port) queue_for_serial(writer, text, length);
    if (e9)
        for (size_t i = 0; i < length; ++i) cpu::outb(0xe9, uint8_t(text[i]));
    if (screen_on) {
        screen.write(text, length);
        // Write-combining buffers drain at their own pace (SDM Vol. 3A 12.3.1): the line must be
        // on the screen before, say, the CPU halts after a fault report.
        asm volatile("sfence" ::: "memory");
    } else {
        for (size_t i = 0; i < length && early_length < sizeof early; ++i) early[early_length++] = text[i];
    }
}

void emergency_write(void*, const char* text, size_t length) { write_unlocked_if_stuck(text, length); }

fb::PixelFormat pixel_format(const mb2::Framebuffer& f)
{
    return fb::PixelFormat{uint8_t((f.bpp + 7) / 8), f.red_position,  f.red_size,
                           f.green_position,         f.green_size,    f.blue_position,
                           f.blue_size};
}

// Maps the framebuffer and starts the console on it: nullptr, or why not.
const char* start_screen(const mb2::Framebuffer& f)
{
    if (f.type == 2) return "the screen is in EGA text mode, not a linear framebuffer";
    if (f.type != 1) return "indexed-colour framebuffers are not supported";
    if (f.bpp < 8 || f.bpp > 32) return "only 8 to 32 bits per pixel are supported";
    if (!f.address || !f.width || !f.height) return "GRUB described an empty framebuffer";
    uint64_t size = uint64_t(f.pitch) * f.height;
    // Write-combining: drawing only writes, and a UC write waits for the bus each time, so a
    // scrolled screen would cost tens of ms of every console line.
    auto* base = static_cast<uint8_t*>(const_cast<void*>(paging::map_device(f.address, size, MemoryType::write_combining)));
    if (!base) return "out of memory for the page tables that map the framebuffer";
    fb::Surface surface{base, f.pitch, f.width, f.height, pixel_format(f)};
    if (const char* error = fb::check(surface)) return error;
    screen.init(surface, screen_text, sizeof screen_text);
    screen.write(early, early_length);
    return nullptr;
}

}  // namespace

const char* configure(const Outputs& wanted)
{
    SpinlockGuard guard(lock);
    if (serial_port && wanted.serial_port != serial_port) send_queued(serial_queue.capacity());
    serial_port = wanted.serial_port;
    if (serial_port && serial_port != programmed_port) {
        if (serial::init(serial_port)) programmed_port = serial_port;
        else serial_port = 0;
    }
    e9 = wanted.e9;
    if (!wanted.framebuffer) {
        screen_on = false;
        return nullptr;
    }
    if (screen_on) return nullptr;
    const char* error = start_screen(*wanted.framebuffer);
    screen_on = !error;
    return error;
}

Active active()
{
    SpinlockGuard guard(lock);
    return Active{serial_port, e9, screen_on, screen_on ? screen.columns() : 0, screen_on ? screen.rows() : 0,
                  screen_on && paging::can_map(MemoryType::write_combining)};
}

void write(const char* text, size_t length)
{
    SpinlockGuard guard(lock);
    emit(kHypervisor, text, length);
    if (serial_port) send_queued(0);
}

void set_guest_count(size_t count)
{
    SpinlockGuard guard(lock);
    for (size_t guest = 0; guest < count && guest < kMaxGuests; ++guest)
        serial_queue.set_limit(1 + guest, (serial_queue.capacity() - kHypervisorReserve) / count);
}

size_t guest_room(size_t guest)
{
    SpinlockGuard guard(lock);
    return serial_queue.room_for(1 + guest);
}

bool write_for_guest(size_t guest, const char* text, size_t length)
{
    SpinlockGuard guard(lock);
    if (serial_port && !serial_queue.within_limit(1 + guest, serial_length(text, length))) return false;
    emit(1 + guest, text, length);
    if (serial_port) send_queued(0);
    return true;
}

// A CPU that stopped while holding the lock may have left the queue half updated; its bytes are
// at worst garbled (positions wrap with a mask), and a fault report must come out regardless.
void write_unlocked_if_stuck(const char* text, size_t length)
{
    bool locked = lock.lock_bounded(10'000'000);
    emit(kHypervisor, text, length);
    if (serial_port) send_queued(serial_queue.capacity());
    if (locked) lock.unlock();
}

void poll()
{
    if (!output_queued() || !lock.try_lock()) return;
    if (serial_port) send_queued(0);
    lock.unlock();
}

bool output_queued() { return __atomic_load_n(&serial_queue_bytes, __ATOMIC_RELAXED) != 0; }

void flush()
{
    bool locked = lock.lock_bounded(10'000'000);  // as write_unlocked_if_stuck: panics flush too
    if (serial_port) {
        send_queued(serial_queue.capacity());
        serial::flush(serial_port);
    }
    if (locked) lock.unlock();
}

FormatSink emergency_sink() { return FormatSink{emergency_write, nullptr}; }

}  // namespace console
