#include "core/simd/instruction_set.h"

#include "core/util/error.h"
#include "core/util/str_cat.h"

#include <atomic>
#include <cstdlib>

namespace quantlens::core {

namespace {

InstructionSet detect()
{
#if defined(__x86_64__) && defined(__GNUC__)
    // May run while other files' statics are built: make sure the table the builtins read is filled.
    // __builtin_cpu_supports includes the OS check (XGETBV) for the YMM and ZMM state.
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq")
        && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return InstructionSet::Avx512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return InstructionSet::Avx2;
#endif
    return InstructionSet::Baseline;
}

std::atomic<InstructionSet>& active()
{
    static std::atomic<InstructionSet> set = [] {
        const InstructionSet best = detectedInstructionSet();
        const char* forced = std::getenv("QUANTLENS_ISA");
        if (forced == nullptr || *forced == '\0')
            return best;
        try {
            const InstructionSet wanted = parseInstructionSet(forced);
            return int(wanted) <= int(best) ? wanted : best;
        } catch (const Error&) {
            return best; // an unknown name is not worth refusing to start over
        }
    }();
    return set;
}

} // namespace

const char* instructionSetName(InstructionSet set)
{
    switch (set) {
    case InstructionSet::Baseline:
        return "baseline";
    case InstructionSet::Avx2:
        return "avx2";
    case InstructionSet::Avx512:
        return "avx512";
    }
    return "?";
}

InstructionSet parseInstructionSet(const std::string& name)
{
    for (InstructionSet set : {InstructionSet::Baseline, InstructionSet::Avx2, InstructionSet::Avx512})
        if (name == instructionSetName(set))
            return set;
    throw UsageError(strCat("unknown instruction set '", name, "'; expected baseline, avx2 or avx512"));
}

InstructionSet detectedInstructionSet()
{
    static const InstructionSet best = detect();
    return best;
}

std::vector<InstructionSet> supportedInstructionSets()
{
    std::vector<InstructionSet> sets;
    for (int s = 0; s <= int(detectedInstructionSet()); ++s)
        sets.push_back(InstructionSet(s));
    return sets;
}

InstructionSet activeInstructionSet()
{
    return active().load(std::memory_order_relaxed);
}

void setInstructionSet(InstructionSet set)
{
    if (int(set) > int(detectedInstructionSet()))
        throw UnsupportedError(strCat("this CPU cannot run the ", instructionSetName(set),
                                      " kernels (best: ", instructionSetName(detectedInstructionSet()), ")"));
    active().store(set, std::memory_order_relaxed);
}

ScopedInstructionSet::ScopedInstructionSet(InstructionSet set)
    : m_previous(activeInstructionSet())
{
    setInstructionSet(set);
}

ScopedInstructionSet::~ScopedInstructionSet()
{
    active().store(m_previous, std::memory_order_relaxed);
}

} // namespace quantlens::core
