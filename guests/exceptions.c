/* exceptions: the guest's own IDT takes its own exceptions, with the right vector, error code and
 * saved EIP (fault: the instruction; trap: the one after), and each handler recovers:
 * #DE (div by 0), #DB (single step with EFLAGS.TF, DR6.BS), #BP (int3), #OF (into), #BR (bound),
 * #UD (ud2, the handler skips it), #NM (x87 with CR0.TS), #GP (a selector beyond the GDT limit),
 * #NP (a not-present segment), #PF after turning on its own paging (not-present read and write,
 * a read-only page with CR0.WP, CR2), and a software interrupt whose handler changes EAX. */
#include "guest.h"

TEST("exceptions");

/* The faulting instructions, with labels for their exact addresses. */
void div0_fn(void *);
void step_fn(void *);
void bound_fn(void *);
void nm_fn(void *);
void gp_fn(void *);
void np_fn(void *);
void pf_read_fn(void *);
void pf_write_fn(void *);
extern char div0_insn[], step_after[], bound_insn[], nm_insn[], gp_insn[], np_insn[], pf_read_insn[],
    pf_write_insn[];
__asm__(".text\n"
        ".globl div0_fn, div0_insn\n"
        "div0_fn: movl $1, %eax; xorl %edx, %edx; xorl %ecx, %ecx\n"
        "div0_insn: divl %ecx\n"
        "    ret\n"
        ".globl step_fn, step_after\n"
        "step_fn: pushfl; orl $0x100, (%esp); popfl\n"
        "    nop\n" /* TF set by POPF: the trap comes after the next instruction */
        "step_after: nop\n"
        "    pushfl; andl $~0x100, (%esp); popfl\n"
        "    ret\n"
        ".globl bound_fn, bound_insn\n"
        "bound_fn: movl 4(%esp), %edx; movl $20, %eax\n"
        "bound_insn: boundl %eax, (%edx)\n"
        "    ret\n"
        ".globl nm_fn, nm_insn\n"
        "nm_fn:\n"
        "nm_insn: fnop\n"
        "    ret\n"
        ".globl gp_fn, gp_insn\n"
        "gp_fn: movw $0x48, %ax\n"
        "gp_insn: movw %ax, %ds\n"
        "    ret\n"
        ".globl np_fn, np_insn\n"
        "np_fn: movw $0x20, %ax\n"
        "np_insn: movw %ax, %ds\n"
        "    ret\n"
        ".globl pf_read_fn, pf_read_insn\n"
        "pf_read_fn: movl 4(%esp), %edx\n"
        "pf_read_insn: movl (%edx), %eax\n"
        "    ret\n"
        ".globl pf_write_fn, pf_write_insn\n"
        "pf_write_fn: movl 4(%esp), %edx\n"
        "pf_write_insn: movl $0x5a5a5a5a, (%edx)\n"
        "    ret\n");

static volatile u32 seen_vector, seen_eip, seen_count;

static void record(struct frame *f)
{
    seen_vector = f->vector;
    seen_eip = f->eip;
    seen_count++;
}

static void skip_ud2(struct frame *f)
{
    record(f);
    f->eip += 2; /* ud2 is 0F 0B */
}

static void int80(struct frame *f)
{
    record(f);
    f->eax = f->eax * 2 + 1;
}

static void check_fault(const char *what, int faulted, u32 vector, u32 eip, u32 error)
{
    CHECK(faulted && last_fault.vector == vector && last_fault.eip == eip && last_fault.error == error,
          "%s: %s at 0x%x error 0x%x (got %s at 0x%x error 0x%x)", what, vector_name(vector), eip, error,
          faulted ? vector_name(last_fault.vector) : "no fault", last_fault.eip, last_fault.error);
}

/* Paging: one page directory, one page table identity-mapping 0-4 MiB with 4 KiB pages. */
static u32 page_dir[1024] __attribute__((aligned(4096)));
static u32 page_table[1024] __attribute__((aligned(4096)));
#define PF_ABSENT 0x300000u
#define PF_READONLY 0x301000u

static void paging_checks(void)
{
    ASSERT((u32)(uintptr_t)image_end <= PF_ABSENT); /* code, data and stack stay mapped */
    for (u32 i = 0; i < 1024; ++i) page_table[i] = i << 12 | 3; /* present, writable */
    page_table[PF_ABSENT >> 12] = 0;
    page_table[PF_READONLY >> 12] = PF_READONLY | 1; /* present, read-only */
    page_dir[0] = (u32)(uintptr_t)page_table | 3;
    u32 cr0 = read_cr0(), cr3 = read_cr3();
    *(volatile u32 *)PF_READONLY = 0x11111111;
    write_cr3((u32)(uintptr_t)page_dir);
    write_cr0(cr0 | (1u << 31));
    note("paging on (CR0 0x%x, CR3 0x%x)", read_cr0(), read_cr3());

    int f = try_call(pf_read_fn, (void *)PF_ABSENT);
    check_fault("read of a not-present page", f, 14, (u32)(uintptr_t)pf_read_insn, 0);
    CHECK(f && last_fault.cr2 == PF_ABSENT, "CR2 is the faulting address 0x%x (0x%x)", PF_ABSENT, last_fault.cr2);
    f = try_call(pf_write_fn, (void *)(PF_ABSENT + 0x44));
    check_fault("write to a not-present page", f, 14, (u32)(uintptr_t)pf_write_insn, 2);
    CHECK(f && last_fault.cr2 == PF_ABSENT + 0x44, "CR2 0x%x (0x%x)", PF_ABSENT + 0x44, last_fault.cr2);
    f = try_call(pf_write_fn, (void *)PF_READONLY);
    CHECK(!f && *(volatile u32 *)PF_READONLY == 0x5a5a5a5a, "CR0.WP=0: supervisor write to a read-only page works");
    write_cr0(read_cr0() | (1u << 16));
    f = try_call(pf_write_fn, (void *)(PF_READONLY + 8));
    check_fault("CR0.WP=1: write to a read-only page", f, 14, (u32)(uintptr_t)pf_write_insn, 3);
    /* Mapping the page in makes the same access work (the TLB has no stale not-present entry). */
    page_table[PF_ABSENT >> 12] = PF_ABSENT | 3;
    __asm__ volatile("invlpg (%0)" : : "r"(PF_ABSENT) : "memory");
    f = try_call(pf_write_fn, (void *)PF_ABSENT);
    CHECK(!f && *(volatile u32 *)PF_ABSENT == 0x5a5a5a5a, "after mapping the page (invlpg) the write works");

    write_cr0(cr0);
    write_cr3(cr3);
    CHECK(!(read_cr0() & (1u << 31)), "paging off again");
}

int main(void)
{
    int f = try_call(div0_fn, 0);
    check_fault("div by zero", f, 0, (u32)(uintptr_t)div0_insn, 0);

    u32 dr6;
    __asm__ volatile("mov %0, %%dr6" : : "r"(0u));
    f = try_call(step_fn, 0);
    __asm__ volatile("mov %%dr6, %0" : "=r"(dr6));
    check_fault("single step (EFLAGS.TF)", f, 1, (u32)(uintptr_t)step_after, 0);
    CHECK(dr6 & (1u << 14), "DR6.BS set after the single step (DR6 0x%x)", dr6);
    CHECK(!(read_eflags() & (1u << 8)), "EFLAGS.TF clear afterwards");

    /* #BP and #OF are traps: the saved EIP is the next instruction and the handler just returns. */
    set_handler(3, record);
    seen_count = 0;
    u32 after_int3;
    __asm__ volatile("int3\n1: movl $1b, %0" : "=r"(after_int3));
    CHECK(seen_count == 1 && seen_vector == 3 && seen_eip == after_int3,
          "int3: #BP handler ran once with EIP after int3 (0x%x, got 0x%x), execution resumed", after_int3, seen_eip);
    set_handler(3, 0);

    set_handler(4, record);
    seen_count = 0;
    u32 after_into;
    __asm__ volatile("movl $0x7fffffff, %%eax; addl $1, %%eax; into\n1: movl $1b, %0" : "=r"(after_into) : : "eax", "cc");
    CHECK(seen_count == 1 && seen_vector == 4 && seen_eip == after_into, "into with OF=1: #OF trap, EIP 0x%x (0x%x)",
          after_into, seen_eip);
    set_handler(4, 0);

    static s32 bounds[2] = {0, 10};
    f = try_call(bound_fn, bounds);
    check_fault("bound with index 20 outside [0, 10]", f, 5, (u32)(uintptr_t)bound_insn, 0);

    set_handler(6, skip_ud2);
    seen_count = 0;
    u32 ud2_at;
    __asm__ volatile("movl $1f, %0\n1: ud2" : "=r"(ud2_at));
    CHECK(seen_count == 1 && seen_vector == 6 && seen_eip == ud2_at,
          "ud2: #UD at 0x%x (0x%x), the handler skipped it and execution resumed", ud2_at, seen_eip);
    set_handler(6, 0);

    u32 cr0 = read_cr0();
    write_cr0((cr0 | (1u << 3) | (1u << 1)) & ~(1u << 2)); /* TS=1 MP=1 EM=0 */
    f = try_call(nm_fn, 0);
    write_cr0(cr0);
    check_fault("x87 instruction with CR0.TS=1", f, 7, (u32)(uintptr_t)nm_insn, 0);

    f = try_call(gp_fn, 0);
    check_fault("loading DS with selector 0x48 beyond the GDT limit", f, 13, (u32)(uintptr_t)gp_insn, 0x48);

    gdt_set(SEL_FREE1, 0, 0xfffff, 0x12 /* data, writable, NOT present */, 0xc);
    f = try_call(np_fn, 0);
    check_fault("loading DS with a not-present segment (0x20)", f, 11, (u32)(uintptr_t)np_insn, 0x20);
    gdt_set(SEL_FREE1, 0, 0, 0, 0);

    set_handler(0x80, int80);
    seen_count = 0;
    u32 eax = 20;
    __asm__ volatile("int $0x80" : "+a"(eax));
    CHECK(seen_count == 1 && seen_vector == 0x80 && eax == 41, "int 0x80: handler ran and changed EAX (41: %u)", eax);
    set_handler(0x80, 0);

    paging_checks();
    finish();
}
