/* The guest's own IDT (interrupt gates to the stubs in entry.asm), the default exception path,
 * try_call/expect_fault, GDT entries for tests, the PICs, and the environment probes. */
#include "guest.h"

struct idt_gate {
    u16 offset_low, selector;
    u8 zero, type_attr;
    u16 offset_high;
} __attribute__((packed));

static struct idt_gate idt[256] __attribute__((aligned(16)));
static handler_fn handlers[256];
volatile struct fault_info last_fault;

extern char isr_stubs[];
extern volatile u32 try_active;
extern char try_recover[];
extern u64 gdt[];

void idt_init(void)
{
    for (int v = 0; v < 256; ++v) {
        u32 stub = (u32)(uintptr_t)isr_stubs + 16 * v;
        idt[v] = (struct idt_gate){(u16)stub, SEL_CODE32, 0, 0x8e /* present, DPL 0, 32-bit interrupt gate */,
                                   (u16)(stub >> 16)};
    }
    struct {
        u16 limit;
        u32 base;
    } __attribute__((packed)) idtr = {sizeof idt - 1, (u32)(uintptr_t)idt};
    __asm__ volatile("lidt %0" : : "m"(idtr));
}

void set_handler(u8 vector, handler_fn fn) { handlers[vector] = fn; }

void set_gate_user(u8 vector) { idt[vector].type_attr = 0xee; /* present, DPL 3, interrupt gate */ }

const char *vector_name(u32 v)
{
    static const char *const names[32] = {
        "#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "vector 9", "#TS", "#NP", "#SS",
        "#GP", "#PF", "vector 15", "#MF", "#AC", "#MC", "#XM", "#VE", "#CP",
    };
    if (v < 32 && names[v]) return names[v];
    return v < 32 ? "reserved exception" : "interrupt";
}

void isr_dispatch(struct frame *f)
{
    u32 v = f->vector;
    if (handlers[v]) {
        handlers[v](f);
        return;
    }
    if (v < 32 && try_active) {
        last_fault.vector = v;
        last_fault.error = f->error;
        last_fault.eip = f->eip;
        last_fault.cr2 = read_cr2();
        last_fault.count++;
        try_active = 0;
        f->eip = (u32)(uintptr_t)try_recover;
        f->cs = SEL_CODE32;
        f->eflags &= ~(1u << 8); /* TF: a single-step #DB must not follow us into try_recover */
        return;
    }
    if (v < 32)
        printf("unexpected exception %s (vector %u) error 0x%x at eip 0x%x cr2 0x%x\n", vector_name(v), v, f->error,
               f->eip, read_cr2());
    else
        printf("unexpected interrupt vector 0x%x at eip 0x%x\n", v, f->eip);
    fail(EXIT_EXCEPTION, "unexpected %s (vector %u) at eip 0x%x", vector_name(v), v, f->eip);
}

int expect_fault(u32 vector, void (*fn)(void *), void *arg)
{
    last_fault.vector = 0xffffffff;
    return try_call(fn, arg) && last_fault.vector == vector;
}

void gdt_set(u16 selector, u32 base, u32 limit_4k_pages, u8 access, u8 flags)
{
    u64 d = (limit_4k_pages & 0xffffull) | (u64)(base & 0xffffff) << 16 | (u64)access << 40 |
            (u64)((limit_4k_pages >> 16) & 0xf) << 48 | (u64)(flags & 0xf) << 52 | (u64)(base >> 24) << 56;
    gdt[selector >> 3] = d;
}

void pic_disable(void)
{
    outb(0x21, 0xff);
    outb(0xa1, 0xff);
}

int under_matryoshka(void)
{
    static int known = -1;
    if (known < 0) {
        struct cpuid_regs r = cpuid(0x40000100, 0); /* Matryoshka's window, after KVM's */
        known = r.ebx == 0x7274614d /* "Matr" */ && r.ecx == 0x68736f79 /* "yosh" */ && r.edx == 0x5648616b /* "kaHV" */;
    }
    return known;
}

int wait_for(volatile u32 *counter, u32 target, u64 ticks)
{
    u64 start = rdtsc();
    while (*counter < target) {
        if (rdtsc() - start > ticks) return *counter >= target;
        pause();
    }
    return 1;
}

void fw_cfg_read(u16 key, void *buf, u32 len)
{
    outw(0x510, key);
    for (u32 i = 0; i < len; ++i) ((u8 *)buf)[i] = inb(0x511);
}

struct msr_op {
    u32 msr;
    u64 value;
};
static void do_rdmsr(void *p) { struct msr_op *op = p; op->value = rdmsr(op->msr); }
static void do_wrmsr(void *p) { struct msr_op *op = p; wrmsr(op->msr, op->value); }
static void do_write_cr0(void *p) { write_cr0(*(u32 *)p); }
static void do_write_cr4(void *p) { write_cr4(*(u32 *)p); }

static int fault_code(int faulted) { return faulted ? (int)last_fault.vector + 1 : 0; }

int rdmsr_fault(u32 msr, u64 *value)
{
    struct msr_op op = {msr, 0};
    int f = fault_code(try_call(do_rdmsr, &op));
    if (!f) *value = op.value;
    return f;
}

int wrmsr_fault(u32 msr, u64 value)
{
    struct msr_op op = {msr, value};
    return fault_code(try_call(do_wrmsr, &op));
}

int write_cr0_fault(u32 value) { return fault_code(try_call(do_write_cr0, &value)); }
int write_cr4_fault(u32 value) { return fault_code(try_call(do_write_cr4, &value)); }
