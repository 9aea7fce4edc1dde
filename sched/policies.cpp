#include "sched/policy.hpp"

namespace sched {

extern const Policy kRoundRobin;
extern const Policy kGang;
extern const Policy kBalance;
extern const Policy kRelaxedCo;

const Policy* const kPolicies[] = {
    &kRoundRobin,
    &kGang,
    &kRelaxedCo,
    &kBalance,
    nullptr,
};

const Policy* find_policy(Str name)
{
    for (const Policy* const* p = kPolicies; *p; ++p)
        if (name == Str((*p)->name)) return *p;
    return nullptr;
}

}  // namespace sched
