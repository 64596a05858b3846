#include "core/simd/kernels.h"

#include "core/util/error.h"
#include "core/util/str_cat.h"

namespace quantlens::core::kernels {

// Each copy's table (kernels_<set>.cpp); a copy is only called on a CPU that has its set.
namespace baseline {
Kernels table();
}
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define QUANTLENS_HAS_X86_KERNELS 1
namespace avx2 {
Kernels table();
}
namespace avx512 {
Kernels table();
}
#endif

namespace {

struct Tables {
    Kernels sets[3];

    Tables()
    {
        sets[0] = baseline::table();
        sets[0].set = InstructionSet::Baseline;
        sets[1] = sets[2] = sets[0];
#ifdef QUANTLENS_HAS_X86_KERNELS
        // Built for wider sets: only run where the CPU has them.
        if (int(detectedInstructionSet()) >= int(InstructionSet::Avx2)) {
            sets[1] = avx2::table();
            sets[1].set = InstructionSet::Avx2;
        }
        if (int(detectedInstructionSet()) >= int(InstructionSet::Avx512)) {
            sets[2] = avx512::table();
            sets[2].set = InstructionSet::Avx512;
        }
#endif
    }
};

const Tables& tables()
{
    static const Tables t;
    return t;
}

} // namespace

const Kernels& kernels()
{
    return tables().sets[int(activeInstructionSet())];
}

const Kernels& kernelsFor(InstructionSet set)
{
    if (int(set) > int(detectedInstructionSet()))
        throw UnsupportedError(strCat("this CPU cannot run the ", instructionSetName(set),
                                      " kernels (best: ", instructionSetName(detectedInstructionSet()), ")"));
    return tables().sets[int(set)];
}

} // namespace quantlens::core::kernels
