/* random_insn: executes pseudo-random byte streams in real mode, 32-bit protected mode and 64-bit
 * mode, recovers from whatever each one raises, and counts the outcomes per mode. The hypervisor
 * sees every exit random code can cause (CPUID, RDMSR, VMX instructions, XSETBV, INVD, I/O to a
 * few harmless ports, MMIO reads of the LAPIC page that its emulator must decode, and whatever
 * the emulator is handed in real mode) and must neither panic nor hurt another VM.
 *
 * Each stream is one page of random bytes entered at a random offset, with registers set to
 * random values pointing into the sandbox, and ends with the first exception or interrupt:
 *   - real mode (CPL 0, no paging): a 64 KiB window at 0x80000 that every segment register
 *     points at; single-stepping filters the next instruction before it runs (random_insn.asm)
 *     and bounds the stream to `steps` instructions;
 *   - protected and long mode: CPL 3 with IOPL 0. Only the sandbox is a user page: guard pages
 *     (not present) around a code page (RWX), a data/stack page (RW, NX) and a read-only NX alias
 *     of the LAPIC registers. The guest's own code, stacks, IDT, GDT, TSS and page tables are
 *     supervisor pages, so random code cannot reach them; the TSS I/O bitmap opens only ports
 *     without side effects on the VM's life (CMOS, fw_cfg selector and data, POST, empty slots).
 *     The LAPIC timer (one-shot, `ticks`) ends streams that loop.
 *
 * Real-mode code that sets SP to 1 and then pushes would shut the CPU down (SDM Vol. 3B 20.1.4:
 * the #SS cannot be delivered; a triple fault for the hypervisor): the window's stack segment
 * keeps a limit of 0x10000 from protected mode, so that push succeeds instead. Nothing the
 * stream can do reaches outside the sandbox; any end of this VM but PASS is a finding.
 *
 * Command line: seed=N (default 1), count=N streams in total, split over the three modes
 * (default 300), ticks=N LAPIC timer ticks per stream (default 200000), steps=N real-mode
 * instructions per stream (default 64). Output: one line of counts per mode and event, checks,
 * PASS. */
#include "guest.h"

TEST("random_insn");

#define TIMER_VECTOR 0x40
#define RM_FILTERED 0x100
#define RM_BUDGET 0x101
#define RM_BLOB_BASE 0x7000u
#define RM_SANDBOX 0x80000u
#define RM_CODE_OFFSET 0x1000u
#define SANDBOX_VIRT 0x800000u /* PD entry 4 of the first GiB: the sandbox's page table */
#define SANDBOX_CODE (SANDBOX_VIRT + 0x1000)
#define SANDBOX_DATA (SANDBOX_VIRT + 0x2000)
#define SANDBOX_LAPIC (SANDBOX_VIRT + 0x3000)
#define IDENTITY_LIMIT SANDBOX_VIRT /* the guest's own memory: identity-mapped below this */

#define SEL_CODE16 0x20
#define SEL_DATA16 0x28
#define SEL_USER_NOT_PRESENT 0x48 /* a DPL 3 data segment marked not present: #NP */
#define SEL_TSS32 0x50
#define SEL_TSS64 0x58
#define SEL_STACK16 0x68
#define GDT_ENTRIES 14


#define EFER_NXE (1u << 11)

struct start_regs { u32 eax, ebx, ecx, edx, esi, edi, ebp; };
struct lm_event { u32 vector, error; u64 rip; u32 cs, pad; u64 cr2; };

u32 rm_run(void);
u32 pm_run(u32 entry, u32 user_stack, const struct start_regs *regs);
u32 lm_run(u32 pml4, u32 entry, u32 user_stack, const struct start_regs *regs);
extern char rm_blob[], rm_blob_end[], rm_stubs[], rm_vector[], rm_ip[], rm_cs[], rm_budget[], rm_init_ip[],
    rm_init_sp[], rm_regs[], rm_gdtr[], rm_class[], rm_class_0f[], rm_allow_0f01[];
extern char pm_recover[], lm_stubs[];
extern struct lm_event lm_event;

u64 gdt_table[GDT_ENTRIES] __attribute__((aligned(16)));

/* TSSs followed by their I/O permission bitmaps (SDM Vol. 1 19.5.2), the last byte all ones. */
struct tss32 {
    u32 link, esp0, ss0, esp1, ss1, esp2, ss2, cr3, eip, eflags, eax, ecx, edx, ebx, esp, ebp, esi, edi;
    u32 es, cs, ss, ds, fs, gs, ldt;
    u16 trap, iomap_base;
    u8 iomap[8192 + 1];
} __attribute__((packed));
struct tss64 {
    u32 reserved0;
    u64 rsp0, rsp1, rsp2, reserved1, ist[7], reserved2;
    u16 reserved3, iomap_base;
    u8 iomap[8192 + 1];
} __attribute__((packed));
static struct tss32 tss32 __attribute__((aligned(128)));
static struct tss64 tss64 __attribute__((aligned(128)));
static u8 kernel_stack[8192] __attribute__((aligned(16))); /* ring 0 after a CPL 3 event */

static u64 pdpt_pae[4] __attribute__((aligned(32)));
static u64 pml4[512] __attribute__((aligned(4096)));
static u64 pdpt_lm[512] __attribute__((aligned(4096)));
static u64 pd_low[512] __attribute__((aligned(4096)));
static u64 pd_apic[512] __attribute__((aligned(4096)));
static u64 pt_sandbox[512] __attribute__((aligned(4096)));
static u8 code_page[4096] __attribute__((aligned(4096)));
static u8 data_page[4096] __attribute__((aligned(4096)));

/* ---- the generator: xorshift64* (deterministic from the seed) ---------------------------------- */
static u64 rng_state;
static u32 rng(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (u32)((rng_state * 0x2545f4914f6cdd1dull) >> 32);
}
static void fill_random(u8 *p, u32 n)
{
    for (u32 i = 0; i < n; i += 4) {
        u32 r = rng();
        memcpy(p + i, &r, 4);
    }
}

/* ---- outcomes ---------------------------------------------------------------------------------- */
enum mode { REAL, PROTECTED, LONG, MODES };
static const char *const mode_names[MODES] = {"real mode", "protected mode", "long mode"};
enum { EV_TIMER = 32, EV_SOFT_INT, EV_FILTERED, EV_BUDGET, EVENTS };
static u32 counts[MODES][EVENTS];
static u32 streams[MODES];

static const char *event_name(u32 e)
{
    switch (e) {
    case EV_TIMER: return "timer";
    case EV_SOFT_INT: return "INT n";
    case EV_FILTERED: return "filtered";
    case EV_BUDGET: return "step budget";
    default: return vector_name(e);
    }
}

/* ---- LAPIC timer: the bound on every stream ---------------------------------------------------- */
static u32 timer_ticks, steps;
static void timer_arm(void)
{
    lapic_write(LAPIC_LVT_TIMER, TIMER_VECTOR); /* one-shot, unmasked */
    lapic_write(LAPIC_TIMER_INIT, timer_ticks);
}
/* Stops the timer and says whether its interrupt ended the stream (it is in service). A timer
 * that fired after the stream ended is taken with interrupts briefly on (kernel_event EOIs it). */
static int timer_disarm(void)
{
    lapic_write(LAPIC_TIMER_INIT, 0);
    int in_service = lapic_read(0x100 + 0x10 * (TIMER_VECTOR / 32)) & (1u << (TIMER_VECTOR % 32));
    if (in_service) lapic_write(LAPIC_EOI, 0);
    __asm__ volatile("sti; nop; cli" ::: "memory");
    return in_service != 0;
}

static void count(enum mode m, u32 vector, int timer)
{
    u32 e = vector;
    if (timer) e = EV_TIMER;
    else if (vector == RM_FILTERED) e = EV_FILTERED;
    else if (vector == RM_BUDGET) e = EV_BUDGET;
    else if (vector >= 32) e = EV_SOFT_INT;
    counts[m][e]++;
    streams[m]++;
}

/* ---- protected-mode events (the library's IDT, every vector) ------------------------------------- */
static volatile u32 pm_vector;

static void kernel_event(struct frame *f)
{
    if ((f->cs & 3) == 0) {
        if (f->vector == TIMER_VECTOR) {
            lapic_write(LAPIC_EOI, 0);
            return;
        }
        fail(EXIT_EXCEPTION, "%s (vector %u) in the guest's own code at eip 0x%x, error 0x%x, cr2 0x%x",
             vector_name(f->vector), f->vector, f->eip, f->error, read_cr2());
    }
    pm_vector = f->vector;
    f->eip = (u32)(uintptr_t)pm_recover;
    f->cs = SEL_CODE32;
    f->eflags = 2; /* IF, TF, DF, AC, NT clear */
}

/* ---- descriptors ---------------------------------------------------------------------------------- */
static u64 segment(u32 base, u32 limit, u8 access, u8 flags)
{
    return (limit & 0xffffull) | (u64)(base & 0xffffff) << 16 | (u64)access << 40 | (u64)((limit >> 16) & 0xf) << 48 |
           (u64)(flags & 0xf) << 52 | (u64)(base >> 24) << 56;
}

/* The I/O ports random code may use at CPL 3: no effect on the VM's life or console. PCI
 * CONFIG_ADDRESS (0xCF8-0xCFB) stays closed: the bitmap cannot tell its dword from a byte to the
 * reset control register 0xCF9; CONFIG_DATA reaches the host bridge (setup_descriptors selects
 * it). The PIT may be programmed: its I/O APIC pin stays masked. */
static void open_ports(u8 *bitmap)
{
    static const u16 open[][2] = {{0x40, 0x43}, {0x61, 0x61}, {0x70, 0x71}, {0x80, 0x80},
                                  {0x2f8, 0x2ff}, {0x510, 0x511}, {0xcfc, 0xcff}};
    memset(bitmap, 0xff, 8192 + 1);
    for (u32 i = 0; i < ARRAY_SIZE(open); ++i)
        for (u32 p = open[i][0]; p <= open[i][1]; ++p) bitmap[p / 8] &= (u8)~(1u << (p % 8));
}

static void setup_descriptors(void)
{
    extern u64 gdt[];
    for (int i = 0; i < 4; ++i) gdt_table[i] = gdt[i]; /* null, code32, data32, code64 */
    gdt_table[SEL_CODE16 >> 3] = segment(RM_BLOB_BASE, 0xffff, 0x9b, 0x0);
    gdt_table[SEL_DATA16 >> 3] = segment(0, 0xffff, 0x93, 0x0);
    gdt_table[SEL_STACK16 >> 3] = segment(0, 0x10000, 0x93, 0x0);
    gdt_table[6] = segment(0, 0xfffff, 0xfb, 0xc);                  /* 0x33 user code32 */
    gdt_table[7] = segment(0, 0xfffff, 0xf3, 0xc);                  /* 0x3b user data */
    gdt_table[8] = segment(0, 0xfffff, 0xfb, 0xa);                  /* 0x43 user code64 */
    gdt_table[SEL_USER_NOT_PRESENT >> 3] = segment(0, 0xfffff, 0x73, 0xc);
    gdt_table[SEL_TSS32 >> 3] = segment((u32)(uintptr_t)&tss32, sizeof tss32 - 1, 0x89, 0);
    gdt_table[SEL_TSS64 >> 3] = segment((u32)(uintptr_t)&tss64, sizeof tss64 - 1, 0x89, 0);
    gdt_table[(SEL_TSS64 >> 3) + 1] = 0; /* base 63:32 */
    struct {
        u16 limit;
        u32 base;
    } __attribute__((packed)) gdtr = {sizeof gdt_table - 1, (u32)(uintptr_t)gdt_table};
    __asm__ volatile("lgdt %0" : : "m"(gdtr));
    memcpy(rm_gdtr - rm_blob + (char *)RM_BLOB_BASE, &gdtr, 6);

    tss32.ss0 = SEL_DATA32;
    tss32.esp0 = (u32)(uintptr_t)(kernel_stack + sizeof kernel_stack);
    tss32.iomap_base = offsetof(struct tss32, iomap);
    open_ports(tss32.iomap);
    tss64.rsp0 = (u32)(uintptr_t)(kernel_stack + sizeof kernel_stack);
    tss64.iomap_base = offsetof(struct tss64, iomap);
    open_ports(tss64.iomap);
    outl(0xcf8, 0x80000000u); /* 00:00.0, register 0 */

    for (u32 v = 0; v < 256; ++v) set_handler((u8)v, kernel_event);
    set_gate_user(3);
    set_gate_user(4);

    /* The 64-bit IDT: interrupt gates to lm_stubs, INT3 and INTO reachable from CPL 3. */
    extern u64 lm_idt[];
    for (u32 v = 0; v < 256; ++v) {
        u32 stub = (u32)(uintptr_t)lm_stubs + 16 * v;
        u8 type = (v == 3 || v == 4) ? 0xee : 0x8e;
        lm_idt[2 * v] = (stub & 0xffff) | (u64)SEL_CODE64 << 16 | (u64)type << 40 | (u64)(stub >> 16) << 48;
        lm_idt[2 * v + 1] = 0;
    }
}

static void load_task_register(u16 selector)
{
    gdt_table[selector >> 3] &= ~(2ull << 40); /* not busy */
    __asm__ volatile("ltr %0" : : "r"(selector));
}

/* ---- page tables: identity below 8 MiB (supervisor), the sandbox at 8 MiB, the LAPIC ------------- */
static void setup_paging(void)
{
    for (u32 i = 0; i < IDENTITY_LIMIT >> 21; ++i) pd_low[i] = ((u64)i << 21) | PTE_P | PTE_W | PTE_PS;
    pd_low[SANDBOX_VIRT >> 21] = (u32)(uintptr_t)pt_sandbox | PTE_P | PTE_W | PTE_U;
    pt_sandbox[1] = (u32)(uintptr_t)code_page | PTE_P | PTE_W | PTE_U;
    pt_sandbox[2] = (u32)(uintptr_t)data_page | PTE_P | PTE_W | PTE_U | PTE_NX;
    pt_sandbox[3] = LAPIC_BASE | PTE_P | PTE_U | PTE_NX | PTE_PCD | PTE_PWT;
    pd_apic[(LAPIC_BASE >> 21) & 511] = (LAPIC_BASE & ~0x1fffffu) | PTE_P | PTE_W | PTE_PS | PTE_PCD | PTE_PWT;
    /* PAE PDPTEs have no R/W or U/S bits (SDM Vol. 3A 4.4.1); 4-level ones need both for CPL 3. */
    pdpt_pae[0] = (u32)(uintptr_t)pd_low | PTE_P;
    pdpt_pae[3] = (u32)(uintptr_t)pd_apic | PTE_P;
    pdpt_lm[0] = (u32)(uintptr_t)pd_low | PTE_P | PTE_W | PTE_U;
    pdpt_lm[3] = (u32)(uintptr_t)pd_apic | PTE_P | PTE_W | PTE_U;
    pml4[0] = (u32)(uintptr_t)pdpt_lm | PTE_P | PTE_W | PTE_U;
}

static void paging_on_pae(void)
{
    wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_NXE);
    write_cr4(read_cr4() | CR4_PAE);
    write_cr3((u32)(uintptr_t)pdpt_pae);
    write_cr0(read_cr0() | CR0_PG | CR0_WP);
}

static void paging_off(void)
{
    write_cr0(read_cr0() & ~CR0_PG);
    write_cr4(read_cr4() & ~CR4_PAE);
}

/* ---- real mode ---------------------------------------------------------------------------------------- */
#define BLOB(sym) ((void *)((sym) - rm_blob + (char *)RM_BLOB_BASE))

static void setup_real_mode(void)
{
    memcpy(BLOB(rm_blob), rm_blob, (size_t)(rm_blob_end - rm_blob));
    u32 *ivt; /* physical 0: laundered so the compiler does not see a null pointer */
    __asm__("" : "=r"(ivt) : "0"(0));
    u32 stubs = (u32)(rm_stubs - rm_blob);
    for (u32 v = 0; v < 256; ++v) ivt[v] = (RM_BLOB_BASE >> 4) << 16 | (stubs + 16 * v);

    u8 *cls = BLOB(rm_class), *cls0f = BLOB(rm_class_0f), *allow = BLOB(rm_allow_0f01);
    static const u8 prefixes[] = {0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0x66, 0x67, 0xf0, 0xf2, 0xf3};
    /* Segment loads, far transfers, IRET/POPF/CLI (IF and TF must stay), HLT, OUT/OUTS. */
    static const u8 forbidden[] = {0x07, 0x17, 0x1f, 0x8e, 0xc4, 0xc5, 0xea, 0x9a, 0xca, 0xcb, 0xcf,
                                   0x9d, 0xfa, 0xf4, 0xe6, 0xe7, 0xee, 0xef, 0x6e, 0x6f};
    /* After 0F: WRMSR, MOV to CR/DR, POP FS/GS, LSS/LFS/LGS. */
    static const u8 forbidden_0f[] = {0x22, 0x23, 0x30, 0xa1, 0xa9, 0xb2, 0xb4, 0xb5};
    /* 0F 01 with a register operand: VMLAUNCH/VMRESUME/VMXOFF, CLAC/STAC, XGETBV/XSETBV, VMFUNC,
     * XEND/XTEST, SMSW, SERIALIZE, RDPKRU/WRPKRU, SWAPGS, RDTSCP. Not VMCALL (an exit hypercall
     * would end the VM), MONITOR/MWAIT, LMSW. */
    static const u8 allowed_0f01[] = {0xc2, 0xc3, 0xc4, 0xca, 0xcb, 0xd0, 0xd1, 0xd4, 0xd5, 0xd6, 0xe0, 0xe1,
                                      0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xee, 0xef, 0xf8, 0xf9};
    memset(cls, 0, 256);
    memset(cls0f, 0, 256);
    memset(allow, 0, 256);
    for (u32 i = 0; i < sizeof prefixes; ++i) cls[prefixes[i]] = 1;
    for (u32 i = 0; i < sizeof forbidden; ++i) cls[forbidden[i]] = 2;
    cls[0x0f] = 3;
    cls[0xff] = 4;
    for (u32 i = 0; i < sizeof forbidden_0f; ++i) cls0f[forbidden_0f[i]] = 1;
    cls0f[0x01] = 2;
    /* with a memory operand: SGDT, SIDT, SMSW (stores); not LGDT, LIDT, LMSW, INVLPG */
    for (u32 m = 0; m < 0xc0; ++m) {
        u32 reg = (m >> 3) & 7;
        allow[m] = reg == 0 || reg == 1 || reg == 4;
    }
    for (u32 i = 0; i < sizeof allowed_0f01; ++i) allow[allowed_0f01[i]] = 1;
}

static void random_regs(struct start_regs *r, u32 mask, u32 base)
{
    r->eax = rng();
    r->ecx = rng() & 0xff;
    r->edx = rng();
    r->ebx = base + (rng() & mask);
    r->esi = base + (rng() & mask);
    r->edi = base + (rng() & mask);
    r->ebp = base + (rng() & mask);
}

static void run_real(void)
{
    u8 *window = (u8 *)RM_SANDBOX;
    u32 entry = RM_CODE_OFFSET + (rng() & 0xfff);
    fill_random(window + RM_CODE_OFFSET, 4096);
    window[entry] = 0x90; /* entered with TF set: the NOP's #DB filters the first random one */
    struct start_regs r;
    random_regs(&r, 0xfffe, 0);
    memcpy(BLOB(rm_regs), &r, sizeof r);
    *(u16 *)BLOB(rm_init_ip) = (u16)entry;
    *(u16 *)BLOB(rm_init_sp) = 0xf000;
    *(u16 *)BLOB(rm_budget) = (u16)steps;
    timer_arm();
    u32 vector = rm_run();
    count(REAL, vector, vector == TIMER_VECTOR && timer_disarm());
    if (vector != TIMER_VECTOR) timer_disarm();
}

static struct start_regs user_regs(void)
{
    struct start_regs r;
    random_regs(&r, 0xffc, SANDBOX_DATA);
    r.ebx = SANDBOX_LAPIC + (rng() & 0x3ff); /* reads there go through the emulator */
    return r;
}

static void run_protected(void)
{
    fill_random(code_page, sizeof code_page);
    struct start_regs r = user_regs();
    timer_arm();
    pm_vector = 0xffffffff;
    pm_run(SANDBOX_CODE + (rng() & 0xfff), SANDBOX_DATA + 0xff0, &r);
    u32 vector = pm_vector;
    int timer = timer_disarm();
    count(PROTECTED, vector, vector == TIMER_VECTOR && timer);
}

static void run_long(void)
{
    fill_random(code_page, sizeof code_page);
    struct start_regs r = user_regs();
    timer_arm();
    u32 vector = lm_run((u32)(uintptr_t)pml4, SANDBOX_CODE + (rng() & 0xfff), SANDBOX_DATA + 0xff0, &r);
    int timer = timer_disarm();
    if ((lm_event.cs & 3) == 0)
        fail(EXIT_EXCEPTION, "%s (vector %u) in the guest's own 64-bit code at rip 0x%llx, error 0x%x, cr2 0x%llx",
             vector_name(vector), vector, lm_event.rip, lm_event.error, lm_event.cr2);
    count(LONG, vector, vector == TIMER_VECTOR && timer);
}

static void print_counts(enum mode m)
{
    char line[512];
    int n = snprintf(line, sizeof line, "%s: %u streams:", mode_names[m], streams[m]);
    for (u32 e = 0; e < EVENTS && n < (int)sizeof line; ++e)
        if (counts[m][e]) n += snprintf(line + n, sizeof line - n, " %s %u", event_name(e), counts[m][e]);
    printf("%s\n", line);
}

int main(void)
{
    rng_state = cmdline_number("seed", 1) * 0x9e3779b97f4a7c15ull + 1;
    u32 total = (u32)cmdline_number("count", 300);
    timer_ticks = (u32)cmdline_number("ticks", 200000);
    steps = (u32)cmdline_number("steps", 64);
    ASSERT(timer_ticks != 0 && steps != 0 && steps < 0x10000);
    /* Everything random code may reach or the mode switches need must not overlap the image,
     * the boot information or the stack: the blob and IVT below 0x10000, the real-mode window,
     * the sandbox mapping above the identity-mapped 8 MiB. */
    ASSERT(boot_data_end() <= IDENTITY_LIMIT);
    ASSERT((u32)(uintptr_t)image_start >= RM_SANDBOX + 0x10000);
    ASSERT(RM_BLOB_BASE + (u32)(rm_blob_end - rm_blob) <= RM_SANDBOX);
    printf("seed %llu, %u streams, %u timer ticks, %u real-mode steps per stream\n", cmdline_number("seed", 1), total,
           timer_ticks, steps);

    lapic_write(LAPIC_SVR, 0x1ff);
    lapic_write(LAPIC_TPR, 0);
    lapic_write(LAPIC_TIMER_DIVIDE, 0xb); /* divide by 1 */
    u32 cr4 = read_cr4() | CR4_OSFXSR | CR4_OSXMMEXCPT;
    if (cpuid(1, 0).ecx & CPUID1_ECX_XSAVE) cr4 |= CR4_OSXSAVE; /* so XSETBV reaches the hypervisor */
    write_cr4(cr4);
    write_cr0((read_cr0() | CR0_NE | CR0_AM) & ~(3u << 2)); /* #MF, #AC at CPL 3; no EM, no TS */
    setup_real_mode(); /* first: setup_descriptors writes the GDTR into the blob's copy */
    setup_descriptors();
    setup_paging();

    u32 per_mode = total / 3;
    for (u32 i = 0; i < per_mode; ++i) run_real();
    print_counts(REAL);

    load_task_register(SEL_TSS32);
    paging_on_pae();
    for (u32 i = 0; i < per_mode; ++i) run_protected();
    paging_off();
    print_counts(PROTECTED);

    for (u32 i = 0; i < total - 2 * per_mode; ++i) run_long();
    print_counts(LONG);

    for (int m = 0; m < MODES; ++m)
        CHECK(streams[m] == (m == LONG ? total - 2 * per_mode : per_mode), "%s: every stream ended and was counted (%u)",
              mode_names[m], streams[m]);
    if (per_mode >= 100) {
        /* With a hundred streams, random bytes hit an undefined opcode, a privileged or bad-selector
         * instruction and, at CPL 3, an unmapped page: each mode's handlers really recovered. */
        CHECK(counts[REAL][6] && counts[REAL][EV_FILTERED], "real mode: #UD and filtered instructions seen");
        CHECK(counts[PROTECTED][6] && counts[PROTECTED][13] && counts[PROTECTED][14], "protected mode: #UD, #GP, #PF seen");
        CHECK(counts[LONG][6] && counts[LONG][13] && counts[LONG][14], "long mode: #UD, #GP, #PF seen");
    }
    finish();
}
