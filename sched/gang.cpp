// Gang: strict co-scheduling (Ousterhout, 1982). All runnable vCPUs of a VM run at the same time
// or none does, so a vCPU never spins on a lock held by a preempted sibling.
//
// Ousterhout's matrix: init packs the VMs into rows (widest first, first fit), each row's VMs
// needing at most pcpu_count pCPUs together; every vCPU gets a column of its row, which is the
// pCPU it runs on (a matching that honours its affinity). Time is cut into slots of
// Params::slice aligned to absolute time (slot k is [k*slice, (k+1)*slice)), so every pCPU's
// slice ends at the same instant and all of them switch rows without an IPI. Each slot runs one
// row, round-robin over the rows that have something runnable (an all-idle row is skipped).
//
// Holes: the column of a blocked (or missing) vCPU is idle, its siblings still run. A whole gang
// of another VM, i.e. every runnable vCPU of it, may borrow idle columns for the rest of the slot
// when it fits entirely (a filler); which VM is offered the holes first rotates slot by slot. A
// filler gives its columns back at once when their owners wake, and leaves altogether when one of
// its own vCPUs wakes and no further hole is free for it: the invariant never bends.
//
// Pause loops, yields and directed yields do nothing: the spinning vCPU's siblings are running
// anyway, and giving its column away would either idle it (helps nobody) or split a gang.
#include "lib/format.hpp"
#include "sched/scheduler.hpp"

namespace sched {
namespace {

constexpr int16_t kNone = -1;
constexpr uint8_t kNoRow = 0xff;

struct Gang {
    uint32_t rows = 1;
    int16_t cell[kMaxVms][kMaxPcpus];  // the entity id at (row, column), or kNone
    uint8_t column[kMaxEntities];      // an entity's column in its VM's row
    uint8_t row_of[kMaxVms];           // kNoRow for a VM without vCPUs
    int16_t filler[kMaxPcpus];         // this slot: the entity of another row borrowing the column
    uint32_t row = 0;                  // the current slot's row
    uint32_t next_row = 0;             // where the search for the next slot's row starts
    uint32_t fill_from = 0;            // the VM offered the holes first in the next slot
    Ticks slot_end = 0;                // the current slot ends here (0: no slot yet)
    char why[160];                     // init's error text
};

Gang& gang(Scheduler& s) { return s.state<Gang>(); }

bool active(const Entity& e) { return e.state == State::runnable || e.state == State::running; }

// Matches the entities `ids` to distinct columns of `free`, each allowed by its affinity: one
// breadth-first augmenting path per entity (no recursion on the kernel stack). On success
// column_of[i] is ids[i]'s column.
class Matcher {
public:
    Matcher(const Scheduler& s, const uint16_t* ids, uint32_t count, uint64_t free)
        : s_(s), ids_(ids), count_(count), free_(free)
    {
        for (int16_t& o : owner_) o = kNone;
    }

    bool run(uint8_t* column_of)
    {
        uint32_t columns = 0;  // counted by hand: __builtin_popcountll calls libgcc without POPCNT
        for (uint64_t f = free_; f; f &= f - 1) ++columns;
        if (count_ > columns) return false;
        for (uint32_t i = 0; i < count_; ++i)
            if (!augment(i)) return false;
        for (uint32_t c = 0; c < s_.pcpu_count(); ++c)
            if (owner_[c] != kNone) column_of[owner_[c]] = uint8_t(c);
        return true;
    }

private:
    // Columns are the search's nodes: from[c] is the column whose owner could move to c (kNone:
    // entity i itself could take c). The first column without an owner ends the path; every
    // owner along it moves one step.
    bool augment(uint32_t i)
    {
        int16_t from[kMaxPcpus];
        uint8_t queue[kMaxPcpus];
        uint32_t head = 0, tail = 0;
        uint64_t seen = 0;
        auto reach = [&](uint32_t who, int16_t via) {
            const Entity& e = s_.entity(ids_[who]);
            for (uint32_t c = 0; c < s_.pcpu_count(); ++c) {
                uint64_t bit = 1ull << c;
                if (!(free_ & bit) || (seen & bit) || !s_.may_run_on(e, c)) continue;
                seen |= bit;
                from[c] = via;
                queue[tail++] = uint8_t(c);
            }
        };
        reach(i, kNone);
        while (head < tail) {
            uint32_t c = queue[head++];
            if (owner_[c] != kNone) {
                reach(uint32_t(owner_[c]), int16_t(c));
                continue;
            }
            for (;;) {
                int16_t previous = from[c];
                owner_[c] = previous == kNone ? int16_t(i) : owner_[previous];
                if (previous == kNone) return true;
                c = uint32_t(previous);
            }
        }
        return false;
    }

    const Scheduler& s_;
    const uint16_t* ids_;
    uint32_t count_;
    uint64_t free_;
    int16_t owner_[kMaxPcpus];
};

Entity* row_entity(Scheduler& s, const Gang& g, uint32_t column)
{
    int16_t id = g.cell[g.row][column];
    return id == kNone ? nullptr : &s.entity(uint32_t(id));
}

// The entity `column` runs in this slot: its row's vCPU when that can run, else a filler.
Entity* planned(Scheduler& s, const Gang& g, uint32_t column)
{
    Entity* owner = row_entity(s, g, column);
    if (owner && active(*owner)) return owner;
    if (g.filler[column] == kNone) return nullptr;
    Entity& f = s.entity(uint32_t(g.filler[column]));
    return active(f) ? &f : nullptr;
}

bool hole(Scheduler& s, const Gang& g, uint32_t column)
{
    Entity* owner = row_entity(s, g, column);
    return (!owner || !active(*owner)) && g.filler[column] == kNone;
}

uint64_t holes(Scheduler& s, const Gang& g)
{
    uint64_t mask = 0;
    for (uint32_t c = 0; c < s.pcpu_count(); ++c)
        if (hole(s, g, c)) mask |= 1ull << c;
    return mask;
}

// Where `e` should run in this slot, or kNoPcpu.
uint32_t planned_column(Scheduler& s, const Gang& g, const Entity& e)
{
    if (g.row_of[e.vm] == g.row) return g.column[e.id];
    for (uint32_t c = 0; c < s.pcpu_count(); ++c)
        if (g.filler[c] == int16_t(e.id)) return c;
    return kNoPcpu;
}

bool filling(Scheduler& s, const Gang& g, uint32_t vm)
{
    for (uint32_t c = 0; c < s.pcpu_count(); ++c)
        if (g.filler[c] != kNone && s.entity(uint32_t(g.filler[c])).vm == vm) return true;
    return false;
}

void evict(Scheduler& s, Gang& g, uint32_t vm)
{
    for (uint32_t c = 0; c < s.pcpu_count(); ++c)
        if (g.filler[c] != kNone && s.entity(uint32_t(g.filler[c])).vm == vm) g.filler[c] = kNone;
}

void release(Scheduler& s, Gang& g, const Entity& e)
{
    for (uint32_t c = 0; c < s.pcpu_count(); ++c)
        if (g.filler[c] == int16_t(e.id)) g.filler[c] = kNone;
}

// Offers the holes to whole gangs of other rows, starting at VM `from`. Returns the first VM
// that got holes, or kMaxVms.
uint32_t fill(Scheduler& s, Gang& g, uint32_t from)
{
    uint32_t first = kMaxVms;
    for (uint32_t k = 0; k < s.vm_count(); ++k) {
        uint32_t v = (from + k) % s.vm_count();
        if (g.row_of[v] == kNoRow || g.row_of[v] == g.row || filling(s, g, v)) continue;
        uint64_t free = holes(s, g);
        if (!free) break;
        const VmInfo& vm = s.vm(v);
        uint16_t ids[kMaxPcpus];
        uint32_t count = 0;
        for (uint32_t i = 0; i < vm.count; ++i)
            if (active(s.entity(vm.first + i))) ids[count++] = uint16_t(vm.first + i);
        uint8_t column_of[kMaxPcpus];
        if (!count || !Matcher(s, ids, count, free).run(column_of)) continue;
        for (uint32_t i = 0; i < count; ++i) g.filler[column_of[i]] = int16_t(ids[i]);
        if (first == kMaxVms) first = v;
    }
    return first;
}

bool row_active(Scheduler& s, const Gang& g, uint32_t row)
{
    for (uint32_t c = 0; c < s.pcpu_count(); ++c)
        if (g.cell[row][c] != kNone && active(s.entity(uint32_t(g.cell[row][c])))) return true;
    return false;
}

// Starts the slot `now` falls in when the current one is over. No kicks: every pCPU's slice
// ends at the slot's end, so each of them asks for its next decision at this very instant.
void advance(Scheduler& s, Gang& g, Ticks now)
{
    if (now < g.slot_end) return;
    Ticks slice = s.params().slice;
    g.slot_end = (now / slice + 1) * slice;
    g.row = g.next_row % g.rows;
    for (uint32_t k = 0; k < g.rows; ++k) {
        uint32_t r = (g.next_row + k) % g.rows;
        if (row_active(s, g, r)) {
            g.row = r;
            break;
        }
    }
    g.next_row = (g.row + 1) % g.rows;
    for (int16_t& f : g.filler) f = kNone;
    uint32_t first = fill(s, g, g.fill_from);
    if (first != kMaxVms) g.fill_from = first + 1;
}

// Kicks every pCPU (but `self`, which is deciding anyway) that does not run what it should.
void sync(Scheduler& s, const Gang& g, uint32_t self)
{
    for (uint32_t p = 0; p < s.pcpu_count(); ++p)
        if (p != self && s.current(p) != planned(s, g, p)) s.kick(p);
}

const char* init(Scheduler& s)
{
    Gang& g = s.emplace_state<Gang>();
    for (auto& row : g.cell)
        for (int16_t& id : row) id = kNone;
    for (int16_t& f : g.filler) f = kNone;
    for (uint8_t& r : g.row_of) r = kNoRow;
    if (!s.params().slice) return "gang: the slice (the length of a slot) must not be 0";

    // Widest VM first, ties in VM order: first fit then leaves the fewest rows.
    uint32_t order[kMaxVms];
    for (uint32_t v = 0; v < s.vm_count(); ++v) {
        uint32_t i = v;
        for (; i > 0 && s.vm(order[i - 1]).count < s.vm(v).count; --i) order[i] = order[i - 1];
        order[i] = v;
    }
    uint64_t all = s.pcpu_count() >= 64 ? ~0ull : (1ull << s.pcpu_count()) - 1;
    g.rows = 0;
    for (uint32_t k = 0; k < s.vm_count(); ++k) {
        const VmInfo& vm = s.vm(order[k]);
        if (!vm.count) continue;
        if (vm.count > s.pcpu_count()) {
            format_to(g.why, sizeof g.why,
                      "gang: VM {} has {} vCPUs but there are only {} pCPUs; a gang runs all its vCPUs at once",
                      vm.name, vm.count, s.pcpu_count());
            return g.why;
        }
        uint16_t ids[kMaxPcpus];
        for (uint32_t i = 0; i < vm.count; ++i) ids[i] = uint16_t(vm.first + i);
        uint8_t column_of[kMaxPcpus];
        uint32_t r = 0;
        for (; r <= g.rows; ++r) {
            uint64_t free = 0;
            for (uint32_t c = 0; c < s.pcpu_count(); ++c)
                if (r == g.rows || g.cell[r][c] == kNone) free |= 1ull << c;
            if (Matcher(s, ids, vm.count, free & all).run(column_of)) break;
        }
        if (r > g.rows) {
            format_to(g.why, sizeof g.why,
                      "gang: the affinity of VM {} does not give each of its {} vCPUs a pCPU of its own",
                      vm.name, vm.count);
            return g.why;
        }
        if (r == g.rows) ++g.rows;
        g.row_of[vm.index] = uint8_t(r);
        for (uint32_t i = 0; i < vm.count; ++i) {
            g.cell[r][column_of[i]] = int16_t(ids[i]);
            g.column[ids[i]] = column_of[i];
        }
    }
    if (!g.rows) g.rows = 1;
    return nullptr;
}

void remove(Scheduler& s, Entity& e)
{
    Gang& g = gang(s);
    release(s, g, e);
    fill(s, g, g.fill_from);
    sync(s, g, kNoPcpu);
}

void wake(Scheduler& s, Entity& e, Ticks now)
{
    Gang& g = gang(s);
    advance(s, g, now);
    if (g.row_of[e.vm] == g.row) {
        // Its column is its own: a filler there leaves, with its whole gang.
        int16_t f = g.filler[g.column[e.id]];
        if (f != kNone) evict(s, g, s.entity(uint32_t(f)).vm);
    } else if (filling(s, g, e.vm)) {
        // Its gang runs in borrowed holes: it needs one too, or the whole gang leaves.
        uint32_t c = 0;
        for (; c < s.pcpu_count() && !(hole(s, g, c) && s.may_run_on(e, c)); ++c) {}
        if (c < s.pcpu_count()) g.filler[c] = int16_t(e.id);
        else evict(s, g, e.vm);
    }
    fill(s, g, g.fill_from);
    sync(s, g, kNoPcpu);
}

void block(Scheduler& s, Entity& e, Ticks now)
{
    Gang& g = gang(s);
    advance(s, g, now);
    release(s, g, e);
    fill(s, g, g.fill_from);
    sync(s, g, e.pcpu);
}

void yield(Scheduler&, Entity&, Ticks) {}
bool yield_to(Scheduler&, Entity&, Entity&, Ticks) { return false; }

Decision pick_next(Scheduler& s, uint32_t pcpu, Ticks now)
{
    Gang& g = gang(s);
    advance(s, g, now);
    Entity* previous = s.current(pcpu);
    Entity* next = planned(s, g, pcpu);
    // Still running on the pCPU it had in the last slot: that pCPU kicks this one when it lets go.
    if (next && next->state != State::runnable) next = nullptr;
    if (previous && previous != next && previous->state == State::runnable) {
        uint32_t c = planned_column(s, g, *previous);
        if (c != kNoPcpu && c != pcpu) s.kick(c);
    }
    return Decision{next, g.slot_end - now};
}

Ticks tick(Scheduler&, uint32_t, Ticks) { return 0; }
bool on_pause_loop(Scheduler&, Entity&, Ticks) { return false; }

void dump(const Scheduler& s, LineSink sink)
{
    const Gang& g = s.state<Gang>();
    char line[320];
    format_to(line, sizeof line, "gang rows={} slot-row={} slot-end={}", g.rows, g.row, g.slot_end);
    sink.write(sink.context, line);
    auto name = [&](int16_t id, char* out, size_t size) -> size_t {
        if (id == kNone) return format_to(out, size, " -");
        const Entity& e = s.entity(uint32_t(id));
        return format_to(out, size, " {}.{}", s.vm(e.vm).name, e.index);
    };
    for (uint32_t r = 0; r < g.rows; ++r) {
        size_t used = format_to(line, sizeof line, "gang row {}:", r);
        for (uint32_t c = 0; c < s.pcpu_count(); ++c) used += name(g.cell[r][c], line + used, sizeof line - used);
        sink.write(sink.context, line);
    }
    size_t used = format_to(line, sizeof line, "gang fillers:");
    for (uint32_t c = 0; c < s.pcpu_count(); ++c) used += name(g.filler[c], line + used, sizeof line - used);
    sink.write(sink.context, line);
}

}  // namespace

extern const Policy kGang = {
    "gang",
    "strict gang co-scheduling: all of a VM's vCPUs run together in aligned slots, or none does",
    init, remove, wake, block, yield, yield_to, pick_next, tick, on_pause_loop, dump,
};

}  // namespace sched
