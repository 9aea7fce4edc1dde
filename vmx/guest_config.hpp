// Guests come from GRUB module lines (the string of each Multiboot2 module tag, spec §3.6.6):
//
//   module2 /guests/a.elf name=a mem=64M vcpus=2 cmdline="console=serial"   a guest (its kernel)
//   module2 /guests/initrd.bin for=a cmdline="initrd"                       a file for guest 'a'
//   module2 /guests/bzImage name=l kind=linux mem=256M cmdline="console=ttyS0" a Linux guest
//   module2 /guests/initrd.cpio.gz for=l                                    ... and its initrd
//
// A file for a guest is copied into that guest's RAM and listed as a module in its boot
// information, with its cmdline= as the module's string. The line may or may not start with the
// file's path (a bare word starting with '/'); the path names the module in errors and gives the
// default guest name. Keys (kKeys in guest_config.cpp; a new key is one row there):
//
//   name=    1-31 characters of A-Z a-z 0-9 _ -; default: the path's basename without extension
//   mem=     RAM size, a multiple of 1M from 1M to 3G (K/M/G suffixes); default 32M
//   vcpus=   1..64; default 1
//   cmdline= the guest's (or the file's) command line; default empty
//   kind=    multiboot (default): a Multiboot v1/v2 kernel; realmode: a flat binary started at the
//            reset vector; linux: a Linux bzImage (vmx/linux_loader.hpp), whose one file (for=)
//            is its initrd
//   weight=  1..65535, the VM's proportional share of CPU time against other VMs; default 256
//   cap=     1..6400, the most CPU time the whole VM may use, summed over its vCPUs, in percent
//            of one pCPU (cap=150: one and a half pCPUs' worth); default: no cap
//   pin=     the pCPUs the VM's vCPUs may run on: CPU numbers 0..63 and ranges, comma-separated,
//            e.g. 0-1,3; default: any
//   on_reboot= end (default): a guest that resets its machine (0xCF9, the 8042, ACPI reset)
//            ends with reason reboot; restart: it starts again from its images, as a PC reset
//            does (vmx/vm_reset.hpp)
//   max_restarts= 1..65535, with on_reboot=restart: the reboot after that many restarts ends
//            the VM instead; default: no limit
//   entry=   64 or 32, kind=linux only: the boot protocol's 64-bit or 32-bit entry; default 64
//            when the kernel has one (XLF_KERNEL_64), else 32
//   for=     makes the line a file for the named guest; only cmdline= may accompany it
//
// Errors are precise texts naming the module by its 1-based position in the module list (the
// order of the module2 lines), e.g. "module 3 (/guests/x.elf): bad value 'lots' for mem=
// (expected a size like 64M, a multiple of 1M from 1M to 3G)". Hardware-independent.
#pragma once
#include <cstddef>
#include <cstdint>

#include "boot/multiboot2.hpp"
#include "lib/str.hpp"

namespace guest_config {

enum class Kind : uint8_t { multiboot, realmode, linux };
enum class OnReboot : uint8_t { end, restart };
enum class LinuxEntry : uint8_t { automatic, bits64, bits32 };

constexpr size_t kMaxNameLength = 31;
constexpr uint64_t kDefaultMemoryBytes = 32ull << 20;
constexpr uint64_t kMemoryGranule = 1ull << 20; // mem= is a whole number of MiB
constexpr uint32_t kMaxVcpus = 64;
constexpr uint32_t kDefaultWeight = 256; // as Xen's credit scheduler
constexpr uint32_t kMaxWeight = 65535;
constexpr uint32_t kMaxCapPercent = 6400; // 64 vCPUs, each a whole pCPU
constexpr uint32_t kPinCpus = 64;         // pin= CPU numbers are below this: pin_mask is one word
constexpr uint32_t kMaxRestarts = 65535;

// Str fields view the module line: keep GRUB's boot information mapped while they are used.
struct GuestConfig {
    char name[kMaxNameLength + 1]; // NUL-terminated
    uint64_t memory_bytes;
    uint32_t vcpus;
    Str cmdline;
    Kind kind;
    // For the scheduler (sched::Scheduler::add_vm, add_entity take them as they are).
    uint32_t weight;      // 1..kMaxWeight
    uint32_t cap_percent; // 0: no cap
    uint64_t pin_mask;    // bit n: may run on pCPU n; 0: any pCPU
    OnReboot on_reboot;
    uint32_t max_restarts; // 0: no limit
    LinuxEntry entry;      // kind=linux
};

struct FileConfig {
    char guest[kMaxNameLength + 1]; // for=, NUL-terminated
    Str cmdline;
};

struct ModuleLine {
    bool is_file; // for= given: `file` is filled, else `guest`
    Str path;     // the leading path word, or empty
    GuestConfig guest;
    FileConfig file;
};

// Parses one module line. `module_index` (0-based) only numbers the module in error texts.
// False with the error formatted into `error` (always NUL-terminated when error_size > 0).
bool parse_module_line(Str line, size_t module_index, ModuleLine& out, char* error, size_t error_size);

// A guest's extra file: GRUB's copy of it is at physical [start, end).
struct GuestFile {
    size_t module_index;
    uint32_t start, end;
    Str path;
    Str cmdline;
};

struct Guest {
    static constexpr size_t kMaxFiles = 8;
    GuestConfig config;
    size_t module_index; // the kernel (or flat binary)
    uint32_t start, end; // its bytes as GRUB loaded them
    Str path;
    GuestFile files[kMaxFiles]; // in module-list order
    size_t file_count;
};

// About 14 KiB: keep it in static storage, not on a hypervisor stack.
struct GuestList {
    static constexpr size_t kMaxGuests = 16, kMaxErrors = 32, kErrorLength = 192;
    Guest guests[kMaxGuests]; // in module-list order
    size_t guest_count;
    char errors[kMaxErrors][kErrorLength]; // NUL-terminated texts
    size_t error_count;
    size_t dropped_errors; // errors past kMaxErrors, not kept
};

// Sorts GRUB's module list into guests and their files. Every bad line is an error naming its
// module, and the line is left out; the other guests are still returned. Guests that share a
// name are all left out (a file's for= could not say which one it means), and so are the files
// of a guest that was left out. Also errors: for= naming no guest, files for a kind=realmode
// guest (it gets no boot information), a second file for a kind=linux guest (one initrd), more
// than kMaxGuests guests or kMaxFiles files for a guest.
void parse_modules(const mb2::Module* modules, size_t count, GuestList& out);

} // namespace guest_config
