#include "sched/trace.hpp"

namespace sched {

const char* kind_name(TraceKind kind)
{
    switch (kind) {
    case TraceKind::run: return "run";
    case TraceKind::deschedule: return "deschedule";
    case TraceKind::wake: return "wake";
    case TraceKind::block: return "block";
    case TraceKind::pause_loop: return "pause_loop";
    case TraceKind::yield_to: return "yield_to";
    case TraceKind::defer: return "defer";
    case TraceKind::migrate: return "migrate";
    case TraceKind::idle: return "idle";
    case TraceKind::count: break;
    }
    return "?";
}

void format_event(char* out, uint32_t size, const TraceEvent& e)
{
    format_to(out, size, "sched-trace {} {} {} {} {} {}", e.pcpu, e.when, kind_name(e.kind), e.vm, e.vcpu, e.arg);
}

}  // namespace sched
