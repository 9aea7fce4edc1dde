#include "sched/cpu_queues.hpp"

#include "lib/format.hpp"

namespace sched {

void CpuQueues::dump(const Scheduler& s, const char* policy, LineSink sink) const
{
    for (uint32_t p = 0; p < s.pcpu_count(); ++p) {
        char line[256];
        size_t used = format_to(line, sizeof line, "{} pcpu {}: queued", policy, p);
        queues_[p].for_each([&](const Entity& e) {
            used += format_to(line + used, sizeof line - used, " {}.{}", s.vm(e.vm).name, e.index);
        });
        sink.write(sink.context, line);
    }
}

}  // namespace sched
