#include "sched/policy.hpp"

namespace sched {

extern const Policy kRoundRobin;
extern const Policy kCredit, kLockHolderAware, kGang, kRelaxedCo, kBalance;

const Policy* const kPolicies[] = {
    &kRoundRobin, &kCredit, &kLockHolderAware, &kGang, &kRelaxedCo, &kBalance,
    nullptr,
};

const Policy* find_policy(Str name)
{
    for (const Policy* const* p = kPolicies; *p; ++p)
        if (name == Str((*p)->name)) return *p;
    return nullptr;
}

}  // namespace sched
