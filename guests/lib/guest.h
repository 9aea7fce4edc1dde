/* The test guests' tiny library: types, port/CPU helpers, the UART console and printf, exit
 * through the debug-exit port, faults (an IDT of our own, handlers, try_call/expect_fault),
 * checks that print one line each, the Multiboot v1 information and the command line.
 *
 * Conventions for every guest: one line per check ("ok ...", "not ok ... (file:line)",
 * "SKIP ... (not under Matryoshka)"), then "PASS <test>" and debug-exit 0, or
 * "FAIL <test>: <why>" and a non-zero debug-exit code (EXIT_* below). */
#ifndef GUEST_H
#define GUEST_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int32_t s32;
typedef int64_t s64;

#define NORETURN __attribute__((noreturn))
#define PRINTF(f, a) __attribute__((format(printf, f, a)))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Each guest names itself once: TEST("cpuid"); the name goes into PASS/FAIL lines. */
extern const char test_name[];
#define TEST(name) const char test_name[] = name

/* debug-exit codes (port 0xf4; QEMU exits with (code << 1) | 1). */
enum {
    EXIT_PASS = 0,
    EXIT_FAIL = 1,       /* a check failed */
    EXIT_EXCEPTION = 2,  /* an exception or interrupt nobody expected */
    EXIT_ASSERT = 3,     /* a fatal assertion (the test cannot go on) */
    EXIT_TIMEOUT = 4,    /* an awaited interrupt never came */
};

/* ---- ports and CPU --------------------------------------------------------------------- */
static inline void outb(u16 port, u8 v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline void outw(u16 port, u16 v) { __asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port)); }
static inline void outl(u16 port, u32 v) { __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port)); }
static inline u8 inb(u16 port) { u8 v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline u16 inw(u16 port) { u16 v; __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline u32 inl(u16 port) { u32 v; __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port)); return v; }

struct cpuid_regs { u32 eax, ebx, ecx, edx; };
static inline struct cpuid_regs cpuid(u32 leaf, u32 subleaf)
{
    struct cpuid_regs r;
    __asm__ volatile("cpuid" : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx) : "a"(leaf), "c"(subleaf));
    return r;
}
static inline u64 rdmsr(u32 msr)
{
    u32 lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return (u64)hi << 32 | lo;
}
static inline void wrmsr(u32 msr, u64 v)
{
    __asm__ volatile("wrmsr" : : "c"(msr), "a"((u32)v), "d"((u32)(v >> 32)) : "memory");
}
static inline u64 rdtsc(void)
{
    u32 lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (u64)hi << 32 | lo;
}
#define DEFINE_CR(n) \
    static inline u32 read_cr##n(void) { u32 v; __asm__ volatile("mov %%cr" #n ", %0" : "=r"(v)); return v; } \
    static inline void write_cr##n(u32 v) { __asm__ volatile("mov %0, %%cr" #n : : "r"(v) : "memory"); }
DEFINE_CR(0)
DEFINE_CR(2)
DEFINE_CR(3)
DEFINE_CR(4)
#undef DEFINE_CR
static inline u32 read_eflags(void) { u32 v; __asm__ volatile("pushfl; popl %0" : "=r"(v)); return v; }
static inline void cli(void) { __asm__ volatile("cli" ::: "memory"); }
static inline void sti(void) { __asm__ volatile("sti" ::: "memory"); }
static inline void pause(void) { __asm__ volatile("pause" ::: "memory"); }
/* STI's one-instruction interrupt shadow makes "sti; hlt" atomic: no wake-up is lost between. */
static inline void sti_hlt(void) { __asm__ volatile("sti; hlt" ::: "memory"); }
static inline void barrier(void) { __asm__ volatile("" ::: "memory"); }

static inline u32 mmio_read32(u32 addr) { return *(volatile u32 *)addr; }
static inline void mmio_write32(u32 addr, u32 v) { *(volatile u32 *)addr = v; }

/* CPUID feature bits used by several guests. */
#define CPUID1_ECX_VMX (1u << 5)
#define CPUID1_ECX_SMX (1u << 6)
#define CPUID1_ECX_X2APIC (1u << 21)
#define CPUID1_ECX_TSC_DEADLINE (1u << 24)
#define CPUID1_ECX_XSAVE (1u << 26)
#define CPUID1_ECX_HYPERVISOR (1u << 31)
#define CPUID1_EDX_APIC (1u << 9)

#define MSR_TSC 0x10
#define MSR_APIC_BASE 0x1b
#define MSR_FEATURE_CONTROL 0x3a
#define MSR_SYSENTER_CS 0x174
#define MSR_SYSENTER_ESP 0x175
#define MSR_SYSENTER_EIP 0x176
#define MSR_PAT 0x277
#define MSR_VMX_BASIC 0x480
#define MSR_TSC_DEADLINE 0x6e0
#define MSR_EFER 0xc0000080
#define MSR_KERNEL_GS_BASE 0xc0000102

/* ---- console (COM1 16550, polled) and exit ------------------------------------------------ */
#define COM1 0x3f8
void uart_init(void); /* done by the start-up code */
void uart_putc(char c);
void uart_puts(const char *s); /* no newline added */
/* Waits until the UART has sent everything (LSR.TEMT): before an exit or a deliberate crash
 * (Bochs drops what is still in the transmitter when it stops). */
void uart_flush(void);
int printf(const char *fmt, ...) PRINTF(1, 2);
int vprintf(const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...) PRINTF(3, 4);
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
/* debug-exit port 0xf4 (ends the VM / QEMU); then Bochs's shutdown port; then halts. */
NORETURN void exit(int code);

/* ---- checks ------------------------------------------------------------------------------ */
/* CHECK(cond, fmt, ...): prints "ok <what>" or "not ok <what> (file:line)"; the first failure
 * becomes the reason of the final FAIL line. The test goes on either way. */
#define CHECK(cond, ...) check_at(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
/* CHECK_HV(cond, fmt, ...): an architectural check that emulators get wrong (QEMU TCG skips
 * some #GP checks): a CHECK under Matryoshka; natively "ok" if it holds, else a SKIP line. */
#define CHECK_HV(cond, ...) check_hv_at(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
int check_hv_at(int ok, const char *file, int line, const char *fmt, ...) PRINTF(4, 5);
/* ASSERT(cond): a fatal check: "FAIL <test>: file:line: assertion 'cond' failed", exit 3. */
#define ASSERT(cond) \
    do { if (!(cond)) fail_at(EXIT_ASSERT, __FILE__, __LINE__, "assertion '%s' failed", #cond); } while (0)
int check_at(int ok, const char *file, int line, const char *fmt, ...) PRINTF(4, 5);
NORETURN void fail_at(int code, const char *file, int line, const char *fmt, ...) PRINTF(4, 5);
/* FAIL <test>: <why>, with the given exit code. */
NORETURN void fail(int code, const char *fmt, ...) PRINTF(2, 3);
void skip(const char *fmt, ...) PRINTF(1, 2); /* "SKIP <what>" */
/* "SKIP <what> (not under Matryoshka)": for checks of the hypervisor's own behaviour. */
void skip_native(const char *fmt, ...) PRINTF(1, 2);
void note(const char *fmt, ...) PRINTF(1, 2); /* "  <text>": information, no verdict */
/* "PASS <test>" and exit 0 when every check passed, else "FAIL <test>: <first failure>". */
NORETURN void finish(void);
extern int checks_failed;

/* ---- faults and interrupts ---------------------------------------------------------------- */
/* The stack frame isr_common builds (lowest address first). Ring 0 only: no ESP/SS pushed. */
struct frame {
    u32 gs, fs, es, ds;
    u32 edi, esi, ebp, esp_unused, ebx, edx, ecx, eax;
    u32 vector, error;
    u32 eip, cs, eflags;
};
typedef void (*handler_fn)(struct frame *);
/* A handler for one vector (NULL: back to the default, which recovers inside try_call and
 * otherwise ends the test with "FAIL <test>: unexpected #.."). Handlers run with IF=0. */
void set_handler(u8 vector, handler_fn fn);
/* Lets CPL 3 code reach `vector` with INT n (INT3 and INTO for #BP and #OF, as OSes do). */
void set_gate_user(u8 vector);

struct fault_info {
    u32 vector, error, eip, cr2, count;
};
extern volatile struct fault_info last_fault;
/* Runs fn(arg); returns 0 if it returned, 1 if it raised an exception (details in last_fault). */
int try_call(void (*fn)(void *), void *arg);
/* try_call and true only if fn raised exactly `vector` (error code in last_fault.error). */
int expect_fault(u32 vector, void (*fn)(void *), void *arg);
const char *vector_name(u32 vector);
/* RDMSR/WRMSR/MOV to CR0/CR4 under try_call: 0 if the instruction completed (the MSR's value in
 * *value), else the exception vector + 1 (13 + 1 for #GP). */
int rdmsr_fault(u32 msr, u64 *value);
int wrmsr_fault(u32 msr, u64 value);
int write_cr0_fault(u32 value);
int write_cr4_fault(u32 value);

/* GDT entries 0x20 and 0x28 are free for tests; 0x08 code32, 0x10 data, 0x18 code64. */
#define SEL_CODE32 0x08
#define SEL_DATA32 0x10
#define SEL_CODE64 0x18
#define SEL_FREE1 0x20
#define SEL_FREE2 0x28
void gdt_set(u16 selector, u32 base, u32 limit_4k_pages, u8 access, u8 flags);
/* Ring 3 (RPL 3 selectors of the flat code and data segments 0x30 and 0x38). */
#define SEL_USER_CODE 0x33
#define SEL_USER_DATA 0x3b
/* Runs fn(arg) at CPL 3 with IF=0 and IOPL 0 (user_mode.c); returns 0 if it returned, 1 if it
 * raised an exception (details in last_fault, as for try_call). fn must not print: the console
 * is port I/O, which faults at CPL 3. */
int try_user(void (*fn)(void *), void *arg);

/* The 8259 PICs: masked at start (a BIOS leaves IRQ0 unmasked at vector 8, the #DF vector). */
void pic_disable(void);

/* ---- 64-bit mode (long64.c, long64.asm) --------------------------------------------------- */
/* Enters IA-32e mode (identity map of the first 4 GiB, long64_pml4()), runs fn64 in 64-bit mode
 * with RDI = arg (a 64-bit routine of the guest's own .asm; it may clobber every register and
 * change CR3, CR4 and CR8, which are put back), and returns to 32-bit protected mode with paging
 * off. 0 if fn64 returned, else the exception vector + 1 (last_fault: vector, error, low half
 * of RIP, CR2). Interrupts stay off meanwhile. */
int long64_call(void (*fn64)(void), void *arg);
u32 long64_pml4(void);
/* One instruction in 64-bit mode, for long64_call with a struct long64_op: RDMSR/WRMSR of
 * `index` (value in/out), MOV to CR0/CR3/CR4/CR8 of `value`, MOV from CR8 into `value`, MOV to
 * CR0/CR4 from compatibility mode with EAX = low half of `value` and RAX = all of it, VMCALL with
 * RAX = value, RBX = args[0], RCX = args[1] (result into value) from 64-bit mode, or from
 * compatibility mode with the same 64-bit registers (all of RAX after it into value). */
struct long64_op {
    u32 index, pad;
    u64 value;
    u64 args[2];
};
void long64_rdmsr(void), long64_wrmsr(void), long64_write_cr0(void), long64_write_cr3(void);
void long64_write_cr4(void), long64_write_cr8(void), long64_read_cr8(void), long64_vmcall(void);
void long64_compat_write_cr0(void), long64_compat_write_cr4(void), long64_compat_vmcall(void);
/* long64_call(fn64, {index, value}); *value updated (reads); 0 or the vector + 1. */
int long64_op(void (*fn64)(void), u32 index, u64 *value);

/* ---- local APIC (xAPIC MMIO) -------------------------------------------------------------- */
#define LAPIC_BASE 0xfee00000u
enum {
    LAPIC_ID = 0x20, LAPIC_VERSION = 0x30, LAPIC_TPR = 0x80, LAPIC_EOI = 0xb0, LAPIC_SVR = 0xf0,
    LAPIC_ESR = 0x280, LAPIC_LVT_TIMER = 0x320, LAPIC_LVT_LINT0 = 0x350, LAPIC_LVT_LINT1 = 0x360,
    LAPIC_LVT_ERROR = 0x370, LAPIC_TIMER_INIT = 0x380, LAPIC_TIMER_CURRENT = 0x390,
    LAPIC_TIMER_DIVIDE = 0x3e0,
};
/* LVT timer modes and mask (SDM Vol. 3A 11.5.1). */
#define LVT_MASKED (1u << 16)
#define LVT_PERIODIC (1u << 17)
#define LVT_TSC_DEADLINE (2u << 17)
static inline u32 lapic_read(u32 reg) { return mmio_read32(LAPIC_BASE + reg); }
static inline void lapic_write(u32 reg, u32 v) { mmio_write32(LAPIC_BASE + reg, v); }
static inline u32 lapic_id(void) { return lapic_read(LAPIC_ID) >> 24; }

/* ---- several CPUs (smp.c, trampoline smp.asm) ------------------------------------------------- */
#define SMP_MAX_CPUS 32
#define SMP_TIMER_VECTOR 0x40    /* the BSP's one-shot clock */
#define SMP_DEADLINE_VECTOR 0x41 /* any CPU's TSC-deadline wake-up (smp_sleep_until) */
#define SMP_SPURIOUS_VECTOR 0xff
/* An ACPI table with a valid checksum, found as on a PC BIOS (RSDP in the EBDA or
 * 0xE0000-0xFFFFF, RSDT); 0 when there is none. */
const u8 *acpi_find_table(const char *signature);
/* APIC IDs of the enabled processors of the ACPI MADT (acpi_find_table): at most `max` stored;
 * returns how many there are (0: no ACPI). */
u32 acpi_madt_apic_ids(u32 *ids, u32 max);
/* The UART is shared: whoever prints while other CPUs may print takes this lock. */
void console_lock(void);
void console_unlock(void);
#define LOCKED(stmt) do { console_lock(); stmt; console_unlock(); } while (0)
/* A fixed IPI; false if the ICR's delivery status stayed pending (bounded poll). */
int send_fixed_ipi(u32 dest_apic_id, u8 vector);
/* The BSP first: LAPIC software-enabled (spurious vector counted in smp_spurious), TPR 0, the
 * timer one-shot on SMP_TIMER_VECTOR as the clock of the two waits below. */
void smp_init(void);
extern u32 smp_bsp_id;
extern u32 smp_timer_per_ms; /* timer counts per millisecond, an upper bound of the real rate */
extern volatile u32 smp_spurious;
void smp_delay_us(u32 us); /* the BSP sleeps (HLT) at least `us` */
/* This CPU, whichever it is, sleeps (HLT) until the TSC reaches `tsc`, woken by its LAPIC timer
 * in TSC-deadline mode (put back as it was afterwards); returns with IF=0. Returns 0 at once when
 * the CPU has no TSC-deadline mode (CPUID.1:ECX[24]). Needs smp_init. */
int smp_sleep_until(u64 tsc);
/* The BSP sleeps in 1 ms timer slices until *counter >= target, at most `ms` slices. */
int smp_wait_count(volatile u32 *counter, u32 target, u32 ms);
/* Starts every CPU of apic_ids[0..n) but the BSP with INIT-SIPI-SIPI; each prints `cpu ID up`,
 * counts itself in smp_online and runs fn(its index in apic_ids) with IF=0, then halts with
 * interrupts on. Waits (bounded) for all of them; returns how many came online. */
u32 smp_start_aps(const u32 *apic_ids, u32 n, void (*fn)(u32 cpu));
/* smp_init, then every CPU of the MADT (at least 2) started on fn; FAIL if one does not come
 * up. Returns the number of CPUs; fn gets the AP's index in the MADT. */
u32 smp_start_all(void (*fn)(u32 cpu));
extern volatile u32 smp_started[256]; /* by APIC ID: times an AP entered the image */
extern volatile u32 smp_online;
extern volatile u32 ap_next_slot;      /* times the trampoline was entered */
void smp_print_missing(void);          /* "missing APs: ID..." (hold the console lock) */

/* ---- control-register bits (SDM Vol. 3A 2.5) ------------------------------------------------- */
#define CR0_PE (1u << 0)
#define CR0_MP (1u << 1)
#define CR0_EM (1u << 2)
#define CR0_TS (1u << 3)
#define CR0_ET (1u << 4)
#define CR0_NE (1u << 5)
#define CR0_WP (1u << 16)
#define CR0_AM (1u << 18)
#define CR0_NW (1u << 29)
#define CR0_CD (1u << 30)
#define CR0_PG (1u << 31)
#define CR4_TSD (1u << 2)
#define CR4_PSE (1u << 4)
#define CR4_PAE (1u << 5)
#define CR4_OSFXSR (1u << 9)
#define CR4_OSXMMEXCPT (1u << 10)
#define CR4_LA57 (1u << 12)
#define CR4_VMXE (1u << 13)
#define CR4_PCIDE (1u << 17)
#define CR4_OSXSAVE (1u << 18)
#define CR4_CET (1u << 23)

/* ---- paging (paging.c) ----------------------------------------------------------------------- */
#define PTE_P (1ull << 0)
#define PTE_W (1ull << 1)
#define PTE_U (1ull << 2)
#define PTE_PWT (1ull << 3)
#define PTE_PCD (1ull << 4)
#define PTE_PS (1ull << 7)
#define PTE_NX (1ull << 63)
#define PF_P (1u << 0) /* #PF error code (SDM Vol. 3A 4.7) */
#define PF_W (1u << 1)
#define PF_RSVD (1u << 3)
#define PF_ID (1u << 4)
/* PAE paging with the 4 GiB identity-mapped in 2 MiB pages (device pages from 0xFE000000 up
 * uncacheable); then paging_pte() gives the 4 KiB PTE of any address, splitting its 2 MiB page
 * the first time (at most 8 splits). Changes take effect after paging_flush() or invlpg(). */
void paging_enable_pae(void);
u64 *paging_pde(u32 linear);
u64 *paging_pte(u32 linear);
void paging_flush(void); /* reloads CR3 */
static inline void invlpg(u32 linear) { __asm__ volatile("invlpg (%0)" : : "r"(linear) : "memory"); }

/* ---- environment --------------------------------------------------------------------------- */
/* CPUID leaf 0x40000100 says "MatryoshkaHV": checks of the hypervisor's own choices apply. */
int under_matryoshka(void);
/* The VMCALL ABI (vmx/hypercall.hpp): KVM's functions at KVM's numbers, Matryoshka's own from
 * 0x4d480000; KVM's errors. Natively VMCALL is #UD: check under_matryoshka() first. */
#define HC_KVM_KICK_CPU 5u     /* RBX flags, RCX APIC ID */
#define HC_KVM_SCHED_YIELD 11u /* RBX APIC ID */
#define HC_CONSOLE_WRITE 0x4d480000u
#define HC_EXIT 0x4d480001u
#define HC_PREEMPTION_HINT 0x4d480002u
#define HC_BENCH_FLOOR 0x4d487ffeu /* only the benchmark image answers it */
#define HC_NOP 0x4d487fffu
#define HC_EPERM (-1)     /* CPL > 0 */
#define HC_EINVAL (-22)   /* a bad argument */
#define HC_ENOSYS (-1000) /* an unknown function */
static inline long hypercall(u32 function, u32 rbx, u32 rcx)
{
    long result;
    __asm__ volatile("vmcall" : "=a"(result) : "a"(function), "b"(rbx), "c"(rcx) : "memory");
    return result;
}
/* QEMU's fw_cfg (docs/specs/fw_cfg.rst), which Matryoshka provides too: selects `key` at port
 * 0x510 and reads `len` bytes from the data port 0x511. */
void fw_cfg_read(u16 key, void *buf, u32 len);
/* Busy-waits (PAUSE) until *counter >= target or `ticks` TSC ticks passed; true if reached. */
int wait_for(volatile u32 *counter, u32 target, u64 ticks);

/* ---- Multiboot v1 information (spec 3.3) ----------------------------------------------------- */
#define MB1_BOOT_MAGIC 0x2badb002u
struct mb_info {
    u32 flags, mem_lower, mem_upper, boot_device, cmdline, mods_count, mods_addr;
    u32 syms[4];
    u32 mmap_length, mmap_addr;
    u32 drives_length, drives_addr, config_table, boot_loader_name, apm_table;
};
#define MB_INFO_MEM (1u << 0)
#define MB_INFO_CMDLINE (1u << 2)
#define MB_INFO_MODS (1u << 3)
#define MB_INFO_MMAP (1u << 6)
#define MB_INFO_LOADER_NAME (1u << 9)
struct mb_mmap_entry {
    u32 size; /* of the rest of the entry, not counting this field */
    u64 addr, len;
    u32 type; /* 1 = available RAM */
} __attribute__((packed));
struct mb_module { u32 start, end, string, reserved; };

extern u32 boot_magic;
extern struct mb_info *boot_info; /* NULL if the magic was wrong */
const char *boot_cmdline(void);   /* "" when there is none */
/* Value of `key=value` in the command line, copied to buf; false if absent. */
int cmdline_get(const char *key, char *buf, size_t size);
/* Number after `key=` (0x.. hex or decimal, optional K/M/G suffix), or def. */
u64 cmdline_number(const char *key, u64 def);
/* Calls fn for each mmap entry (or, without a map, for mem_lower/mem_upper). */
void mmap_foreach(void (*fn)(u64 addr, u64 len, u32 type, void *ctx), void *ctx);
/* Highest address +1 of the memory the loader put anything at (image, info, cmdline, mmap,
 * modules): RAM above it is free for a test. */
u32 boot_data_end(void);
extern char image_start[], image_end[];

/* ---- strings and numbers ---------------------------------------------------------------------- */
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
/* Parses "0x1f", "31", with an optional K/M/G suffix; sets *end past the number. */
u64 parse_number(const char *s, const char **end);
/* 64-by-32 division without libgcc (x86 DIV twice). */
u64 udiv64(u64 n, u32 d, u32 *rem);

#endif
