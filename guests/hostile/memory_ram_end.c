/* hostile memory_ram_end: writes the first byte after its RAM (an EPT off-by-one would map it).
 * hardware: as memory_beyond_ram (nothing decodes the address): the VM is ended at the write,
 *   with a report; the canary keeps all its memory.
 * expect: ended ^stopped: access to guest-physical address outside the VM's memory: 0x2000000 \(write\)
 * run: mem=32M cmdline=addr=end mode=write
 */
#include "memory_beyond_ram.c"
