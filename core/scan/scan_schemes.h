#pragma once

#include "core/scan/scan_scheme.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace quantlens::core {

// The quantizers of core/quant as ScanSchemes, from a comma-separated list as the user types it
// ("nf4,fp4,int8,q4_0"). `blocksize` (0: each scheme's default) applies to the block schemes whose
// block size can be chosen, `doubleQuant` to the bitsandbytes 4-bit ones.
// Throws UsageError naming the unknown id and listing the valid ones.
std::vector<std::shared_ptr<const ScanScheme>> makeScanSchemes(const std::string& list, std::uint64_t blocksize,
                                                               bool doubleQuant);

} // namespace quantlens::core
