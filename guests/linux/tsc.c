// Prints the time-stamp counter in decimal. The Linux test guest's /init stamps its marker line
// with it: the guest's TSC is the host's (TSC offset 0), which Bochs counts in emulated
// instructions, so `make bench` can subtract the hypervisor's GRUB-handoff TSC. Freestanding
// (no libc): built by tools/build-initramfs with the host gcc, -static -nostdlib.
static long linux_syscall(long number, long a, long b, long c)
{
    long result;
    asm volatile("syscall" : "=a"(result) : "a"(number), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
    return result;
}

void _start(void)
{
    unsigned low, high;
    asm volatile("rdtsc" : "=a"(low), "=d"(high));
    unsigned long long tsc = (unsigned long long)high << 32 | low;
    char text[24];
    int at = sizeof text - 1;
    text[at] = '\n';
    do {
        text[--at] = (char)('0' + tsc % 10);
        tsc /= 10;
    } while (tsc);
    linux_syscall(1, 1, (long)(text + at), (long)(sizeof text - at));  // write(1, ...)
    linux_syscall(60, 0, 0, 0);                                         // exit(0)
    for (;;) {
    }
}
