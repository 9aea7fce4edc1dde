#include "drivers/console.hpp"

#include "arch/cpu.hpp"
#include "drivers/serial.hpp"
#include "lib/spinlock.hpp"

namespace console {
namespace {

// Until configure() runs, COM1 and nothing else: early errors still reach the usual place.
Outputs outputs{0x3f8, false};
Spinlock lock;

void emit(const char* text, size_t length)
{
    if (outputs.serial_port) serial::write(outputs.serial_port, text, length);
    if (outputs.e9)
        for (size_t i = 0; i < length; ++i) cpu::outb(0xe9, uint8_t(text[i]));
}

void sink_write(void*, const char* text, size_t length) { write(text, length); }
void emergency_write(void*, const char* text, size_t length) { write_unlocked_if_stuck(text, length); }

}  // namespace

void configure(Outputs wanted)
{
    SpinlockGuard guard(lock);
    if (wanted.serial_port && !serial::init(wanted.serial_port)) wanted.serial_port = 0;
    outputs = wanted;
}

void write(const char* text, size_t length)
{
    SpinlockGuard guard(lock);
    emit(text, length);
}

void write_unlocked_if_stuck(const char* text, size_t length)
{
    bool locked = lock.lock_bounded(10'000'000);
    emit(text, length);
    if (locked) lock.unlock();
}

void flush()
{
    if (outputs.serial_port) serial::flush(outputs.serial_port);
}

FormatSink sink() { return FormatSink{sink_write, nullptr}; }
FormatSink emergency_sink() { return FormatSink{emergency_write, nullptr}; }

}  // namespace console
