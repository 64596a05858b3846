#pragma once

#include "core/report/report_data.h"

#include <string>

// The CSV tables of a report (see plannerCsvPath for how they are split into files). Numbers
// are written with 17 significant digits so that they read back to the same doubles; an infinite
// value (SQNR of an exact reconstruction) is written "inf".
namespace quantlens::core {

// Header: tensor,scheme,layer,role,dtype,shape,elements,original_bytes,quantized_bytes,
// bits_per_parameter,mse,rmse,max_abs_error,mean_abs_error,rel_error,sqnr_db,cosine,
// p50_abs_error,p95_abs_error,p99_abs_error,non_finite,skipped. One row per tensor x scheme,
// worst relative error first within each scheme. Shape is "4096x4096".
std::string tensorErrorsCsv(const ScanResult& scan);

// Header: scenario,component,label,bytes_at_peak,bytes,formula. One row per component with bytes,
// then a row with component "peak" (bytes_at_peak = the peak), per scenario.
std::string plannerBreakdownCsv(const std::vector<PlanScenario>& plans);

// Header: row,name,bits_per_parameter,perplexity,kl_mean,kl_median,kl_p99,kl_max,top1_agreement,
// mean_delta_logprob,policy. Row "baseline" first, then one "scheme" or "file" row per compared
// model, then one "sensitivity" row per group (name "GROUP under SCHEME"; the columns it lacks empty).
std::string qualityCsv(const EvalResult& quality);

// Header: row,name,layer,role,scheme,bytes,bits_per_parameter,cost. One "tensor" row per tensor of
// the mix, then "mix" (the whole mix, fixed tensors included), one "alone" row per candidate type as
// its tool applies it, one "llama.cpp" row per llama.cpp file type, one "frontier" row per frontier
// point. Cost is AdvisorResult::costId's (the cost_kind column of every row).
std::string adviceCsv(const AdvisorResult& advice);

} // namespace quantlens::core
